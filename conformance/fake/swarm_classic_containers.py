"""The classic Swarm manager fake's container and exec endpoints: the merged container list, inspect with the
Node object, create (constraints, CpuShares as cores, the pull-and-retry), placement by the spread strategy,
remove, rename, the calls proxied to a container's node, the manager's own exec cache and the raw tunnel after a
plain exec start, and commit.  A mixin of SwarmClassicManager (swarm_classic.py)."""

from __future__ import annotations

import json
import math
import queue
import re
import threading
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from .server import BadRequest, read_request, write_response
from .swarm_classic_base import ManagerBase, Node, NotFound, filter_values, query_filters
from .wire import Conn, Headers, Request, Response, json_response

if TYPE_CHECKING:
    from .engine import Engine

EXEC_CACHE_LAG = 8  # every eighth exec of a container is learnt late (SOURCE.md: "seen 1 in 8 by hand")
# Where the scheduler keeps a container's constraints once it takes them out of its Env.
CONSTRAINTS_LABEL = "com.docker.swarm.constraints"
_CONSTRAINT = re.compile(r"^constraint:(?P<key>[\w.-]+)(?P<op>==~|==|!=)(?P<value>.+)$")
_UNSPECIFIED_IPS = ("", "0.0.0.0", "::")


class ContainerHandlers(ManagerBase):
    _cache_lock: threading.Lock
    _execs: dict[str, Node]  # exec id -> node: the manager's exec cache
    _exec_counts: dict[str, int]  # container id -> execs created through the manager
    _exec_late: set[str]  # exec ids whose refresh has not reached the cache yet

    # --- containers -------------------------------------------------------------------------
    def _node_json(self, node: Node) -> dict[str, Any]:
        return {"ID": node.id, "IP": node.ip, "Addr": node.addr, "Name": node.name, "Cpus": node.cpus,
                "Memory": node.memory, "Labels": dict(node.labels)}

    def _fix_ports(self, node: Node, ports: Any, key: str) -> None:
        if not self.applies("hostip-node-ip"):
            return
        items = [b for v in ports.values() if isinstance(v, list) for b in v] if isinstance(ports, dict) else \
            ports if isinstance(ports, list) else []
        for binding in items:
            if isinstance(binding, dict) and key in binding and binding[key] in _UNSPECIFIED_IPS:
                binding[key] = node.ip

    def _container_list(self, req: Request, params: dict[str, str]) -> Response:
        filters = query_filters(req)
        wanted_nodes = filters.pop("node", None)  # the swarm-only filter never reaches the nodes
        query = dict(req.query)
        if filters or req.q("filters"):
            query["filters"] = [json.dumps(filters)]
        show_all = req.qbool("all")
        merged: list[tuple[Node, dict[str, Any]]] = []
        first_error: Response | None = None
        for node in self.nodes:
            if wanted_nodes and not any(w in (node.name, node.id) for w in filter_values(wanted_nodes)):
                continue
            answer = self._ask(node, req, "/containers/json", query=query)
            if answer.status != 200:
                first_error = first_error or answer
                continue
            merged += [(node, c) for c in self._json(answer) or []]
        if first_error is not None and not merged:
            return first_error
        out = []
        for node, c in sorted(merged, key=lambda nc: nc[1].get("Created", 0), reverse=True):
            if self.applies("hide-swarm-image") and not show_all and str(c.get("Image", "")).split(":")[0] == "swarm":
                continue
            if self.applies("node-prefixed-names"):
                c["Names"] = [f"/{node.name}{name}" for name in c.get("Names") or []]
            self._fix_ports(node, c.get("Ports"), "IP")
            out.append(c)
        limit = req.qint("limit", -1) or -1
        return json_response(out[:limit] if limit > 0 else out)

    def _container_inspect(self, req: Request, params: dict[str, str]) -> Response:
        node, ident = self._locate(req, "containers", params["id"])
        answer = node.engine.handle(self._sub_request(req, f"/containers/{ident}/json"))
        body = self._json(answer)
        if answer.status != 200 or not isinstance(body, dict):
            return answer
        if self.applies("node-field"):
            body["Node"] = self._node_json(node)
        self._fix_ports(node, (body.get("NetworkSettings") or {}).get("Ports"), "HostIp")
        return self._with_json(answer, body)

    def _schedule(self, req: Request, cpus: float, constraints: list[str]) -> Node:
        """Spread strategy: the node with the fewest containers among those with enough CPUs that meet the
        hard constraints; soft ones (==~) only narrow the choice when some node meets them."""
        def load(node: Node) -> int:
            return len(self._json(self._ask(node, req, "/containers/json", query={"all": ["1"]})) or [])
        hard = [c for c in constraints if "==~" not in c]
        fits = [n for n in self.nodes if all(self._satisfies(n, c) for c in hard)]
        if not fits:
            raise _Unschedulable("Unable to find a node that satisfies the following conditions \n"
                                 f"[{' '.join(hard)}]")
        fits = [n for n in fits if n.cpus >= cpus]
        if not fits:
            raise _Unschedulable(f"no resources available to schedule container (CpuShares {cpus:g} CPUs)")
        preferred = [n for n in fits if all(self._satisfies(n, c) for c in constraints)]
        return min(preferred or fits, key=load)

    @staticmethod
    def _satisfies(node: Node, constraint: str) -> bool:
        found = _CONSTRAINT.match("constraint:" + constraint)
        if not found:
            return False
        values = [node.name, node.id] if found["key"] == "node" else [node.labels.get(found["key"], "")]
        hit = any(fnmatchcase(v, found["value"]) for v in values)
        return not hit if found["op"] == "!=" else hit

    def _local_network_node(self, req: Request, ref: str) -> tuple[Node, str] | None:
        """The node of a local-scope network named by NetworkMode, and the name that node knows it by."""
        if ref in ("", "default", "bridge", "host", "none") or ref.startswith("container:"):
            return None
        node, local = self._split_node(ref, "networks")
        for candidate in [node] if node else self.nodes:
            body = self._json(self._ask(candidate, req, f"/networks/{local}"))
            if isinstance(body, dict) and body.get("Scope") == "local":
                return candidate, str(body.get("Name") or local)
        return None

    def _container_create(self, req: Request, params: dict[str, str]) -> Response:
        if req.headers.get("X-Registry-Auth") is not None and not self.applies("registry-auth"):
            return self._error(400, "X-Registry-Auth is not accepted on container create")
        body = req.json({}) or {}
        name = req.q("name") or ""
        if self._name_taken(req, name):
            return self._error(409, f'Conflict: The name {name} is already assigned. You have to delete (or '
                                       'rename) that container to be able to assign {name} to a container again.')
        if not isinstance(body, dict):
            body = {}
        changed = False
        constraints = [found["key"] + found["op"] + found["value"] for entry in body.get("Env") or []
                       if (found := _CONSTRAINT.match(str(entry)))]
        if constraints:  # taken out of the environment, kept as a label
            body["Env"] = [e for e in body["Env"] if not _CONSTRAINT.match(str(e))]
            labels = body.get("Labels") if isinstance(body.get("Labels"), dict) else {}
            body["Labels"] = {**labels, CONSTRAINTS_LABEL: json.dumps(constraints)}
            changed = True
        host = body.get("HostConfig")
        network = self._local_network_node(req, str(host.get("NetworkMode") or "")) if isinstance(host, dict) \
            else None
        if network and isinstance(host, dict):
            if not any(c.startswith("node") for c in constraints):
                constraints.append(f"node=={network[0].name}")
            host["NetworkMode"] = network[1]
            changed = True
        cores = float(host.get("CpuShares") or 0) if isinstance(host, dict) else 0.0
        cores_mode = self.applies("cpushares-as-cores")
        try:
            node = self._schedule(req, cores if cores_mode else 0.0, constraints)
        except _Unschedulable as exc:
            return self._error(500, str(exc))
        if cores_mode and cores > 0 and isinstance(host, dict):
            host["CpuShares"] = math.ceil(cores * 1024 / node.cpus)
            changed = True
        data = json.dumps(body).encode() if changed else req.body
        headers = req.headers.copy()
        headers["Content-Length"] = str(len(data))
        if not self.applies("registry-auth"):
            del headers["X-Registry-Auth"]

        def create() -> Response:
            return node.engine.handle(self._sub_request(req, "/containers/create", body=data, headers=headers))
        answer = create()
        image = str(body.get("Image") or "")
        if answer.status == 404 and image and self.applies("create-pulls-missing-image"):
            # SOURCE.md (v1.2.9): the manager pulls the missing image on the node and tries once more.
            failed = self._pull_on(node, req, image, headers.get("X-Registry-Auth"))
            if failed is not None:
                return self._error(500, failed)
            answer = create()
        if answer.status >= 400:
            return self._daemon_error(answer)
        if self.applies("create-id-only"):
            # Exactly {"Id": "<id>"}: no Warnings, no trailing newline.
            created = self._json(answer) or {}
            return Response(201, json.dumps({"Id": created.get("Id")}, separators=(",", ":")).encode(),
                            Headers([("Content-Type", "application/json")]))
        return answer

    def _pull_on(self, node: Node, req: Request, image: str, auth: str | None) -> str | None:
        """Pull `image` on `node` as the manager does before its second create: None, or the pull's error."""
        headers = Headers([("X-Registry-Auth", auth)] if auth else [])
        answer = node.engine.handle(self._sub_request(req, "/images/create", query={"fromImage": [image]},
                                                      method="POST", body=b"", headers=headers))
        if answer.status >= 400:
            body = self._json(answer)
            return str(body.get("message") if isinstance(body, dict) else answer.content().decode("utf-8", "replace"))
        for line in answer.content().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and ("error" in record or "errorDetail" in record):
                return str(record.get("error") or (record.get("errorDetail") or {}).get("message") or "pull failed")
        return None

    def _container_delete(self, req: Request, params: dict[str, str]) -> Response:
        """The manager removes the container itself: an engine error is 500 (remove-running among them)."""
        try:
            node, ident = self._locate(req, "containers", params["id"])
        except NotFound:
            raise NotFound(f"Container {params['id']} not found") from None
        answer = node.engine.handle(self._sub_request(req, f"/containers/{ident}", body=b"", headers=Headers()))
        return self._daemon_error(answer) if answer.status >= 400 else answer

    def _name_taken(self, req: Request, name: str) -> bool:
        return bool(name) and any(self._ask(n, req, f"/containers/{name}/json").status == 200 for n in self.nodes)

    def _container_rename(self, req: Request, params: dict[str, str]) -> Response:
        """Names are unique across the cluster: a name used on another node is a conflict too."""
        node, ident = self._locate(req, "containers", params["id"])
        name = (req.q("name") or "").lstrip("/")
        if self._name_taken(req, name):
            return self._error(409, f"Conflict: The name {name} is already assigned.")
        return node.engine.handle(self._sub_request(req, f"/containers/{ident}/rename"))

    def _container_proxy(self, req: Request, params: dict[str, str], rest: str) -> Response:
        """The call proxied to the container's node (`rest`: what follows /containers/{id}/)."""
        node, ident = self._locate(req, "containers", params["id"])
        answer = node.engine.handle(self._sub_request(req, f"/containers/{ident}" + (f"/{rest}" if rest else "")))
        if rest == "exec" and req.method == "POST" and answer.status == 201:
            self._cache_exec(node, ident, str((self._json(answer) or {}).get("Id") or ""))
        return answer

    # --- exec: the manager's own cache, and the tunnel after a plain start ------------------------
    def _cache_exec(self, node: Node, container: str, exec_id: str) -> None:
        with self._cache_lock:
            count = self._exec_counts.get(container, 0) + 1
            self._exec_counts[container] = count
            self._execs[exec_id] = node
            if count % EXEC_CACHE_LAG == 0:
                self._exec_late.add(exec_id)  # its refresh has not reached the cache yet

    def _cached_exec(self, ref: str) -> Node:
        """The node of exec `ref` from the manager's cache; 404 "Exec <id> not found" when it is not there (yet)."""
        with self._cache_lock:
            node = self._execs.get(ref)
            if ref in self._exec_late:
                self._exec_late.discard(ref)  # the refresh lands right after this lookup
                node = None
        if node is None:
            raise NotFound(f"Exec {ref} not found")
        return node

    def _exec_proxy(self, req: Request, params: dict[str, str], rest: str) -> Response:
        if self.applies("exec-cache"):
            node, ident = self._cached_exec(params["id"]), params["id"]
        else:
            node, ident = self._locate(req, "exec", params["id"])
        sub = self._sub_request(req, f"/exec/{ident}/{rest}")
        if rest == "start" and not req.wants_upgrade() and self.applies("exec-start-tunnel"):
            return self._proxy_then_tunnel(node, sub)
        return node.engine.handle(sub)

    def _proxy_then_tunnel(self, node: Node, sub: Request) -> Response:
        """SOURCE.md (v1.2.9), a plain exec start: the manager proxies the call (the node's answer arrives as a
        chunked body) and then hijacks the connection as well, which from then on is a raw tunnel to the node's
        engine: the connection's next requests are served by the node, not by the manager."""
        answer = node.engine.handle(sub)
        headers = Headers([(k, v) for k, v in answer.headers.items()
                           if k.lower() not in ("content-length", "transfer-encoding", "connection", "upgrade")])
        headers["Transfer-Encoding"] = "chunked"

        def tunnel(conn: Conn) -> None:
            for chunk in _output_of(answer):
                if chunk and not conn.write(b"%x\r\n%s\r\n" % (len(chunk), chunk)):
                    return
            if conn.write(b"0\r\n\r\n"):
                _serve(conn, node.engine)
        return Response(answer.status, b"", headers, answer.reason if answer.status != 101 else None, tunnel)

    def _commit(self, req: Request, params: dict[str, str]) -> Response:
        node, ident = self._locate(req, "containers", req.q("container") or "")
        query = {**req.query, "container": [ident]}
        return node.engine.handle(self._sub_request(req, "/commit", query=query))


class _Unschedulable(Exception):
    pass


class _Capture:
    """Stands in for the client connection when the manager proxies a node's hijacked answer: what the node
    writes is collected (a queue of chunks), and the node reads an empty stdin."""

    closed = False

    def __init__(self) -> None:
        self.chunks: queue.Queue[bytes | None] = queue.Queue()

    def write(self, data: bytes) -> bool:
        if data:
            self.chunks.put(bytes(data))
        return True

    def read(self, size: int = 65536) -> bytes:
        return b""

    def settle(self, go_client: bool) -> None:
        pass

    def shutdown_write(self) -> None:
        pass

    def hung_up(self) -> bool:
        return False

    def alive(self) -> bool:
        return True


def _output_of(answer: Response) -> Iterator[bytes]:
    """The bytes of a node's answer as the manager's proxy copies them: the body, or what its hijack writes."""
    if answer.hijack is None:
        if isinstance(answer.body, (bytes, bytearray)):
            yield bytes(answer.body)
        else:
            yield from answer.body
        return
    capture = _Capture()

    def run() -> None:
        try:
            answer.hijack(capture)  # type: ignore[misc, arg-type]
        finally:
            capture.chunks.put(None)
    threading.Thread(target=run, name="swarm-proxy-copy", daemon=True).start()
    while (chunk := capture.chunks.get()) is not None:
        yield chunk


def _serve(conn: Conn, engine: Engine) -> None:
    """The connection as a raw tunnel to a node's engine: its next requests are the node's to answer."""
    while True:
        try:
            request = read_request(conn.rfile, conn)
        except (BadRequest, OSError, ValueError):
            return
        if request is None:
            return
        try:
            response = engine.handle(request)
        except Exception:  # noqa: BLE001 - a broken tunnel just ends
            return
        if not write_response(conn, request, response):
            return
