"""A fake classic (standalone) Docker Swarm manager in front of two fake Engine nodes.

It applies the behaviour of the classic-swarm code (summary in shared/specs/swarm-classic/SOURCE.md, the
archive commit and the v1.2.9 section; no code copied): "swarm/1.2.9" in /version, a SystemStatus node list
in /info, "/<node>/<name>" container names, a `Node` object and the node's IP for unspecified HostIp in
container inspect, containers of the `swarm` image hidden unless all=1, a `node` filter on /images/json,
CpuShares read as CPU cores, X-Registry-Auth accepted on create, image import implemented, no route for swarm
mode, plugins, system df or prune (404) -- and, from the v1.2.9 section: errors it writes itself are
text/plain; an engine error of a call it makes itself (create, remove) is 500 "Error response from daemon:
..."; create with a missing image pulls on the node and retries once (a failed pull is 500); create answers
exactly {"Id": ...}; any /vX.Y prefix is accepted (proxied calls keep it, so the node applies its range);
routes it does not register (HEAD /_ping among them) are 404 "404 page not found"; GET /_ping is its own
("OK", Api-Version only); /events ignores since and filters, parses until as an integer and writes events
back to back; exec ids come from its own cache; a plain exec start (no Upgrade header) is proxied and then
the connection is hijacked as well, a raw tunnel to the node's engine from then on; network disconnect
answers 204; /info carries nulls for the lists it does not fill.

Two simplifications, said here so nobody mistakes them for the manager's: the exec cache learns every
eighth exec of a container late (the first lookup of it misses: SOURCE.md saw the miss 1 in 8 by hand,
the fake makes it deterministic so generic tests, which create one or two execs per container, never hit
it); and the "error chunk" SOURCE.md sees after a tunnelled exec start's output is left out (its text is
not recorded there), so the proxied output ends with the chunked body's last chunk.

Placement, as the classic scheduler does it: a container goes to the node with the fewest
containers among those that satisfy its `constraint:<key>==<value>` environment entries (key `node`
or a node label; `!=` excludes, `==~` only prefers) and, when HostConfig.NetworkMode names a
local network, to that network's node.  Networks and volumes named "<node>/<name>" are created on
that node, others on the first node (simpler than the archived manager, which schedules a network and
creates an un-prefixed volume on every node); network connect/disconnect goes to the container's node.
The nodes share one registry, so an image pushed from one node can be pulled on every node.

Every behaviour is switchable: put `swarm-classic:no-<deviation>` in `.faults` (names in
DEVIATIONS) and the manager stops applying it, so a self-test can show the matching deviation test
failing.  Other fault names go to the node engines (see conformance.fake.faults).
The manager talks to its nodes only through `Engine.handle(Request)`, as a proxy would over HTTP (and,
for a tunnelled connection, by serving that connection's next requests with the node's `handle`).
"""

from __future__ import annotations

import json
import math
import queue
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import quote, unquote, urlencode

from .engine import Engine
from .faults import FAULTS
from .registry import Registry
from .server import BadRequest, read_request, write_response
from .util import parse_time
from .wire import ApiError, Conn, Headers, Request, Response, error_response, json_bytes, json_response

SWARM_VERSION = "swarm/1.2.9"
SWARM_API = "1.40"  # the APIVERSION constant of the archived code
FAULT_PREFIX = "swarm-classic:no-"
DEVIATIONS = {
    "version-shape": "/version answers Version swarm/<version>, ApiVersion 1.40, Platform Docker Swarm",
    "info-system-status": "/info carries the SystemStatus [key, value] node list and cluster totals",
    "node-field": "container inspect adds a Node object {ID, IP, Addr, Name, Cpus, Memory, Labels}",
    "hostip-node-ip": "an unspecified HostIp (0.0.0.0, ::) becomes the node's IP in inspect and list",
    "node-prefixed-names": "/containers/json Names read /<node>/<name>",
    "hide-swarm-image": "containers of the swarm image are hidden from /containers/json unless all=1",
    "images-node-filter": "/images/json accepts a node filter (node name or ID)",
    "image-import": "POST /images/create?fromSrc= imports on every node (the doc says 404)",
    "cpushares-as-cores": "HostConfig.CpuShares is a number of CPUs, sent on as ceil(n*1024/node CPUs)",
    "registry-auth": "X-Registry-Auth is accepted on container create and passed to the node",
    "swarm-mode-routes-404": "swarm-mode, plugin, system df and prune routes answer 404",
    # From the v1.2.9 section of SOURCE.md:
    "text-plain-errors": "errors the manager writes itself are text/plain (the message and a newline)",
    "engine-errors-500": "an engine error of a call the manager makes itself (create, remove) is 500 "
                         "\"Error response from daemon: <message>\"",
    "create-pulls-missing-image": "create with a missing image pulls it on the node and retries once; a failed "
                                  "pull is 500 with the pull error",
    "create-id-only": "container create answers exactly {\"Id\": ...} (no Warnings)",
    "version-prefix-unchecked": "any /vX.Y prefix is accepted (proxied calls keep it: the node applies its range)",
    "unknown-routes-404": "a route or method the manager does not register (HEAD /_ping) is 404 \"404 page not found\"",
    "ping-own": "GET /_ping is the manager's own: OK, text/plain, Api-Version only (no Docker-Experimental, OSType)",
    "events-until-integer": "/events parses until as an integer: a fraction is 400 \"strconv.ParseInt: ...\"",
    "events-no-separator": "/events writes event objects back to back, with no separator",
    "exec-cache": "exec ids are looked up in the manager's own cache (404 \"Exec <id> not found\" when it lags)",
    "exec-start-tunnel": "a plain exec start is proxied, then the connection is a raw tunnel to the node's engine",
    "network-disconnect-204": "network disconnect answers 204 (the engine says 200); its errors are 404",
    "node-scoped-names": "networks and volumes named <node>/<name> are created on <node> as <name>; lists, GET "
                         "and DELETE know them as <node>/<name> (GET and DELETE by the bare name too)",
    "info-nulls": "/info leaves RegistryConfig, DriverStatus, Labels, ... null (the manager's own Info)",
}
# SOURCE.md (v1.2.9): any /vX.Y prefix is accepted, and the dot of the route's pattern is not escaped, so
# /v1x2/ is accepted too.  The unescaped dot below is that pattern, on purpose.
_VERSIONED = re.compile(r"^/v(\d+.\d+)(/.*)$")
_STRICT_VERSION = re.compile(r"^\d+\.\d+$")
_UNDESCRIBED = re.compile(r"^/(session|distribution/.+/json)$")
EXEC_CACHE_LAG = 8  # every eighth exec of a container is learnt late (SOURCE.md: "seen 1 in 8 by hand")
# Where the scheduler keeps a container's constraints once it takes them out of its Env.
CONSTRAINTS_LABEL = "com.docker.swarm.constraints"
_CONSTRAINT = re.compile(r"^constraint:(?P<key>[\w.-]+)(?P<op>==~|==|!=)(?P<value>.+)$")
_UNSPECIFIED_IPS = ("", "0.0.0.0", "::")
# Routes the archived manager registers only through the Engine's own router: everything else is 404.
_ABSENT = re.compile(r"^/(swarm|nodes|services|tasks|secrets|configs|plugins)(/|$)"
                     r"|^/system/df$|^/(containers|images|networks|volumes|build)/prune$")


@dataclass
class Node:
    name: str
    ip: str
    cpus: int
    memory: int
    engine: Engine
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def addr(self) -> str:
        return f"{self.ip}:2375"

    @property
    def id(self) -> str:
        return self.engine.state.engine_id


def _version_tuple(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor)


class SwarmClassicManager:
    """handle(Request) -> Response, like an Engine, for a cluster of fake Engines."""

    kind = "swarm-classic"

    def __init__(self, min_api: str = "1.25", max_api: str = SWARM_API, faults: set[str] | None = None,
                 node_count: int = 2, name: str = "swarm-manager") -> None:
        self.max_api = min(_version_tuple(max_api), _version_tuple(SWARM_API))
        self.min_api = _version_tuple(min_api)
        top = f"{self.max_api[0]}.{self.max_api[1]}"
        self.faults: set[str] = set(faults or ())
        self._validate()
        self.name = name
        # Different CPU counts so CpuShares-as-cores scheduling and conversion are observable.
        registry = self.registry = Registry()
        self.nodes = [Node(f"node-{i}", f"192.168.99.{100 + i}", cpus=2 * i, memory=(2 * i) << 30,
                           engine=Engine(min_api, top, name=f"node-{i}", registry=registry),
                           labels={"storagedriver": "overlay2", "ostype": "linux"})
                      for i in range(1, node_count + 1)]
        self._cache_lock = threading.Lock()
        self._execs: dict[str, Node] = {}  # exec id -> node: the manager's exec cache
        self._exec_counts: dict[str, int] = {}  # container id -> execs created through the manager
        self._exec_late: set[str] = set()  # exec ids whose refresh has not reached the cache yet
        self.routes: list[tuple[str, re.Pattern[str], Callable[[Request, re.Match[str]], Response]]] = [
            ("GET", re.compile(r"^/_ping$"), self._ping),
            ("GET", re.compile(r"^/version$"), self._version),
            ("GET", re.compile(r"^/info$"), self._info),
            ("GET", re.compile(r"^/events$"), self._events),
            ("GET", re.compile(r"^/containers/(json|ps)$"), self._container_list),
            ("POST", re.compile(r"^/containers/create$"), self._container_create),
            ("GET", re.compile(r"^/containers/(?P<ref>.+)/json$"), self._container_inspect),
            ("POST", re.compile(r"^/containers/(?P<ref>.+)/rename$"), self._container_rename),
            ("*", re.compile(r"^/containers/(?P<ref>.+)/(?P<rest>archive|export|changes|top|logs|stats|attach/ws|"
                             r"kill|pause|unpause|restart|start|stop|update|wait|resize|attach|copy|exec)$"),
             self._container_proxy),
            ("DELETE", re.compile(r"^/containers/(?P<ref>.+)$"), self._container_delete),
            ("*", re.compile(r"^/exec/(?P<ref>[^/]+)/(?P<rest>json|start|resize)$"), self._exec_proxy),
            ("GET", re.compile(r"^/images/json$"), self._image_list),
            ("GET", re.compile(r"^/images/viz$"), lambda req, m: self._error(501, "Not supported in clustering "
                                                                                  "mode.")),
            ("GET", re.compile(r"^/images/search$"), self._first_node),
            ("GET", re.compile(r"^/images/get$"), self._images_get),
            ("POST", re.compile(r"^/images/create$"), self._image_create),
            ("POST", re.compile(r"^/images/load$"), self._every_node),
            ("POST", re.compile(r"^/(build|auth)$"), self._first_node),
            ("POST", re.compile(r"^/commit$"), self._commit),
            ("*", re.compile(r"^/images/(?P<ref>.+)/(?P<rest>json|history|get|push)$"), self._image_first_holder),
            ("POST", re.compile(r"^/images/(?P<ref>.+)/tag$"), self._image_all_holders),
            ("DELETE", re.compile(r"^/images/(?P<ref>.+)$"), self._image_all_holders),
            ("GET", re.compile(r"^/networks$"), lambda req, m: self._scoped_list(req, "/networks", "networks")),
            ("GET", re.compile(r"^/volumes$"), lambda req, m: self._scoped_list(req, "/volumes", "volumes")),
            ("POST", re.compile(r"^/(?P<kind>networks|volumes)/create$"), self._scoped_create),
            ("POST", re.compile(r"^/networks/(?P<ref>.+?)/(?P<rest>connect|disconnect)$"), self._network_attach),
            ("*", re.compile(r"^/(?P<kind>networks)/(?P<ref>.+?)(?P<rest>/connect|/disconnect)?$"), self._scoped_proxy),
            ("*", re.compile(r"^/(?P<kind>volumes)/(?P<ref>.+)$"), self._scoped_proxy),
        ]

    # --- switches ---------------------------------------------------------------------------
    def _validate(self) -> None:
        mine = {f for f in self.faults if f.startswith(FAULT_PREFIX)}
        unknown = sorted({f for f in mine if f[len(FAULT_PREFIX):] not in DEVIATIONS}
                         | {f for f in self.faults - mine if f not in FAULTS})
        if unknown:
            raise ValueError(f"unknown fault(s) {', '.join(unknown)}; swarm-classic switches: "
                             + ", ".join(FAULT_PREFIX + d for d in DEVIATIONS))

    def applies(self, deviation: str) -> bool:
        return FAULT_PREFIX + deviation not in self.faults

    # --- entry point ------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        for node in self.nodes:  # engine faults reach the nodes; the swarm switches stay here
            node.engine.faults.clear()
            node.engine.faults.update(f for f in self.faults if f in FAULTS)
        path = unquote(req.path)
        version = self.max_api
        found = _VERSIONED.match(path)
        req.client_prefix = None  # type: ignore[attr-defined]  # what a proxied call sends on
        if found:
            path = found.group(2)
            strict = bool(_STRICT_VERSION.match(found.group(1)))
            asked = _version_tuple(found.group(1)) if strict else self.max_api
            if not self.applies("version-prefix-unchecked"):
                if not strict:
                    return self._finish(self._error(404, "404 page not found"))
                if asked > self.max_api:
                    return self._finish(self._error(400, f"client version {found.group(1)} is too new. Maximum "
                                                         f"supported API version is {SWARM_API}"))
            req.client_prefix = found.group(1)  # type: ignore[attr-defined]
            # The manager's own calls to its nodes stay within the range both know.
            version = max(self.min_api, min(asked, self.max_api))
        req.version = version
        req.path = path
        if _ABSENT.match(path):
            if self.applies("swarm-mode-routes-404"):
                return self._not_registered(req, path)
            return self.nodes[0].engine.handle(self._sub_request(req, path))
        for method, pattern, func in self.routes:
            if method not in ("*", req.method):
                continue
            match = pattern.match(path)
            if match:
                try:
                    return self._finish(func(req, match))
                except _NotFound as exc:
                    return self._finish(self._error(404, str(exc)))
                except ApiError as exc:
                    return self._finish(self._error(exc.status, exc.message))
        return self._not_registered(req, path)

    def _not_registered(self, req: Request, path: str) -> Response:
        """A route or method the manager does not register (HEAD /_ping, unknown paths).  SOURCE.md says
        nothing of /session and /distribution (both newer than the v1.2.9 manager's API 1.30): they go to a node."""
        if self.applies("unknown-routes-404") and not _UNDESCRIBED.match(path):
            # The router's own NotFound: "404 page not found", text/plain, without the Api-Version header.
            return self._error(404, "404 page not found")
        return self._finish(self.nodes[0].engine.handle(self._sub_request(req, path)))

    def close(self) -> None:
        for node in self.nodes:
            node.engine.close()

    @property
    def state(self) -> Any:  # lets code written for one Engine reach the first node's state
        return self.nodes[0].engine.state

    # --- plumbing ---------------------------------------------------------------------------
    def _finish(self, response: Response) -> Response:
        if self.applies("version-shape"):
            response.headers["Api-Version"] = SWARM_API
        return response

    def _error(self, status: int, message: str) -> Response:
        """An error the manager writes itself: text/plain, the message and a newline (Go's http.Error), or
        the Engine's JSON when the text-plain-errors switch is off."""
        if not self.applies("text-plain-errors"):
            return error_response(status, message)
        return Response(status, message.encode() + b"\n", Headers([("Content-Type", "text/plain; charset=utf-8"),
                                                                      ("X-Content-Type-Options", "nosniff")]))

    def _daemon_error(self, answer: Response) -> Response:
        """An engine error on a call the manager makes itself: 500 "Error response from daemon: <message>"."""
        if not self.applies("engine-errors-500"):
            return answer
        body = self._json(answer)
        message = body.get("message") if isinstance(body, dict) else answer.content().decode("utf-8", "replace")
        return self._error(500, f"Error response from daemon: {str(message).strip()}")

    def _sub_request(self, req: Request, path: str, query: dict[str, list[str]] | None = None,
                     method: str | None = None, body: bytes | None = None,
                     headers: Headers | None = None, proxied: bool | None = None) -> Request:
        """A request for one node: same headers, body and client connection, rewritten path.

        A proxied call (the client's own body and headers, or `proxied=True`) keeps the client's /vX.Y prefix,
        so the node applies its own range to it; the manager's own calls use a version both know.
        """
        if proxied is None:
            proxied = body is None and headers is None
        prefix = getattr(req, "client_prefix", None) if proxied else None
        version = f"/v{prefix}" if prefix else f"/v{req.version[0]}.{req.version[1]}"
        params = req.query if query is None else query
        target = version + quote(path, safe="/:@")
        if params:
            target += "?" + urlencode([(k, v) for k, values in params.items() for v in values])
        return Request(method or req.method, target, headers or req.headers.copy(),
                       req.body if body is None else body, req.conn)

    def _ask(self, node: Node, req: Request, path: str, method: str = "GET",
             query: dict[str, list[str]] | None = None) -> Response:
        """An internal request of the manager (no client body, no hijack)."""
        return node.engine.handle(self._sub_request(req, path, query or {}, method, b"", Headers()))

    @staticmethod
    def _json(response: Response) -> Any:
        try:
            return json.loads(response.content())
        except ValueError:
            return None

    @staticmethod
    def _with_json(response: Response, value: Any) -> Response:
        out = json_response(value, response.status)
        for key, val in response.headers.items():
            if key.lower() not in ("content-type", "content-length"):
                out.headers[key] = val
        return out

    def _split_node(self, ref: str, kind: str = "containers") -> tuple[Node | None, str]:
        """"node-1/name" -> (node-1, "name"); anything else -> (None, ref).  Network and volume names are split
        only while the node-scoped-names behaviour applies."""
        if kind in ("networks", "volumes") and not self.applies("node-scoped-names"):
            return None, ref
        head, sep, tail = ref.partition("/")
        node = next((n for n in self.nodes if n.name == head), None) if sep else None
        return (node, tail) if node else (None, ref)

    def _locate(self, req: Request, kind: str, ref: str) -> tuple[Node, str]:
        """The node holding container/exec/network/volume `ref`, and the ref that node knows it by."""
        node, local = self._split_node(ref, kind)
        inspect = {"containers": "/containers/{}/json", "exec": "/exec/{}/json", "networks": "/networks/{}",
                   "volumes": "/volumes/{}"}[kind]
        for candidate in [node] if node else self.nodes:
            answer = self._ask(candidate, req, inspect.format(local))
            if answer.status == 200:
                body = self._json(answer) or {}
                return candidate, str(body.get("Id") or body.get("ID") or body.get("Name") or local)
        noun = {"containers": "container", "exec": "exec instance", "networks": "network", "volumes": "volume"}[kind]
        raise _NotFound(f"No such {noun}: {ref}")

    def _node_json(self, node: Node) -> dict[str, Any]:
        return {"ID": node.id, "IP": node.ip, "Addr": node.addr, "Name": node.name, "Cpus": node.cpus,
                "Memory": node.memory, "Labels": dict(node.labels)}

    # --- system -----------------------------------------------------------------------------
    def _ping(self, req: Request, match: re.Match[str]) -> Response:
        if not self.applies("ping-own"):
            return self.nodes[0].engine.handle(self._sub_request(req, "/_ping"))
        # SOURCE.md (v1.2.9): 200 "OK", text/plain, Api-Version only: no Docker-Experimental, OSType, Cache-Control.
        return Response(200, b"OK", Headers([("Content-Type", "text/plain; charset=utf-8")]))

    def _version(self, req: Request, match: re.Match[str]) -> Response:
        if not self.applies("version-shape"):
            return self.nodes[0].engine.handle(self._sub_request(req, "/version"))
        return json_response({
            "Platform": {"Name": "Docker Swarm - Community"}, "Version": SWARM_VERSION, "ApiVersion": SWARM_API,
            "GitCommit": "3cc018d", "GoVersion": "go1.12.17", "Os": "linux", "Arch": "amd64",
            "KernelVersion": "6.0.0-fake", "Experimental": False, "BuildTime": "2020-06-11T09:36:01.000000000+00:00",
        })

    def _info(self, req: Request, match: re.Match[str]) -> Response:
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

    def _events(self, req: Request, match: re.Match[str]) -> Response:
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

    # --- containers -------------------------------------------------------------------------
    def _fix_ports(self, node: Node, ports: Any, key: str) -> None:
        if not self.applies("hostip-node-ip"):
            return
        items = [b for v in ports.values() if isinstance(v, list) for b in v] if isinstance(ports, dict) else \
            ports if isinstance(ports, list) else []
        for binding in items:
            if isinstance(binding, dict) and key in binding and binding[key] in _UNSPECIFIED_IPS:
                binding[key] = node.ip

    def _container_list(self, req: Request, match: re.Match[str]) -> Response:
        filters = _filters(req)
        wanted_nodes = filters.pop("node", None)  # the swarm-only filter never reaches the nodes
        query = dict(req.query)
        if filters or req.q("filters"):
            query["filters"] = [json.dumps(filters)]
        show_all = req.qbool("all")
        merged: list[tuple[Node, dict[str, Any]]] = []
        first_error: Response | None = None
        for node in self.nodes:
            if wanted_nodes and not any(w in (node.name, node.id) for w in _filter_values(wanted_nodes)):
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

    def _container_inspect(self, req: Request, match: re.Match[str]) -> Response:
        node, ident = self._locate(req, "containers", match["ref"])
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

    def _container_create(self, req: Request, match: re.Match[str]) -> Response:
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

    def _container_delete(self, req: Request, match: re.Match[str]) -> Response:
        """The manager removes the container itself: an engine error is 500 (remove-running among them)."""
        try:
            node, ident = self._locate(req, "containers", match["ref"])
        except _NotFound:
            raise _NotFound(f"Container {match['ref']} not found") from None
        answer = node.engine.handle(self._sub_request(req, f"/containers/{ident}", body=b"", headers=Headers()))
        return self._daemon_error(answer) if answer.status >= 400 else answer

    def _name_taken(self, req: Request, name: str) -> bool:
        return bool(name) and any(self._ask(n, req, f"/containers/{name}/json").status == 200 for n in self.nodes)

    def _container_rename(self, req: Request, match: re.Match[str]) -> Response:
        """Names are unique across the cluster: a name used on another node is a conflict too."""
        node, ident = self._locate(req, "containers", match["ref"])
        name = (req.q("name") or "").lstrip("/")
        if self._name_taken(req, name):
            return self._error(409, f"Conflict: The name {name} is already assigned.")
        return node.engine.handle(self._sub_request(req, f"/containers/{ident}/rename"))

    def _container_proxy(self, req: Request, match: re.Match[str]) -> Response:
        node, ident = self._locate(req, "containers", match["ref"])
        rest = match.groupdict().get("rest")
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
            raise _NotFound(f"Exec {ref} not found")
        return node

    def _exec_proxy(self, req: Request, match: re.Match[str]) -> Response:
        if self.applies("exec-cache"):
            node, ident = self._cached_exec(match["ref"]), match["ref"]
        else:
            node, ident = self._locate(req, "exec", match["ref"])
        sub = self._sub_request(req, f"/exec/{ident}/{match['rest']}")
        if match["rest"] == "start" and not req.wants_upgrade() and self.applies("exec-start-tunnel"):
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

    def _commit(self, req: Request, match: re.Match[str]) -> Response:
        node, ident = self._locate(req, "containers", req.q("container") or "")
        query = {**req.query, "container": [ident]}
        return node.engine.handle(self._sub_request(req, "/commit", query=query))

    # --- images -----------------------------------------------------------------------------
    def _first_node(self, req: Request, match: re.Match[str]) -> Response:
        return self.nodes[0].engine.handle(self._sub_request(req, req.path))

    def _every_node(self, req: Request, match: re.Match[str]) -> Response:
        """Send to every node; their bodies one after the other (a failure answers alone)."""
        answers = [node.engine.handle(self._sub_request(req, req.path)) for node in self.nodes]
        failed = next((a for a in answers if a.status >= 400), None)
        if failed is not None:
            return failed
        first = answers[0]
        return Response(first.status, b"".join(a.content() for a in answers), first.headers)

    def _images_get(self, req: Request, match: re.Match[str]) -> Response:
        """Save several images: from the first node that holds all of them."""
        names = req.query.get("names") or []
        node = next((n for n in self.nodes if all(n in self._holders(req, name) for name in names)), self.nodes[0])
        return node.engine.handle(self._sub_request(req, req.path))

    def _holders(self, req: Request, ref: str) -> list[Node]:
        return [n for n in self.nodes if self._ask(n, req, f"/images/{ref}/json").status == 200]

    def _image_first_holder(self, req: Request, match: re.Match[str]) -> Response:
        ref = match["ref"]
        if match["rest"] == "push" and req.q("tag"):
            ref = f"{ref}:{req.q('tag')}"  # push names the tag apart from the repository
        holders = self._holders(req, ref)
        if not holders:
            return self._error(404, f"No such image: {match['ref']}")
        return holders[0].engine.handle(self._sub_request(req, req.path))

    def _image_all_holders(self, req: Request, match: re.Match[str]) -> Response:
        holders = self._holders(req, match["ref"])
        if not holders:
            return self._error(404, f"No such image: {match['ref']}")
        answers = [n.engine.handle(self._sub_request(req, req.path)) for n in holders]
        failed = next((a for a in answers if a.status >= 400), None)
        if failed is not None or req.method != "DELETE":
            return failed or answers[0]
        merged: list[Any] = []
        for answer in answers:
            merged += [item for item in self._json(answer) or [] if item not in merged]
        return self._with_json(answers[0], merged)

    def _image_list(self, req: Request, match: re.Match[str]) -> Response:
        filters = _filters(req)
        nodes = self.nodes
        query = dict(req.query)
        if self.applies("images-node-filter") and "node" in filters:
            wanted = _filter_values(filters.pop("node"))
            nodes = [n for n in self.nodes if n.name in wanted or n.id in wanted]
            query["filters"] = [json.dumps(filters)]
        times = self._image_times(req, filters)
        grouped: dict[str, dict[str, Any]] = {}
        for node in nodes:
            node_query, bounds = query, []
            # The manager lists and filters its own record of every node's images (SOURCE.md: grouped by ID across
            # nodes), so an image that before/since names counts wherever it is: a node that lacks it is asked
            # without that filter, and its images are compared with the named image's creation time.
            lacking = [key for key in times if not all(self._ask(node, req, f"/images/{ref}/json").status == 200
                                                       for ref in _filter_values(filters[key]))]
            if lacking:
                kept = {key: value for key, value in filters.items() if key not in lacking}
                node_query = {**query, "filters": [json.dumps(kept)]}
                bounds = [(key, t) for key in lacking for t in times[key]]
            answer = self._ask(node, req, "/images/json", query=node_query)
            if answer.status != 200:
                return answer
            for image in self._json(answer) or []:
                created = int(image.get("Created") or 0)
                if any(created >= t if key == "before" else created <= t for key, t in bounds):
                    continue
                seen = grouped.setdefault(image["Id"], image)
                for key in ("RepoTags", "RepoDigests"):
                    values = list(seen.get(key) or [])
                    values += [v for v in image.get(key) or [] if v not in values]
                    seen[key] = values if values or seen.get(key) is not None else seen.get(key)
        return json_response(sorted(grouped.values(), key=lambda i: i.get("Created", 0), reverse=True))

    def _image_times(self, req: Request, filters: dict[str, Any]) -> dict[str, list[int]]:
        """{"before"/"since": the creation times (unix seconds) of the images it names}, for the filters whose every
        image some node holds (otherwise the nodes answer for it, as before)."""
        times: dict[str, list[int]] = {}
        for key in ("before", "since"):
            found = []
            for ref in _filter_values(filters.get(key) or []):
                holders = self._holders(req, ref)
                body = self._json(self._ask(holders[0], req, f"/images/{ref}/json")) if holders else None
                if not isinstance(body, dict) or not body.get("Created"):
                    break
                found.append(int(parse_time(str(body["Created"]))))
            else:
                if found:
                    times[key] = found
        return times

    def _image_create(self, req: Request, match: re.Match[str]) -> Response:
        if req.q("fromSrc"):
            if not self.applies("image-import"):
                return self._error(404, "docker import flow not implemented")
            return self._every_node(req, match)
        image = req.q("fromImage") or ""
        answers = [(node, node.engine.handle(self._sub_request(req, "/images/create"))) for node in self.nodes]
        failed = next((a for _, a in answers if a.status >= 400), None)
        if failed is not None:
            return failed

        def records() -> Iterator[bytes]:
            for node, answer in answers:
                for line in answer.content().splitlines():
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if "error" in record or "errorDetail" in record:
                        yield json_bytes(record)
                        continue
                    yield json_bytes({"status": f"Pulling {image}... : {record.get('status', '')}".rstrip(" :"),
                                      "id": node.name})
        return Response(200, records(), Headers([("Content-Type", "application/json")]))

    # --- networks and volumes ---------------------------------------------------------------
    def _scoped_list(self, req: Request, path: str, kind: str) -> Response:
        out: list[Any] = []
        filters = _filters(req)
        query = dict(req.query)
        nodes = self.nodes
        if kind == "volumes" and "node" in filters:
            wanted = _filter_values(filters.pop("node"))
            nodes = [n for n in self.nodes if n.name in wanted or n.id in wanted]
            query["filters"] = [json.dumps(filters)]
        warnings = None
        for node in nodes:
            answer = self._ask(node, req, path, query=query)
            if answer.status != 200:
                return answer
            body = self._json(answer)
            items = (body or {}).get("Volumes") or [] if kind == "volumes" else body or []
            for item in items:
                local = item.get("Scope") == "local" if kind == "networks" else item.get("Driver") == "local"
                if local and self.applies("node-scoped-names"):
                    item["Name"] = f"{node.name}/{item['Name']}"
                if kind == "networks" and any(o.get("Id") == item.get("Id") for o in out):
                    continue
                out.append(item)
        if kind == "volumes":
            return json_response({"Volumes": out, "Warnings": warnings})
        return json_response(out)

    def _scoped_create(self, req: Request, match: re.Match[str]) -> Response:
        kind = match["kind"]
        body = req.json({}) or {}
        node, local = self._split_node(str(body.get("Name") or ""), kind) if isinstance(body, dict) else (None, "")
        data = req.body
        if node is not None:
            body["Name"] = local
            data = json.dumps(body).encode()
        target = node or self.nodes[0]
        headers = req.headers.copy()
        headers["Content-Length"] = str(len(data))
        return target.engine.handle(self._sub_request(req, f"/{kind}/create", body=data, headers=headers))

    def _network_attach(self, req: Request, match: re.Match[str]) -> Response:
        """Connect/disconnect goes to the container's node: a local network of another node is not found there."""
        self._locate(req, "networks", match["ref"])
        body = req.json({}) or {}
        container = str(body.get("Container") or "") if isinstance(body, dict) else ""
        node, ident = self._locate(req, "containers", container)
        data = json.dumps({**body, "Container": ident}).encode()
        headers = req.headers.copy()
        headers["Content-Length"] = str(len(data))
        local = self._split_node(match["ref"], "networks")[1]
        disconnect = match["rest"] == "disconnect"
        answer = node.engine.handle(self._sub_request(req, f"/networks/{local}/{match['rest']}", body=data,
                                                      headers=headers, proxied=not disconnect))
        if disconnect and self.applies("network-disconnect-204"):
            # SOURCE.md (v1.2.9): the manager disconnects itself: 204 (the engine says 200), every error 404.
            if answer.status >= 400:
                found = self._json(answer)
                return self._error(404, str(found.get("message") if isinstance(found, dict) else "disconnect failed"))
            return Response(204, b"")
        return answer

    def _scoped_proxy(self, req: Request, match: re.Match[str]) -> Response:
        kind = match["kind"]
        node, ident = self._locate(req, kind, match["ref"])
        rest = match.groupdict().get("rest") or ""
        return node.engine.handle(self._sub_request(req, f"/{kind}/{ident}{rest}"))


class _NotFound(Exception):
    pass


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


def _filters(req: Request) -> dict[str, Any]:
    """The `filters` query value as a mapping; 400 when it is not JSON (as the Engine answers)."""
    raw = req.q("filters")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"invalid filter: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid filter: expected a JSON object")
    return value


def _filter_values(value: Any) -> list[str]:
    """A filters value in either wire form: ["a", "b"] or {"a": true}."""
    if isinstance(value, dict):
        return [k for k, v in value.items() if v]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
