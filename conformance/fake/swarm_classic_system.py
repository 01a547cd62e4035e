"""The classic Swarm manager fake's own system endpoints: /_ping, /version, /info (the SystemStatus node list
and cluster totals) and /events (every node's events merged).  A mixin of SwarmClassicManager (swarm_classic.py)."""

from __future__ import annotations

import json
import queue
import re
import threading
from collections.abc import Iterator

from .swarm_classic_base import SWARM_API, SWARM_VERSION, ManagerBase, Node
from .wire import Headers, Request, Response, json_bytes, json_response


class SystemHandlers(ManagerBase):
    def _ping(self, req: Request, params: dict[str, str]) -> Response:
        if not self.applies("ping-own"):
            return self.nodes[0].engine.handle(self._sub_request(req, "/_ping"))
        # SOURCE.md (v1.2.9): 200 "OK", text/plain, Api-Version only: no Docker-Experimental, OSType, Cache-Control.
        return Response(200, b"OK", Headers([("Content-Type", "text/plain; charset=utf-8")]))

    def _version(self, req: Request, params: dict[str, str]) -> Response:
        if not self.applies("version-shape"):
            return self.nodes[0].engine.handle(self._sub_request(req, "/version"))
        return json_response({
            "Platform": {"Name": "Docker Swarm - Community"}, "Version": SWARM_VERSION, "ApiVersion": SWARM_API,
            "GitCommit": "3cc018d", "GoVersion": "go1.12.17", "Os": "linux", "Arch": "amd64",
            "KernelVersion": "6.0.0-fake", "Experimental": False, "BuildTime": "2020-06-11T09:36:01.000000000+00:00",
        })

    def _info(self, req: Request, params: dict[str, str]) -> Response:
        infos = [(node, self._json(self._ask(node, req, "/info")) or {}) for node in self.nodes]
        if not self.applies("info-system-status"):
            return json_response(infos[0][1])
        out = dict(infos[0][1])
        totals = ("Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped", "NCPU", "MemTotal")
        for key in totals:
            out[key] = sum(int(info.get(key) or 0) for _, info in infos)
        images = {img.get("Id") for node in self.nodes for img in (self._json(self._ask(node, req, "/images/json"))
                                                                    or [])}
        out.update({"Images": len(images), "ServerVersion": SWARM_VERSION, "Name": self.name, "ID": "",
                    "Driver": "", "DriverStatus": [], "OperatingSystem": "linux", "KernelVersion": "6.0.0-fake"})
        status = [["Role", "primary"], ["Strategy", "spread"],
                  ["Filters", "health, port, containerslots, dependency, affinity, constraint, whitelist"],
                  ["Nodes", str(len(self.nodes))]]
        for node, info in infos:
            status += [[f" {node.name}", node.addr], ["  └ ID", node.id], ["  └ Status", "Healthy"],
                       ["  └ Containers", f"{info.get('Containers', 0)} ({info.get('ContainersRunning', 0)} Running, "
                                          f"{info.get('ContainersPaused', 0)} Paused, "
                                          f"{info.get('ContainersStopped', 0)} Stopped)"],
                       ["  └ Reserved CPUs", f"0 / {node.cpus}"],
                       ["  └ Reserved Memory", f"0 B / {node.memory / (1 << 30):.3f} GiB"],
                       ["  └ Labels", ", ".join(f"{k}={v}" for k, v in sorted(node.labels.items()))],
                       ["  └ UpdatedAt", "2020-06-11T09:36:01Z"],
                       ["  └ ServerVersion", str(info.get("ServerVersion", ""))]]
        out["SystemStatus"] = status
        if self.applies("info-nulls"):
            # SOURCE.md (v1.2.9): the manager's own Info leaves these nil (null), omits Warnings and CgroupVersion
            # and leaves ID, Driver, OSType, CgroupDriver and Swarm.LocalNodeState empty.
            out.update({"DriverStatus": None, "RegistryConfig": None, "Labels": None, "Runtimes": None,
                        "SecurityOptions": None, "Plugins": {"Volume": None, "Network": None, "Authorization": None,
                                                             "Log": None},
                        "OSType": "", "CgroupDriver": ""})
            swarm = out.get("Swarm") if isinstance(out.get("Swarm"), dict) else {}
            out["Swarm"] = {**swarm, "LocalNodeState": "", "RemoteManagers": None}
            out.pop("Warnings", None)
            out.pop("CgroupVersion", None)
        return json_response(out)

    def _events(self, req: Request, params: dict[str, str]) -> Response:
        """The manager's own event stream: every node's events as they come (SOURCE.md, v1.2.9: `since` and
        `filters` are ignored), until `until`, which is parsed as an integer; each event with the node named in
        `from`, the node.* attributes and a top-level `node`, written back to back without a separator."""
        until = req.q("until") or ""
        if until and self.applies("events-until-integer") and not re.fullmatch(r"[+-]?\d+", until):
            return self._error(400, f'strconv.ParseInt: parsing "{until}": invalid syntax')
        query = {"until": [until]} if until else {}
        responses = [(node, node.engine.handle(self._sub_request(req, "/events", query=query, body=b"",
                                                                 headers=Headers())))
                     for node in self.nodes]
        failed = next((r for _, r in responses if r.status != 200), None)
        if failed is not None:
            return failed

        def tag(node: Node, chunk: bytes) -> bytes:
            out = b""
            for line in chunk.split(b"\n"):
                prefix = b"\x1e" if line.startswith(b"\x1e") else b""
                try:
                    record = json.loads(line.lstrip(b"\x1e"))
                except ValueError:
                    continue
                attrs = (record.get("Actor") or {}).get("Attributes")
                if isinstance(attrs, dict):
                    attrs.update({"node.name": node.name, "node.id": node.id, "node.addr": node.addr,
                                  "node.ip": node.ip})
                if "from" in record:
                    record["from"] = f"{record['from']} node:{node.name}"
                record["node"] = {"Name": node.name, "Id": node.id, "Addr": node.addr, "Ip": node.ip}
                encoded = json_bytes(record)
                out += prefix + (encoded.rstrip(b"\n") if self.applies("events-no-separator") else encoded)
            return out

        chunks: queue.Queue[tuple[Node, bytes] | None] = queue.Queue()

        def pump(node: Node, response: Response) -> None:
            try:
                for chunk in response.body:  # type: ignore[union-attr]
                    chunks.put((node, bytes(chunk)))
            finally:
                chunks.put(None)

        for node, response in responses:
            threading.Thread(target=pump, args=(node, response), daemon=True, name=f"events-{node.name}").start()

        def merged() -> Iterator[bytes]:
            open_streams = len(responses)
            yield b""
            while open_streams:
                item = chunks.get()
                if item is None:
                    open_streams -= 1
                    continue
                node, chunk = item
                if chunk:
                    yield tag(node, chunk)

        out = Response(200, merged(), Headers([("Content-Type", responses[0][1].headers.get("Content-Type")
                                                or "application/json")]))
        return out
