"""System endpoints: _ping, version, info, df, auth, events, session."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import spec
from .container_views import summary_json as ctr_summary
from .events import events_handler
from .identity import FAKE_VERSION
from .image_store import summary_json as img_summary
from .routing import Route, route
from .util import Version, rfc3339, version_str
from .volumes import inspect_json as vol_json
from .volumes import users as vol_users
from .wire import ApiError, Conn, Headers, Response, json_response

if TYPE_CHECKING:
    from .engine import Ctx

KERNEL = "6.0.0-fake"


def _ping(ctx: Ctx, head: bool) -> Response:
    headers = Headers([("Builder-Version", "1"), ("Cache-Control", "no-cache, no-store, must-revalidate"),
                       ("Pragma", "no-cache"), ("Content-Type", "text/plain; charset=utf-8")])
    with ctx.state.lock:
        swarm = ctx.state.swarm
        if swarm.active:
            headers["Swarm"] = f"active/{swarm.role}"
        else:
            headers["Swarm"] = "inactive"
    if head:
        headers["Content-Length"] = "0"
        return Response(200, b"", headers)
    return Response(200, b"OK", headers)


def ping(ctx: Ctx) -> Response:
    return _ping(ctx, False)


def ping_head(ctx: Ctx) -> Response:
    return _ping(ctx, True)


def version_json(ctx: Ctx) -> dict[str, Any]:
    engine = ctx.engine
    api, min_api = version_str(engine.max_api), version_str(engine.min_api)
    return {
        "Platform": {"Name": "Docker Engine - Fake"},
        "Components": [
            {"Name": "Engine", "Version": FAKE_VERSION, "Details": {
                "ApiVersion": api, "Arch": "amd64", "BuildTime": "2024-01-01T00:00:00.000000000+00:00",
                "Experimental": "false", "GitCommit": "fake000", "GoVersion": "go1.22.0", "KernelVersion": KERNEL,
                "MinAPIVersion": min_api, "Os": "linux", "Fake": "true", "Kind": engine.kind}},
            {"Name": "containerd", "Version": "1.7.0-fake", "Details": {"GitCommit": "fake"}},
            {"Name": "runc", "Version": "1.1.0-fake", "Details": {"GitCommit": "fake"}},
        ],
        "Version": FAKE_VERSION, "ApiVersion": api, "MinAPIVersion": min_api, "GitCommit": "fake000",
        "GoVersion": "go1.22.0", "Os": "linux", "Arch": "amd64", "KernelVersion": KERNEL,
        "BuildTime": "2024-01-01T00:00:00.000000000+00:00",
    }


def version(ctx: Ctx) -> Response:
    return json_response(version_json(ctx))


def _swarm_info(ctx: Ctx) -> dict[str, Any]:
    swarm = ctx.state.swarm
    if not swarm.active:
        return {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False, "Error": "",
                "RemoteManagers": None}
    if swarm.role == "worker":  # moby daemon/cluster/swarm.go Info: Nodes, Managers and Cluster are a manager's
        manager = swarm.manager
        remotes = [{"NodeID": manager.node_id, "Addr": manager.join_addr}] if manager is not None else []
        return {"NodeID": swarm.node_id, "NodeAddr": swarm.addr, "LocalNodeState": "active",
                "ControlAvailable": False, "Error": "", "RemoteManagers": remotes}
    return {"NodeID": swarm.node_id, "NodeAddr": swarm.addr, "LocalNodeState": "active", "ControlAvailable": True,
            "Error": "", "RemoteManagers": [{"NodeID": swarm.node_id, "Addr": swarm.join_addr}],
            "Nodes": 1 + len(swarm.members), "Managers": 1, "Cluster": swarm.info_cluster(ctx.version)}


def info(ctx: Ctx) -> Response:
    state = ctx.state
    with state.lock:
        containers = list(state.containers.values())
        running = sum(1 for c in containers if c.status == "running")
        paused = sum(1 for c in containers if c.status == "paused")
        out: dict[str, Any] = {
            "ID": state.engine_id, "Containers": len(containers), "ContainersRunning": running,
            "ContainersPaused": paused, "ContainersStopped": len(containers) - running - paused,
            "Images": len(state.images.images), "Driver": "overlay2",
            "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
            "DockerRootDir": "/var/lib/docker", "Plugins": {
                "Volume": ["local"], "Network": ["bridge", "host", "ipvlan", "macvlan", "null", "overlay"],
                "Authorization": None, "Log": ["awslogs", "fluentd", "gcplogs", "gelf", "journald", "json-file",
                                               "local", "splunk", "syslog"]},
            "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True, "CPUShares": True,
            "CPUSet": True, "PidsLimit": True, "OomKillDisable": False, "IPv4Forwarding": True,
            "Debug": False, "NFd": 24, "NGoroutines": 40, "SystemTime": rfc3339(__import__("time").time_ns()),
            "LoggingDriver": "json-file", "CgroupDriver": "systemd", "CgroupVersion": "2", "NEventsListener": 0,
            "KernelVersion": KERNEL, "OperatingSystem": "Fake Linux", "OSVersion": "1.0", "OSType": "linux",
            "Architecture": "x86_64", "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {"AllowNondistributableArtifactsCIDRs": [],
                               "AllowNondistributableArtifactsHostnames": [], "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                               "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": True,
                                                              "Official": True}}, "Mirrors": []},
            "NCPU": 2, "MemTotal": 8 << 30, "GenericResources": None, "HttpProxy": "", "HttpsProxy": "",
            "NoProxy": "", "Name": state.hostname, "Labels": [], "ExperimentalBuild": False,
            "ServerVersion": FAKE_VERSION, "Runtimes": {"runc": {"path": "runc"}}, "DefaultRuntime": "runc",
            "Swarm": _swarm_info(ctx), "LiveRestoreEnabled": False, "Isolation": "", "InitBinary": "docker-init",
            **{name: {"ID": "fake", **({"Expected": "fake"} if (1, 32) <= ctx.version < (1, 49) else {})}
               for name in ("ContainerdCommit", "RuncCommit", "InitCommit")},  # Expected: until the spec dropped it
            "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"],
            "Warnings": None,
        }
    v: Version = ctx.version
    if v < (1, 44):
        out["BridgeNfIptables"] = True
        out["BridgeNfIp6tables"] = True
    if v < (1, 45):
        out["KernelMemory"] = False
        out["KernelMemoryTCP"] = False
    if v < (1, 49):
        out["RegistryConfig"].pop("AllowNondistributableArtifactsCIDRs", None)
        out["RegistryConfig"].pop("AllowNondistributableArtifactsHostnames", None)
        out["RegistryConfig"]["AllowNondistributableArtifactsCIDRs"] = []
        out["RegistryConfig"]["AllowNondistributableArtifactsHostnames"] = []
    if v >= (1, 42):
        out["DefaultAddressPools"] = [{"Base": "172.17.0.0/16", "Size": 16}]
    if v >= (1, 44):
        out["CDISpecDirs"] = []
    if v >= (1, 46):
        out["Containerd"] = {"Address": "/run/containerd/containerd.sock",
                             "Namespaces": {"Containers": "moby", "Plugins": "plugins.moby"}}
    if v >= (1, 48):
        out["FirewallBackend"] = {"Driver": "iptables"}
    return json_response(out)


def system_df(ctx: Ctx) -> Response:
    state = ctx.state
    types = set(ctx.req.qlist("type"))
    with state.lock:
        images = []
        for image in state.images.images.values():
            item = img_summary(state, image, ctx.version)
            item["Containers"] = len(state.images.users(image))
            images.append(item)
        containers = [ctr_summary(state, c, ctx.version, size=True) for c in state.containers.values()]
        volumes = []
        for volume in state.volumes.values():
            refs = len(vol_users(state, volume))
            volumes.append(vol_json(volume, ctx.version, {"Size": volume.data.size(), "RefCount": refs}))
    layers = sum(i["Size"] for i in images)
    if ctx.at_least("1.52") and _new_df_shape(ctx):
        out: dict[str, Any] = {
            "ImageUsage": {"ActiveCount": sum(1 for i in images if i["Containers"]), "TotalCount": len(images),
                           "TotalSize": layers, "Reclaimable": 0, "Items": images},
            "ContainerUsage": {"ActiveCount": sum(1 for c in containers if c["State"] == "running"),
                               "TotalCount": len(containers), "TotalSize": sum(c.get("SizeRw", 0) for c in containers),
                               "Reclaimable": 0, "Items": containers},
            "VolumeUsage": {"ActiveCount": sum(1 for v in volumes if v["UsageData"]["RefCount"]),
                            "TotalCount": len(volumes), "TotalSize": 0, "Reclaimable": 0, "Items": volumes},
            "BuildCacheUsage": {"ActiveCount": 0, "TotalCount": 0, "TotalSize": 0, "Reclaimable": 0, "Items": []},
        }
        return json_response(out)
    out = {"LayersSize": layers, "Images": images, "Containers": containers, "Volumes": volumes, "BuildCache": None}
    if types:
        keep = {"image": "Images", "container": "Containers", "volume": "Volumes", "build-cache": "BuildCache"}
        for kind, key in keep.items():
            if kind not in types:
                out.pop(key, None)
    return json_response(out)


def _new_df_shape(ctx: Ctx) -> bool:
    ops = spec.operations(ctx.version) or {}
    info = ops.get(("GET", "/system/df"))
    return info is not None and _df_has_usage(ctx.version)


def _df_has_usage(version: Version) -> bool:
    use = spec.nearest(version)
    if use is None:
        return False
    key = ("df-shape", use)
    cache = _DF_CACHE
    if key not in cache:
        path = spec.SCHEMAS_DIR / f"engine-{use[0]}.{use[1]}.json"
        data = json.loads(path.read_text())
        schema = data["operations"]["SystemDataUsage"]["responses"]["200"]["schema"]
        cache[key] = "ImageUsage" in (schema.get("properties") or {})
    return cache[key]


_DF_CACHE: dict[Any, bool] = {}


def auth(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    if not isinstance(body, dict):
        raise ApiError(400, "invalid auth configuration")
    if not body.get("username") and not body.get("identitytoken"):
        raise ApiError(401, "Get \"https://registry.fake.local/v2/\": unauthorized: incorrect username or password")
    host = str(body.get("serveraddress") or "").removeprefix("https://").removeprefix("http://").rstrip("/")
    if host and not ctx.state.images.registry.admits(host, body):
        # moby registry/auth.go loginV2: a registry's 401 becomes a plain error, hence 500 (fake.yaml lists it)
        raise ApiError(500, f"login attempt to http://{host}/v2/ failed with status: 401 Unauthorized")
    return json_response({"Status": "Login Succeeded", "IdentityToken": ""})


def events(ctx: Ctx) -> Response:
    return events_handler(ctx)


def session(ctx: Ctx) -> Response:
    proto = ctx.req.headers.get("Upgrade") or ""
    if not ctx.req.wants_upgrade() or proto.lower() != "h2c":
        raise ApiError(400, "no upgrade proto in request")

    def hijack(conn: Conn) -> None:
        # The Engine is the session's gRPC client (buildkit session/manager.go handleConn): it opens HTTP/2
        # with the client preface and its SETTINGS; the fake then holds the session open until closed.
        if not ctx.fault("session-no-h2-preface"):
            conn.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 0x4, 0, 0, 0, 0, 0]))
        while conn.read():
            pass
    return Response(101, b"", Headers([("Connection", "Upgrade"), ("Upgrade", proto)]), "Switching Protocols", hijack,
                    standard_headers="none")  # the session manager writes the 101 itself


# The routes this module serves, in match order (conformance/fake/routes.py builds the router).
ROUTES: tuple[Route, ...] = (
    route("GET", "/_ping", "SystemPing", ping),
    route("HEAD", "/_ping", "SystemPingHead", ping_head),
    route("GET", "/version", "SystemVersion", version),
    route("GET", "/info", "SystemInfo", info),
    route("GET", "/system/df", "SystemDataUsage", system_df),
    route("POST", "/auth", "SystemAuth", auth),
    route("GET", "/events", "SystemEvents", events),
    route("POST", "/session", "Session", session),
)
