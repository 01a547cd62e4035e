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

This module holds the manager class, its switches, its entry point and its route table (on the shared router,
conformance/fake/routing.py); the handlers are mixins by concern: swarm_classic_system.py (ping, version, info,
events), swarm_classic_containers.py (containers, execs), swarm_classic_images.py, swarm_classic_scoped.py
(networks, volumes), all written against swarm_classic_base.py (Node, the plumbing).
"""

from __future__ import annotations

import re
import threading
from functools import partial
from typing import Any
from urllib.parse import unquote

from .engine import Engine
from .faults import FAULTS
from .registry import Registry
from .routing import Handler, Route, Router, route
from .swarm_classic_base import FAULT_PREFIX, SWARM_API, Node, NotFound
from .swarm_classic_containers import ContainerHandlers
from .swarm_classic_images import ImageHandlers
from .swarm_classic_scoped import ScopedHandlers
from .swarm_classic_system import SystemHandlers
from .wire import ApiError, Request, Response

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
# Routes the archived manager registers only through the Engine's own router: everything else is 404.
_ABSENT = re.compile(r"^/(swarm|nodes|services|tasks|secrets|configs|plugins)(/|$)"
                     r"|^/system/df$|^/(containers|images|networks|volumes|build)/prune$")


def _version_tuple(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor)


def _route(method: str, template: str, op: str, func: Handler) -> Route:
    """A route of the manager: its router (gorilla/mux, no StrictSlash) takes no trailing slash, so /_ping/ stays
    unregistered and /networks/x/ names the network "x/"."""
    return route(method, template, op, func, trailing_slash=False)


def _any_method(template: str, func: Handler, *ops: tuple[str, str]) -> tuple[Route, ...]:
    """A path the manager proxies: one route per (method, operationId), then one for every other method, which
    goes to the node as well (the node answers it); that last route names the path's first operation."""
    return (*(_route(method, template, op, func) for method, op in ops), _route("*", template, ops[0][1], func))


class SwarmClassicManager(SystemHandlers, ContainerHandlers, ImageHandlers, ScopedHandlers):
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
        self.router = Router(self._routes())

    # --- switches ---------------------------------------------------------------------------
    def _validate(self) -> None:
        mine = {f for f in self.faults if f.startswith(FAULT_PREFIX)}
        unknown = sorted({f for f in mine if f[len(FAULT_PREFIX):] not in DEVIATIONS}
                         | {f for f in self.faults - mine if f not in FAULTS})
        if unknown:
            raise ValueError(f"unknown fault(s) {', '.join(unknown)}; swarm-classic switches: "
                             + ", ".join(FAULT_PREFIX + d for d in DEVIATIONS))

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
        matched = self.router.match(req.method, path)
        if matched is None:
            return self._not_registered(req, path)
        entry, params = matched
        try:
            return self._finish(entry.func(req, params))
        except NotFound as exc:
            return self._finish(self._error(404, str(exc)))
        except ApiError as exc:
            return self._finish(self._error(exc.status, exc.message))

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

    def _finish(self, response: Response) -> Response:
        if self.applies("version-shape"):
            response.headers["Api-Version"] = SWARM_API
        return response

    # --- the route table --------------------------------------------------------------------
    def _routes(self) -> tuple[Route, ...]:
        """In match order (the first match wins); templates as the spec spells them, `{id:.+}` where the archived
        manager's pattern spans slashes.  The handlers take (request, params); `rest` and `kind` say which of the
        paths a shared handler serves."""
        def container(rest: str) -> Handler:
            return partial(self._container_proxy, rest=rest)

        def exec_(rest: str) -> Handler:
            return partial(self._exec_proxy, rest=rest)

        def image(rest: str) -> Handler:
            return partial(self._image_first_holder, rest=rest)

        networks, volumes = partial(self._scoped_proxy, kind="networks"), partial(self._scoped_proxy, kind="volumes")
        return (
            _route("GET", "/_ping", "SystemPing", self._ping),
            _route("GET", "/version", "SystemVersion", self._version),
            _route("GET", "/info", "SystemInfo", self._info),
            _route("GET", "/events", "SystemEvents", self._events),
            _route("GET", "/containers/json", "ContainerList", self._container_list),
            _route("GET", "/containers/ps", "ContainerList", self._container_list),  # the API's old spelling
            _route("POST", "/containers/create", "ContainerCreate", self._container_create),
            _route("GET", "/containers/{id:.+}/json", "ContainerInspect", self._container_inspect),
            _route("POST", "/containers/{id:.+}/rename", "ContainerRename", self._container_rename),
            *_any_method("/containers/{id:.+}/archive", container("archive"), ("HEAD", "ContainerArchiveInfo"),
                         ("GET", "ContainerArchive"), ("PUT", "PutContainerArchive")),
            *_any_method("/containers/{id:.+}/export", container("export"), ("GET", "ContainerExport")),
            *_any_method("/containers/{id:.+}/changes", container("changes"), ("GET", "ContainerChanges")),
            *_any_method("/containers/{id:.+}/top", container("top"), ("GET", "ContainerTop")),
            *_any_method("/containers/{id:.+}/logs", container("logs"), ("GET", "ContainerLogs")),
            *_any_method("/containers/{id:.+}/stats", container("stats"), ("GET", "ContainerStats")),
            *_any_method("/containers/{id:.+}/attach/ws", container("attach/ws"), ("GET", "ContainerAttachWebsocket")),
            *_any_method("/containers/{id:.+}/kill", container("kill"), ("POST", "ContainerKill")),
            *_any_method("/containers/{id:.+}/pause", container("pause"), ("POST", "ContainerPause")),
            *_any_method("/containers/{id:.+}/unpause", container("unpause"), ("POST", "ContainerUnpause")),
            *_any_method("/containers/{id:.+}/restart", container("restart"), ("POST", "ContainerRestart")),
            *_any_method("/containers/{id:.+}/start", container("start"), ("POST", "ContainerStart")),
            *_any_method("/containers/{id:.+}/stop", container("stop"), ("POST", "ContainerStop")),
            *_any_method("/containers/{id:.+}/update", container("update"), ("POST", "ContainerUpdate")),
            *_any_method("/containers/{id:.+}/wait", container("wait"), ("POST", "ContainerWait")),
            *_any_method("/containers/{id:.+}/resize", container("resize"), ("POST", "ContainerResize")),
            *_any_method("/containers/{id:.+}/attach", container("attach"), ("POST", "ContainerAttach")),
            # /copy left the API before 1.25, so no spec here names its operation.
            *_any_method("/containers/{id:.+}/copy", container("copy"), ("POST", "ContainerCopy")),
            *_any_method("/containers/{id:.+}/exec", container("exec"), ("POST", "ContainerExec")),
            _route("DELETE", "/containers/{id:.+}", "ContainerDelete", self._container_delete),
            *_any_method("/exec/{id}/json", exec_("json"), ("GET", "ExecInspect")),
            *_any_method("/exec/{id}/start", exec_("start"), ("POST", "ExecStart")),
            *_any_method("/exec/{id}/resize", exec_("resize"), ("POST", "ExecResize")),
            _route("GET", "/images/json", "ImageList", self._image_list),
            _route("GET", "/images/viz", "ImageViz", self._image_viz),  # as /copy: older than every spec here
            _route("GET", "/images/search", "ImageSearch", self._first_node),
            _route("GET", "/images/get", "ImageGetAll", self._images_get),
            _route("POST", "/images/create", "ImageCreate", self._image_create),
            _route("POST", "/images/load", "ImageLoad", self._every_node),
            _route("POST", "/build", "ImageBuild", self._first_node),
            _route("POST", "/auth", "SystemAuth", self._first_node),
            _route("POST", "/commit", "ImageCommit", self._commit),
            *_any_method("/images/{name:.+}/json", image("json"), ("GET", "ImageInspect")),
            *_any_method("/images/{name:.+}/history", image("history"), ("GET", "ImageHistory")),
            *_any_method("/images/{name:.+}/get", image("get"), ("GET", "ImageGet")),
            *_any_method("/images/{name:.+}/push", image("push"), ("POST", "ImagePush")),
            _route("POST", "/images/{name:.+}/tag", "ImageTag", self._image_all_holders),
            _route("DELETE", "/images/{name:.+}", "ImageDelete", self._image_all_holders),
            _route("GET", "/networks", "NetworkList", partial(self._scoped_list, kind="networks")),
            _route("GET", "/volumes", "VolumeList", partial(self._scoped_list, kind="volumes")),
            _route("POST", "/networks/create", "NetworkCreate", partial(self._scoped_create, kind="networks")),
            _route("POST", "/volumes/create", "VolumeCreate", partial(self._scoped_create, kind="volumes")),
            # A network's name is the shortest that leaves /connect or /disconnect (the archived pattern's .+?).
            _route("POST", "/networks/{id:.+?}/connect", "NetworkConnect",
                  partial(self._network_attach, rest="connect")),
            _route("POST", "/networks/{id:.+?}/disconnect", "NetworkDisconnect",
                  partial(self._network_attach, rest="disconnect")),
            # Any other method of connect and disconnect is proxied, before a name could swallow the suffix.
            _route("*", "/networks/{id:.+?}/connect", "NetworkConnect", partial(networks, rest="/connect")),
            _route("*", "/networks/{id:.+?}/disconnect", "NetworkDisconnect", partial(networks, rest="/disconnect")),
            *_any_method("/networks/{id:.+?}", networks, ("GET", "NetworkInspect"), ("DELETE", "NetworkDelete")),
            *_any_method("/volumes/{name:.+}", volumes, ("GET", "VolumeInspect"), ("PUT", "VolumeUpdate"),
                         ("DELETE", "VolumeDelete")),
        )
