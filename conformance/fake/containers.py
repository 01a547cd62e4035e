"""Container handlers: create, inspect/list, start/stop/restart/kill/pause/unpause/wait, delete, rename,
update, resize, prune, top, stats.  Records and lifecycle are in container_model.py, the JSON views in
container_views.py, the filesystem routes in container_files.py, logs and attach in container_io.py.

A running container is a thread executing the command language (cmdlang) against the container's
own filesystem; its output goes to the log, which logs, attach and wait all read.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import network_model as netmod
from .cmdlang import Pipe, parse_signal
from .container_model import (
    NAME_RE,
    Container,
    find_container,
    get_container,
    mounts_for,
    path_container,
    random_name,
    remove_container,
    signal_container,
    start_container,
    stop_container,
)
from .container_views import health_status, inspect_json, port_views, stats_sample, summary_json
from .fs import norm
from .image_store import normalize
from .routing import Route, route
from .streams import RAW
from .util import (
    ZERO_TIME,
    match_labels,
    new_id,
    now_ns,
    parse_filters,
    parse_time,
    prune_selects,
    truthy,
)
from .wire import ApiError, Response, empty, json_bytes, json_response, stream_response

if TYPE_CHECKING:
    from .engine import Ctx


# dockerd 20.10's built-in logging drivers; any other name is a plugin the fake does not have
LOG_DRIVERS = ("json-file", "local", "none", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk",
               "etwlogs", "gcplogs", "logentries")

DEFAULT_HOST_CONFIG: dict[str, Any] = {
    "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}}, "NetworkMode": "default",
    "PortBindings": None, "RestartPolicy": {"Name": "", "MaximumRetryCount": 0}, "AutoRemove": False,
    "VolumeDriver": "", "VolumesFrom": None, "ConsoleSize": [0, 0], "CapAdd": None, "CapDrop": None,
    "CgroupnsMode": "private", "Dns": None, "DnsOptions": None, "DnsSearch": None, "ExtraHosts": None, "GroupAdd": None,
    "IpcMode": "private", "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "", "Privileged": False,
    "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None, "UTSMode": "", "UsernsMode": "",
    "ShmSize": 67108864, "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0,
    "CgroupParent": "", "BlkioWeight": 0, "BlkioWeightDevice": None, "BlkioDeviceReadBps": None,
    "BlkioDeviceWriteBps": None, "BlkioDeviceReadIOps": None, "BlkioDeviceWriteIOps": None, "CpuPeriod": 0,
    "CpuQuota": 0,
    "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "", "Devices": None,
    "DeviceCgroupRules": None, "DeviceRequests": None, "MemoryReservation": 0, "MemorySwap": 0,
    "MemorySwappiness": None, "OomKillDisable": False, "PidsLimit": None, "Ulimits": None, "CpuCount": 0,
    "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
    "MaskedPaths": ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
    "ReadonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
}


def container_create(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    if not isinstance(body, dict):
        raise ApiError(400, "invalid JSON body")
    state = ctx.state
    name = ctx.q("name") or ""
    if name and not NAME_RE.match(name):
        raise ApiError(400, f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    image_ref = body.get("Image") or ""
    if not image_ref:
        raise ApiError(400, "No image was specified")
    host = {**DEFAULT_HOST_CONFIG, **{k: v for k, v in (body.get("HostConfig") or {}).items()}}
    log_driver = (host.get("LogConfig") or {}).get("Type") or "json-file"
    if log_driver not in LOG_DRIVERS:
        raise ApiError(400, f"error looking up logging plugin {log_driver}: plugin \"{log_driver}\" not found")
    if "HostConfig" in body:  # dockerd 20.10 (observed): the default runtime is filled in with a HostConfig given,
        host.setdefault("Runtime", "runc")  # else only at the first start (omitempty until then)
    policy = (host.get("RestartPolicy") or {}).get("Name") or ""
    if policy not in ("", "no", "always", "unless-stopped", "on-failure"):
        raise ApiError(400, f"invalid restart policy: unknown policy '{policy}'; use one of 'no', 'always', "
                            "'on-failure' or 'unless-stopped'")
    if host.get("AutoRemove") and policy not in ("", "no"):
        raise ApiError(400, "conflicting options: cannot specify both --restart and --rm")
    with state.lock:
        image = state.images.find(image_ref)
        if image is None:
            raise ApiError(404, f"No such image: {normalize(image_ref)}")
        if name:
            clash = find_container(state, name)
            if clash is not None and clash.name == "/" + name.lstrip("/"):
                raise ApiError(409, f'Conflict. The container name "/{name.lstrip("/")}" is already in use by '
                                    f'container "{clash.id}". You have to remove (or rename) that container to be '
                                    "able to reuse that name.")
        image_config = image.config
        entrypoint = body.get("Entrypoint")
        cmd = body.get("Cmd")
        if isinstance(entrypoint, str):
            entrypoint = [entrypoint]
        if isinstance(cmd, str):
            cmd = [cmd]
        if entrypoint is None or entrypoint == []:
            entrypoint = None if entrypoint == [] else image_config.get("Entrypoint")
            if cmd is None:
                cmd = image_config.get("Cmd")
        argv = list(entrypoint or []) + list(cmd or [])
        if not argv:
            raise ApiError(400, "No command specified")
        cid = new_id()
        env = list(image_config.get("Env") or [])
        for item in body.get("Env") or []:
            key = item.split("=", 1)[0]
            env = [e for e in env if e.split("=", 1)[0] != key] + [item]
        labels = {**(image_config.get("Labels") or {}), **(body.get("Labels") or {})}
        config = {
            "Hostname": body.get("Hostname") or cid[:12], "Domainname": body.get("Domainname") or "",
            "User": body.get("User") or image_config.get("User") or "",
            "AttachStdin": bool(body.get("AttachStdin")), "AttachStdout": bool(body.get("AttachStdout")),
            "AttachStderr": bool(body.get("AttachStderr")), "ExposedPorts": body.get("ExposedPorts") or
            image_config.get("ExposedPorts"), "Tty": bool(body.get("Tty")), "OpenStdin": bool(body.get("OpenStdin")),
            "StdinOnce": bool(body.get("StdinOnce")), "Env": env or None, "Cmd": cmd, "Image": image_ref,
            "Volumes": body.get("Volumes") or image_config.get("Volumes"),
            "WorkingDir": body.get("WorkingDir") or image_config.get("WorkingDir") or "",
            "Entrypoint": entrypoint, "OnBuild": None, "Labels": labels,
        }
        for key in ("StopSignal", "StopTimeout", "Healthcheck", "MacAddress", "ArgsEscaped", "Shell"):
            if body.get(key) is not None:
                config[key] = body[key]
        if isinstance(config.get("Healthcheck"), dict):  # Go's omitempty: an unset duration or count is left out
            config["Healthcheck"] = {k: v for k, v in config["Healthcheck"].items() if v is not None}
        if config["ExposedPorts"] is None:
            config.pop("ExposedPorts")
        fs = image.fs.copy()
        workdir = config["WorkingDir"]
        if workdir and not fs.exists(workdir):
            fs.mkdir(norm(workdir))
        mounts = mounts_for(state, config, host, image_config, cid)
        container = Container(cid, random_name(state) if not name else "/" + name.lstrip("/"), now_ns(), image.id,
                              config, host, fs, image.fs, argv, mounts=mounts)
        mode = host.get("NetworkMode") or "default"
        endpoints = (body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
        net_name = "bridge" if mode == "default" else mode
        if not net_name.startswith("container:"):
            net = netmod.find(state, net_name)
            if net is None:
                raise ApiError(404, f"network {net_name} not found")
            primary = endpoints.get(mode) or endpoints.get(net_name) or endpoints.get(net.name)
            container.networks[net.name] = netmod.endpoint_settings(net, primary, ctx.version)
            # Config.MacAddress is the address on the NetworkMode network (moby daemon/network.go
            # buildCreateEndpointOptions); from 1.44 an endpoint's own MacAddress says it per network
            mac = ((primary or {}).get("MacAddress") if ctx.version >= (1, 44) else "") or config.get("MacAddress")
            if mac:
                container.mac_addresses[net.name] = str(mac)
        for extra_name, extra_cfg in endpoints.items():
            if extra_name in (net_name, mode) or extra_name in container.networks:
                continue
            extra = netmod.find(state, extra_name)
            if extra is None:
                raise ApiError(404, f"network {extra_name} not found")
            container.networks[extra.name] = netmod.endpoint_settings(extra, extra_cfg, ctx.version)
            if ctx.version >= (1, 44) and (extra_cfg or {}).get("MacAddress"):
                container.mac_addresses[extra.name] = str(extra_cfg["MacAddress"])
        if config["OpenStdin"]:
            container.stdin = Pipe()
        state.containers[cid] = container
        state.emit("container", "create", cid, container.attrs(state))
    warnings: list[str] = []
    return json_response({"Id": cid, "Warnings": warnings}, 201)


def container_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        return json_response(inspect_json(ctx.state, path_container(ctx), ctx.version, ctx.qbool("size")))


def _port_set(values: list[str]) -> set[tuple[int, str]]:
    """expose/publish values: `<port>[/<proto>]` or `<start>-<end>[/<proto>]` (tcp when no protocol)."""
    out: set[tuple[int, str]] = set()
    for value in values:
        ports, _, proto = value.partition("/")
        start, _, end = ports.partition("-")
        if not start.isdigit() or (end and not end.isdigit()):
            raise ApiError(400, f"error while looking up for port {value}")
        out |= {(n, proto or "tcp") for n in range(int(start), int(end or start) + 1)}
    return out


def _ports_match(c: Container, expose: list[str], publish: list[str]) -> bool:
    """As moby's daemon/list.go: expose names a container port, publish a host port, of the list's Ports."""
    exposed, published = _port_set(expose), _port_set(publish)
    return any((p["PrivatePort"], p["Type"]) in exposed or (p.get("PublicPort"), p["Type"]) in published
               for p in port_views(c)[1])


LIST_FILTERS = ("ancestor", "before", "expose", "exited", "health", "id", "is-task", "isolation", "label", "name",
                "network", "publish", "since", "status", "volume")


def container_list(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), LIST_FILTERS)
    if ctx.fault("ignore-label-filter"):
        filters.pop("label", None)
    for status in filters.get("status", []):
        if status not in ("created", "restarting", "running", "removing", "paused", "exited", "dead"):
            raise ApiError(400, f"invalid filter 'status={status}'")
    show_all = ctx.qbool("all") or bool(filters.get("status")) or bool(filters.get("exited"))
    limit = ctx.qint("limit", -1) or -1
    size = ctx.qbool("size")
    state = ctx.state
    out = []
    with state.lock:
        containers = sorted(state.containers.values(), key=lambda c: c.created_ns, reverse=True)
        before = [get_container(state, r).created_ns for r in filters.get("before", [])]
        since = [get_container(state, r).created_ns for r in filters.get("since", [])]
        if limit > 0 or before or since:
            show_all = True
        for c in containers:
            if not show_all and not c.running:
                continue
            if filters.get("id") and not any(c.id.startswith(v) for v in filters["id"]):
                continue
            if filters.get("name") and not any(re.search(v, c.name.lstrip("/")) or v == c.name
                                               for v in filters["name"]):
                continue
            if filters.get("label") and not match_labels(c.labels, filters["label"]):
                continue
            if filters.get("status") and c.status not in filters["status"]:
                continue
            if filters.get("exited") and not (c.status == "exited" and str(c.exit_code) in filters["exited"]):
                continue
            if filters.get("ancestor"):
                wanted = {getattr(state.images.find(a), "id", a) for a in filters["ancestor"]}
                if c.image_id not in wanted and c.config.get("Image") not in filters["ancestor"]:
                    continue
            if filters.get("network") and not any(
                    n in c.networks or any(ep.get("NetworkID", "").startswith(n) for ep in c.networks.values())
                    for n in filters["network"]):
                continue
            if filters.get("volume") and not any(m.get("Name") in filters["volume"] or m["Destination"] in
                                                 filters["volume"] for m in c.mounts):
                continue
            if filters.get("is-task"):
                is_task = "com.docker.swarm.task" in c.labels
                if is_task != truthy(filters["is-task"][:1]):
                    continue
            if filters.get("health") and health_status(c) not in filters["health"]:
                continue
            if (filters.get("expose") or filters.get("publish")) and not _ports_match(
                    c, filters.get("expose", []), filters.get("publish", [])):
                continue
            if any(c.created_ns >= b for b in before) or any(c.created_ns <= s for s in since):
                continue
            out.append(summary_json(state, c, ctx.version, size))
    if limit > 0:
        out = out[:limit]
    return json_response(out)


# --- lifecycle handlers ----------------------------------------------------------------------
def container_start(ctx: Ctx) -> Response:
    state = ctx.state
    if len(ctx.req.body or b"") > 7:  # moby postContainersStart: "a non-nil json object is at least 7 characters"
        raise ApiError(400, "starting container with non-empty request body was deprecated since API v1.22 and "
                            "removed in v1.24")
    with state.lock:
        container = path_container(ctx)
        if container.status == "paused":
            raise ApiError(409, "cannot start a paused container, try unpause instead")
        if container.running:
            return empty(304)
        start_container(state, container)
    return empty(204)


def container_stop(ctx: Ctx) -> Response:
    state = ctx.state
    sig = parse_signal(ctx.q("signal"), 0) if ctx.q("signal") else None
    with state.lock:
        container = path_container(ctx)
        if not container.running:
            return empty(304)
    stop_container(state, container, sig, ctx.qint("t"))
    return empty(204)


def container_restart(ctx: Ctx) -> Response:
    state = ctx.state
    with state.lock:
        container = path_container(ctx)
        running = container.running
    if running:
        stop_container(state, container, None, ctx.qint("t"))
    with state.lock:
        if container.removed:
            raise ApiError(404, f"No such container: {ctx.params['id']}")
        start_container(state, container)
        state.emit("container", "restart", container.id, container.attrs(state))
    return empty(204)


def container_kill(ctx: Ctx) -> Response:
    state = ctx.state
    sig = parse_signal(ctx.q("signal"), 9)
    with state.lock:
        container = path_container(ctx)
        if not container.running:
            raise ApiError(409, f"Container {container.id} is not running")
        state.emit("container", "kill", container.id, container.attrs(state, signal=str(sig)))
    if sig in (17, 18, 23, 28):  # SIGCHLD, SIGCONT, SIGURG, SIGWINCH do not terminate
        return empty(204)
    signal_container(state, container, sig)
    return empty(204)


def container_pause(ctx: Ctx) -> Response:
    with ctx.state.lock:
        container = path_container(ctx)
        if container.status == "paused":
            raise ApiError(409, f"Container {container.id} is already paused")
        if container.status != "running":
            raise ApiError(409, f"Container {container.id} is not running")
        container.status = "paused"
        if container.control:
            container.control.pause()
        ctx.state.emit("container", "pause", container.id, container.attrs(ctx.state))
    return empty(204)


def container_unpause(ctx: Ctx) -> Response:
    with ctx.state.lock:
        container = path_container(ctx)
        if container.status != "paused":
            raise ApiError(409, f"Container {container.id} is not paused")
        container.status = "running"
        if container.control:
            container.control.resume()
        ctx.state.emit("container", "unpause", container.id, container.attrs(ctx.state))
    return empty(204)


def container_wait(ctx: Ctx) -> Response:
    condition = ctx.q("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise ApiError(400, f"invalid condition: {condition!r}")
    state = ctx.state
    with state.lock:
        container = path_container(ctx)
        exits = container.exits

    def done() -> bool:
        if condition == "removed":
            return container.removed
        if condition == "next-exit":
            return container.exits > exits or container.removed
        return not container.running or container.removed

    def answer() -> dict[str, Any]:
        body: dict[str, Any] = {"StatusCode": container.exit_code}
        if ctx.engine.nulls == "engine":  # dockerd before 23 sends the nil Error as null (a streamed body)
            body["Error"] = None
        if container.error:
            body["Error"] = {"Message": container.error}
        return body

    with state.lock:
        if done():
            # Nothing to wait for: the answer is complete at once (a plain body, which faults can edit).
            return json_response(answer())

    def gen() -> Iterator[bytes]:
        yield b""  # headers go out now, as the Engine flushes them before waiting
        with state.cond:
            while not done() and not state.closing:
                state.cond.wait(0.5)
                if not ctx.req.alive():
                    return
            body = answer()
        yield json_bytes(body)
    return stream_response(gen())


def container_delete(ctx: Ctx) -> Response:
    state = ctx.state
    force = ctx.qbool("force")
    with state.lock:
        container = path_container(ctx)
        if container.running and not force:
            if container.status == "paused":
                raise ApiError(409, f"You cannot remove a paused container {container.id}. Unpause and then stop the "
                                    "container before attempting removal or force remove")
            raise ApiError(409, f"You cannot remove a running container {container.id}. Stop the container before "
                                "attempting removal or force remove")
        if ctx.qbool("link"):
            raise ApiError(400, "Conflict, cannot remove the default link name of the container")
        if ctx.fault("container-delete-keeps"):
            return empty(204)
        running = container.running
    if running:
        state.emit("container", "kill", container.id, container.attrs(state, signal="9"))
        signal_container(state, container, 9)
    with state.lock:
        remove_container(state, container, volumes=ctx.qbool("v"))
    return empty(204)


def container_rename(ctx: Ctx) -> Response:
    new = ctx.q("name") or ""
    if not new or not NAME_RE.match(new):
        raise ApiError(400, f"Invalid container name ({new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    state = ctx.state
    with state.lock:
        container = path_container(ctx)
        target = "/" + new.lstrip("/")
        clash = next((c for c in state.containers.values() if c.name == target), None)
        if clash is not None and clash is not container:
            raise ApiError(409, f'Conflict. The container name "{target}" is already in use by container '
                                f'"{clash.id}". You have to remove (or rename) that container to be able to reuse '
                                "that name.")
        old = container.name
        container.name = target
        for ep in state.networks.values():
            if container.id in ep.endpoints:
                ep.endpoints[container.id]["Name"] = new
        state.emit("container", "rename", container.id, container.attrs(state, oldName=old))
    return empty(204)


UPDATABLE = ("BlkioWeight", "CpuShares", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime",
             "CpusetCpus", "CpusetMems", "Memory", "MemoryReservation", "MemorySwap", "KernelMemory", "NanoCpus",
             "PidsLimit", "RestartPolicy", "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
             "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "Devices", "DeviceCgroupRules", "DeviceRequests",
             "Ulimits", "CpuCount", "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth", "OomKillDisable",
             "MemorySwappiness", "CgroupParent")


def container_update(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    with ctx.state.lock:
        container = path_container(ctx)
        policy = (body.get("RestartPolicy") or {}).get("Name")
        if policy and policy not in ("", "no", "always", "unless-stopped", "on-failure"):
            raise ApiError(400, f"invalid restart policy '{policy}'")
        if container.host_config.get("AutoRemove") and policy not in (None, "", "no"):
            raise ApiError(400, "Restart policy cannot be updated because AutoRemove is enabled for the container")
        for key in UPDATABLE:
            if key in body and body[key] is not None:
                container.host_config[key] = body[key]
        ctx.state.emit("container", "update", container.id, container.attrs(ctx.state))
    return json_response({"Warnings": None})  # a nil slice: dockerd 20.10 sends null


def container_resize(ctx: Ctx) -> Response:
    with ctx.state.lock:
        container = path_container(ctx)
        h, w = ctx.qint("h", 0), ctx.qint("w", 0)
        if not container.running:
            raise ApiError(409, f"Container {container.id} is not running")
        container.host_config["ConsoleSize"] = [h, w]
        ctx.state.emit("container", "resize", container.id, container.attrs(ctx.state, height=str(h), width=str(w)))
    return Response(200, b"")  # dockerd 20.10: an empty 200, no Content-Type


def container_prune(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("label", "label!", "until"))
    until = [parse_time(v) for v in filters.get("until", [])]
    deleted = []
    reclaimed = 0
    state = ctx.state
    with state.lock:
        for c in list(state.containers.values()):
            if c.running:
                continue
            if not prune_selects(filters, c.labels, c.created_ns / 1e9, until):
                continue
            reclaimed += max(c.fs.size() - c.base_fs.size(), 0)
            remove_container(state, c)
            deleted.append(c.id)
        state.emit("container", "prune", "", {"reclaimed": str(reclaimed)})
    return json_response({"ContainersDeleted": deleted, "SpaceReclaimed": reclaimed})


# --- inspection of the running container -----------------------------------------------------
def container_top(ctx: Ctx) -> Response:
    with ctx.state.lock:
        container = path_container(ctx)
        if not container.running:
            raise ApiError(409, f"Container {container.id} is not running")
        started = time.strftime("%H:%M", time.gmtime(container.started_ns / 1e9))
        cmd = " ".join(container.argv)
        procs = [["root", str(container.pid), str(container.pid - 20), "0", started, "?", "00:00:00", cmd]]
        for exec_id in container.exec_ids:
            ex = ctx.state.execs.get(exec_id)
            if ex is not None and ex.running:
                procs.append(["root", str(ex.pid), str(container.pid - 20), "0", started, "?", "00:00:00",
                              " ".join(ex.argv)])
    ps_args = ctx.q("ps_args") or "-ef"
    titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    if "aux" in ps_args:
        titles = ["USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "TTY", "STAT", "START", "TIME", "COMMAND"]
        procs = [[p[0], p[1], "0.0", "0.0", "1000", "500", "?", "Ss", p[4], "0:00", p[7]] for p in procs]
    return json_response({"Titles": titles, "Processes": procs})


STATS_INTERVAL = 0.05  # an Engine samples once a second; the fake need not make clients wait


def container_stats(ctx: Ctx) -> Response:
    state = ctx.state
    with state.lock:
        container = path_container(ctx)
    stream = ctx.qbool("stream", True)
    one_shot = ctx.qbool("one-shot") and ctx.at_least("1.41")
    if not stream:
        with state.lock:
            return json_response(stats_sample(container, 1 if not one_shot else 0, one_shot, ctx.version))  # _conform

    def gen() -> Iterator[bytes]:
        n = 0
        previous = ZERO_TIME
        while True:
            with state.lock:
                running = container.running
                record = stats_sample(container, n, False, ctx.version, ctx.nil([]))
            if running and n:
                record["preread"] = previous  # as the Engine: the previous sample's read
            previous = record["read"]
            yield json_bytes(record)
            n += 1
            if not running or container.removed or state.closing or not ctx.req.alive():
                return
            deadline = time.time() + STATS_INTERVAL
            while time.time() < deadline and not state.closing:
                with state.cond:
                    state.cond.wait(max(0.0, deadline - time.time()))
                if not container.running:
                    break
    return stream_response(gen(), content_type=None)  # moby sets the type only for stream=false (errata)


RAW_STREAM = RAW


# The routes this module serves, in match order (conformance/fake/routes.py builds the router).
ROUTES: tuple[Route, ...] = (
    route("POST", "/containers/create", "ContainerCreate", container_create),
    route("GET", "/containers/{id}/json", "ContainerInspect", container_inspect),
    route("GET", "/containers/json", "ContainerList", container_list),
    route("POST", "/containers/{id}/start", "ContainerStart", container_start),
    route("POST", "/containers/{id}/stop", "ContainerStop", container_stop),
    route("POST", "/containers/{id}/restart", "ContainerRestart", container_restart),
    route("POST", "/containers/{id}/kill", "ContainerKill", container_kill),
    route("POST", "/containers/{id}/pause", "ContainerPause", container_pause),
    route("POST", "/containers/{id}/unpause", "ContainerUnpause", container_unpause),
    route("POST", "/containers/{id}/wait", "ContainerWait", container_wait),
    route("DELETE", "/containers/{id}", "ContainerDelete", container_delete),
    route("POST", "/containers/{id}/rename", "ContainerRename", container_rename),
    route("POST", "/containers/{id}/update", "ContainerUpdate", container_update),
    route("POST", "/containers/{id}/resize", "ContainerResize", container_resize),
    route("POST", "/containers/prune", "ContainerPrune", container_prune),
    route("GET", "/containers/{id}/top", "ContainerTop", container_top),
    route("GET", "/containers/{id}/stats", "ContainerStats", container_stats),
)
