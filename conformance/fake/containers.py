"""Containers: records, lifecycle (create/start/stop/kill/pause/wait/remove), inspect/list, logs,
attach (hijacked and websocket), top/stats/changes/export/archive, rename/update/resize, prune.

A running container is a thread executing the command language (cmdlang) against the container's
own filesystem; its output goes to the log, which logs, attach and wait all read.
"""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import networks as netmod
from . import volumes as volmod
from .cmdlang import CommandNotFound, Control, Pipe, ProcessIO, Shell, parse_signal
from .fs import FS, norm
from .routing import Route, route
from .streams import RAW
from .util import (
    ZERO_TIME,
    Version,
    human_duration,
    match_labels,
    new_id,
    now_ns,
    parse_filters,
    parse_time,
    prune_selects,
    rfc3339,
    truthy,
)
from .wire import ApiError, Headers, Response, empty, json_bytes, json_response, stream_response

if TYPE_CHECKING:
    from .engine import Ctx
    from .state import State

_NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_pids = itertools.count(1000)
_ADJ = ("admiring", "brave", "clever", "dazzling", "eager", "festive", "gallant", "happy", "jolly", "keen", "lucid",
        "modest", "nifty", "optimistic", "quirky", "relaxed", "serene", "trusting", "vibrant", "wizardly")
_NOUN = ("archimedes", "babbage", "curie", "darwin", "euler", "feynman", "gauss", "hopper", "kepler", "lovelace",
         "meitner", "newton", "pascal", "ritchie", "shannon", "tesla", "turing", "wozniak", "yonath", "zuse")
ACTIVE = ("running", "paused", "restarting")


@dataclass
class LogEntry:
    stream: int
    ns: int
    data: bytes


@dataclass
class Container:
    id: str
    name: str
    created_ns: int
    image_id: str
    config: dict[str, Any]
    host_config: dict[str, Any]
    fs: FS
    base_fs: FS
    argv: list[str]
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    status: str = "created"
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    started_ns: int = 0
    finished_ns: int = 0
    restart_count: int = 0
    logs: list[LogEntry] = field(default_factory=list)
    stdin: Pipe | None = None
    control: Control | None = None
    thread: threading.Thread | None = None
    exits: int = 0  # number of exits so far: wait?condition=next-exit watches it
    removed: bool = False
    exec_ids: list[str] = field(default_factory=list)
    stdin_attached: bool = False
    health: dict[str, Any] | None = None  # State.Health while probes run (_probe_health)

    @property
    def running(self) -> bool:
        return self.status in ACTIVE

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    @property
    def short(self) -> str:
        return self.id[:12]

    @property
    def labels(self) -> dict[str, str]:
        return self.config.get("Labels") or {}

    def attrs(self, state: State, **extra: str) -> dict[str, str]:
        image = self.config.get("Image", "")
        return {**self.labels, "image": image, "name": self.name.lstrip("/"), **extra}


# --- lookup ----------------------------------------------------------------------------------
def find_container(state: State, ref: str) -> Container | None:
    if not ref:
        return None
    if ref in state.containers:
        return state.containers[ref]
    name = "/" + ref.lstrip("/")
    for container in state.containers.values():
        if container.name == name:
            return container
    hits = [c for c in state.containers.values() if c.id.startswith(ref)]
    return hits[0] if len(hits) == 1 else None


def get_container(state: State, ref: str) -> Container:
    container = find_container(state, ref)
    if container is None:
        raise ApiError(404, f"No such container: {ref}")
    return container


def _ctr(ctx: Ctx) -> Container:
    return get_container(ctx.state, ctx.params["id"])


def _random_name(state: State) -> str:
    taken = {c.name for c in state.containers.values()}
    while True:
        name = f"/{random.choice(_ADJ)}_{random.choice(_NOUN)}"
        if name not in taken:
            return name
        name += str(random.randint(0, 99))
        if name not in taken:
            return name


# --- output ----------------------------------------------------------------------------------
def _writer(state: State, container: Container):
    def write(fd: int, data: bytes) -> None:
        if not data:
            return
        if container.tty:
            fd = 1
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        with state.cond:
            ns = now_ns()
            for line in data.splitlines(keepends=True):
                container.logs.append(LogEntry(fd, ns, line))
            state.cond.notify_all()
    return write


def write_stdin(state: State, container: Container, data: bytes) -> None:
    """Client input: to the process's stdin, echoed back on a TTY like a terminal would."""
    if container.stdin is None:
        return
    container.stdin.write(data)
    if container.tty:
        _writer(state, container)(1, data)


# --- lifecycle -------------------------------------------------------------------------------
def _env_map(env: list[str] | None) -> dict[str, str]:
    out = {}
    for item in env or []:
        key, sep, value = item.partition("=")
        if sep:
            out[key] = value
    return out


def start_container(state: State, container: Container) -> None:
    """Start the main process (caller holds the lock)."""
    env = _env_map(container.config.get("Env"))
    shell_probe = Shell(ProcessIO(lambda fd, d: None, None, Control(), container.fs, env,
                                  container.config.get("WorkingDir") or "/"))
    argv = container.argv
    if not argv or (argv[0] not in ("exit", "export", "cd", ":") and shell_probe.lookup(argv[0]) is None):
        missing = argv[0] if argv else ""
        container.exit_code = 127
        container.error = (f"failed to create task for container: failed to create shim task: OCI runtime create "
                           f"failed: runc create failed: unable to start container process: exec: \"{missing}\": "
                           "executable file not found in $PATH: unknown")
        state.emit("container", "die", container.id, container.attrs(state, exitCode="127"))
        raise ApiError(400, container.error)
    container.control = Control()
    restarted = container.started_ns != 0
    if container.config.get("OpenStdin") and (container.stdin is None or (container.stdin.closed and restarted)):
        # Made at create so input attached before the first start is kept (even once closed).
        container.stdin = Pipe()
    container.host_config.setdefault("Runtime", "runc")  # see container_create
    container.status = "running"
    container.pid = next(_pids)
    container.started_ns = now_ns()
    container.finished_ns = 0
    container.exit_code = 0
    container.error = ""
    netmod.attach_running(state, container)
    _write_hosts(state, container)
    _mount_volumes(state, container)
    for mount in container.mounts:
        if mount.get("Type") == "volume":
            state.emit("volume", "mount", mount["Name"], {"container": container.id, "destination":
                                                          mount["Destination"], "driver": "local",
                                                          "propagation": "", "read/write": str(mount["RW"]).lower()})
    state.emit("container", "start", container.id, container.attrs(state))
    control, stdin = container.control, container.stdin
    env = _env_map(container.config.get("Env"))
    thread = threading.Thread(target=_run_main, args=(state, container, control, stdin, env),
                              name=f"ctr-{container.short}", daemon=True)
    container.thread = thread
    thread.start()
    _start_probes(state, container, control)


def _probe_argv(check: dict[str, Any]) -> list[str]:
    test = list(check.get("Test") or [])
    if test[:1] == ["CMD-SHELL"]:
        return ["sh", "-c", " ".join(test[1:])]
    return test[1:] if test[:1] == ["CMD"] else test


def _start_probes(state: State, container: Container, control: Control) -> None:
    """Run the healthcheck as the Engine does: every Interval (30 s by default), Retries failures in a row
    (3 by default) make the container unhealthy, one success healthy; State.Health keeps the last 5 probes
    (moby daemon/health.go; dockerd 20.10 observed: `exit 1` every 1 s with 1 retry -> unhealthy)."""
    check = container.config.get("Healthcheck") or {}
    if check.get("Test") in (None, [], ["NONE"]):
        container.health = None
        return
    container.health = {"Status": "starting", "FailingStreak": 0, "Log": []}
    interval = (check.get("Interval") or 30_000_000_000) / 1e9
    retries = check.get("Retries") or 3

    def probe() -> None:
        while True:
            deadline = time.monotonic() + interval
            while time.monotonic() < deadline:
                if container.control is not control or not container.running:
                    return
                time.sleep(min(0.1, interval))
            output: list[bytes] = []
            started = now_ns()
            io = ProcessIO(lambda fd, data, out=output: out.append(data), None, Control(), container.fs,
                           _env_map(container.config.get("Env")), container.config.get("WorkingDir") or "/")
            try:
                code = Shell(io).run(_probe_argv(check))
            except CommandNotFound:
                code = 127
            with state.cond:
                if container.control is not control or container.health is None:
                    return
                health = container.health
                entry = {"Start": rfc3339(started), "End": rfc3339(now_ns()), "ExitCode": code,
                         "Output": b"".join(output).decode(errors="replace")}
                health["Log"] = [*health["Log"], entry][-5:]
                health["FailingStreak"] = 0 if code == 0 else health["FailingStreak"] + 1
                status = "healthy" if code == 0 else ("unhealthy" if health["FailingStreak"] >= retries
                                                      else health["Status"])
                if status != health["Status"]:
                    health["Status"] = status
                    state.emit("container", f"health_status: {status}", container.id, container.attrs(state))
    threading.Thread(target=probe, name=f"health-{container.short}", daemon=True).start()


def _write_hosts(state: State, container: Container) -> None:
    """/etc/hosts as the Engine writes it at start: localhost, ExtraHosts, links (alias, then the linked
    container's id and name), and the container's own address and hostname (dockerd 20.10 observed)."""
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", "fe00::0\tip6-localnet",
             "ff00::0\tip6-mcastprefix", "ff02::1\tip6-allnodes", "ff02::2\tip6-allrouters"]
    for item in container.host_config.get("ExtraHosts") or []:
        name, _, address = str(item).partition(":")
        lines.append(f"{address}\t{name}")
    for link in container.host_config.get("Links") or []:
        target, _, alias = str(link).partition(":")
        peer = next((c for c in state.containers.values() if c.name.lstrip("/") == target.lstrip("/")
                     or c.id.startswith(target)), None)
        address = next((ep.get("IPAddress") for ep in (peer.networks.values() if peer else ())
                        if ep.get("IPAddress")), "")
        if peer is not None and address:
            lines.append(f"{address}\t{alias.rsplit('/', 1)[-1] or peer.name.lstrip('/')} {peer.short} "
                         f"{peer.name.lstrip('/')}")
    own = next((ep.get("IPAddress") for ep in container.networks.values() if ep.get("IPAddress")), "")
    if own:
        lines.append(f"{own}\t{container.config.get('Hostname') or container.short}")
    container.fs.write("/etc/hosts", ("\n".join(lines) + "\n").encode())
    # The Engine bind-mounts the file: it is no change of the container's layer (diff, size, commit)
    container.base_fs.entries["/etc/hosts"] = container.fs.entries["/etc/hosts"]


def _mount_volumes(state: State, container: Container) -> None:
    """A volume's files appear at its destination (a new, empty volume first takes what the image has there,
    as the Engine copies it up).  The fake keeps one copy per container: what the container wrote goes back
    to the volume when it stops (`_unmount_volumes`), so the next container sees it."""
    for mount in container.mounts:
        volume = state.volumes.get(mount.get("Name") or "") if mount.get("Type") == "volume" else None
        if volume is None:
            continue
        if len(volume.data.entries) <= 1:
            volume.data = container.fs.subtree(mount["Destination"])
        container.fs.graft(mount["Destination"], volume.data.copy())


def _unmount_volumes(state: State, container: Container) -> None:
    for mount in container.mounts:
        volume = state.volumes.get(mount.get("Name") or "") if mount.get("Type") == "volume" else None
        if volume is not None and mount.get("RW", True):
            volume.data = container.fs.subtree(mount["Destination"])


def _run_main(state: State, container: Container, control: Control, stdin: Pipe | None, env: dict[str, str]) -> None:
    io = ProcessIO(_writer(state, container), stdin, control, container.fs, env,
                   container.config.get("WorkingDir") or "/", container.config.get("Hostname") or container.short)
    try:
        code = Shell(io).run(list(container.argv))
    except CommandNotFound:
        code = 127
    except Exception:  # noqa: BLE001 - a crashing interpreter is a crashing process
        code = 255
    _exited(state, container, control, code)


def _exited(state: State, container: Container, control: Control, code: int) -> None:
    from .execs import kill_execs
    with state.cond:
        if container.control is not control or container.removed:
            return
        container.status = "exited"
        container.exit_code = code
        container.finished_ns = now_ns()
        container.pid = 0
        container.exits += 1
        container.control = None
        if container.stdin:
            container.stdin.close()
        netmod.detach_running(state, container)
        _unmount_volumes(state, container)
        kill_execs(state, container)
        state.emit("container", "die", container.id, container.attrs(state, exitCode=str(code)))
        for mount in container.mounts:
            if mount.get("Type") == "volume":
                state.emit("volume", "unmount", mount["Name"], {"container": container.id, "driver": "local"})
        state.cond.notify_all()
        if container.host_config.get("AutoRemove"):
            _remove(state, container, volumes=True)


def signal_container(state: State, container: Container, signal: int, wait: bool = True) -> None:
    """Deliver a terminating signal and (optionally) wait for the process to exit."""
    control = container.control
    thread = container.thread
    if control is None:
        return
    control.kill(signal)
    if wait and thread is not None and thread is not threading.current_thread():
        # The process thread needs the lock to record its exit, so never join while holding it.
        thread.join(5)


def stop_container(state: State, container: Container, signal: int | None = None,
                   timeout: float | None = None) -> None:
    """The Engine's stop: the stop signal, then SIGKILL once `timeout` seconds passed (default: the container's
    StopTimeout, else 10).  The main process is PID 1 of its namespace, which the kernel spares any signal
    it has no handler for: the fake's commands install none, so only SIGKILL ends them, unless an init
    (HostConfig.Init) stands in front and passes the signal on (dockerd 20.10: busybox `sleep` stopped with
    -t 1 exits 137, with --init 143)."""
    sig = signal or parse_signal(container.config.get("StopSignal"), 15)
    state.emit("container", "kill", container.id, container.attrs(state, signal=str(sig)))
    if sig == 9 or container.host_config.get("Init"):
        signal_container(state, container, sig)
    else:
        wait = timeout if timeout is not None else container.config.get("StopTimeout")
        thread = container.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(10 if wait is None else max(float(wait), 0))  # exits only if it ends by itself
        if container.running:
            state.emit("container", "kill", container.id, container.attrs(state, signal="9"))
            signal_container(state, container, 9)
    state.emit("container", "stop", container.id, container.attrs(state))


def _remove(state: State, container: Container, volumes: bool = False) -> None:
    if container.removed:
        return
    container.removed = True
    state.containers.pop(container.id, None)
    for exec_id in [i for i, e in state.execs.items() if e.container_id == container.id]:  # ended ones too
        state.execs.pop(exec_id, None)
    for net in state.networks.values():
        net.endpoints.pop(container.id, None)
    state.emit("container", "destroy", container.id, container.attrs(state))
    if volumes:
        for mount in container.mounts:
            volume = state.volumes.get(mount.get("Name", ""))
            if volume is not None and volume.anonymous and not volmod.users(state, volume):
                volmod.remove(state, volume)
    state.cond.notify_all()


def shutdown_all(state: State) -> None:
    with state.lock:
        controls = [c.control for c in state.containers.values() if c.control]
        controls += [e.control for e in state.execs.values() if getattr(e, "control", None)]
    for control in controls:
        control.kill(9)


# --- create ----------------------------------------------------------------------------------
def _mounts_for(state: State, config: dict[str, Any], host: dict[str, Any], image_config: dict[str, Any],
                container_id: str) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = []
    taken: set[str] = set()
    for bind in host.get("Binds") or []:
        parts = bind.split(":")
        if len(parts) < 2:
            raise ApiError(400, f"invalid volume specification: '{bind}'")
        source, dest = parts[0], parts[1]
        mode = parts[2] if len(parts) > 2 else ""
        rw = "ro" not in mode.split(",")
        if source.startswith("/"):
            mounts.append({"Type": "bind", "Source": source, "Destination": dest, "Mode": mode, "RW": rw,
                           "Propagation": "rprivate"})
        else:
            volmod.ensure(state, source)
            mounts.append({"Type": "volume", "Name": source, "Source": f"/var/lib/docker/volumes/{source}/_data",
                           "Destination": dest, "Driver": "local", "Mode": mode or "z", "RW": rw, "Propagation": ""})
        taken.add(dest)
    for mount in host.get("Mounts") or []:
        kind = mount.get("Type", "volume")
        dest = mount.get("Target") or mount.get("Destination") or ""
        if kind == "volume":
            opts = mount.get("VolumeOptions") or {}
            volume = volmod.ensure(state, mount.get("Source") or None, not mount.get("Source"), opts.get("Labels"))
            mounts.append({"Type": "volume", "Name": volume.name, "Source":
                           f"/var/lib/docker/volumes/{volume.name}/_data", "Destination": dest, "Driver": "local",
                           "Mode": "z", "RW": not mount.get("ReadOnly"), "Propagation": ""})
        else:
            mounts.append({"Type": kind, "Source": mount.get("Source", ""), "Destination": dest, "Mode": "",
                           "RW": not mount.get("ReadOnly"), "Propagation": "rprivate" if kind == "bind" else ""})
        taken.add(dest)
    for dest in list(image_config.get("Volumes") or {}) + list(config.get("Volumes") or {}):
        if dest in taken:
            continue
        volume = volmod.ensure(state, None, True)
        mounts.append({"Type": "volume", "Name": volume.name, "Source": f"/var/lib/docker/volumes/{volume.name}/_data",
                       "Destination": dest, "Driver": "local", "Mode": "", "RW": True, "Propagation": ""})
        taken.add(dest)
    return mounts


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
    if name and not _NAME_RE.match(name):
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
            from .images import normalize
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
        mounts = _mounts_for(state, config, host, image_config, cid)
        container = Container(cid, _random_name(state) if not name else "/" + name.lstrip("/"), now_ns(), image.id,
                              config, host, fs, image.fs, argv, mounts=mounts)
        mode = host.get("NetworkMode") or "default"
        endpoints = (body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
        net_name = "bridge" if mode == "default" else mode
        if not net_name.startswith("container:"):
            net = netmod.find(state, net_name)
            if net is None:
                raise ApiError(404, f"network {net_name} not found")
            container.networks[net.name] = netmod.endpoint_settings(
                net, endpoints.get(mode) or endpoints.get(net_name) or endpoints.get(net.name), ctx.version)
        for extra_name, extra_cfg in endpoints.items():
            if extra_name in (net_name, mode) or extra_name in container.networks:
                continue
            extra = netmod.find(state, extra_name)
            if extra is None:
                raise ApiError(404, f"network {extra_name} not found")
            container.networks[extra.name] = netmod.endpoint_settings(extra, extra_cfg, ctx.version)
        if config["OpenStdin"]:
            container.stdin = Pipe()
        state.containers[cid] = container
        state.emit("container", "create", cid, container.attrs(state))
    warnings: list[str] = []
    return json_response({"Id": cid, "Warnings": warnings}, 201)


# --- inspect / list --------------------------------------------------------------------------
def _ports(container: Container) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    exposed = dict(container.config.get("ExposedPorts") or {})
    bindings = container.host_config.get("PortBindings") or {}
    for port in bindings:
        exposed.setdefault(port, {})
    inspect: dict[str, Any] = {}
    summary: list[dict[str, Any]] = []
    for port in sorted(exposed):
        number, _, proto = port.partition("/")
        proto = proto or "tcp"
        bound = bindings.get(port)
        if not bound and container.host_config.get("PublishAllPorts"):
            bound = [{"HostIp": "", "HostPort": str(32768 + int(number) % 1000)}]
        if container.running and bound:
            inspect[port] = [{"HostIp": b.get("HostIp") or "0.0.0.0", "HostPort": b.get("HostPort") or
                              str(32768 + int(number) % 1000)} for b in bound]
            for b in inspect[port]:
                summary.append({"IP": b["HostIp"], "PrivatePort": int(number), "PublicPort": int(b["HostPort"]),
                                "Type": proto})
        else:
            inspect[port] = None
            summary.append({"PrivatePort": int(number), "Type": proto})
    return inspect, summary


def _status_text(container: Container) -> str:
    now = time.time()
    if container.status == "running":
        return f"Up {human_duration(now - container.started_ns / 1e9)}"
    if container.status == "paused":
        return f"Up {human_duration(now - container.started_ns / 1e9)} (Paused)"
    if container.status == "exited":
        return f"Exited ({container.exit_code}) {human_duration(now - container.finished_ns / 1e9)} ago"
    if container.status == "restarting":
        return "Restarting"
    return "Created"


def _mount_points(container: Container) -> list[dict[str, Any]]:
    out = []
    for m in container.mounts:
        item = {"Type": m["Type"], "Source": m.get("Source", ""), "Destination": m["Destination"],
                "Mode": m.get("Mode", ""), "RW": m.get("RW", True), "Propagation": m.get("Propagation", "")}
        if m["Type"] == "volume":
            item["Name"] = m["Name"]
            item["Driver"] = m.get("Driver", "local")
        out.append(item)
    return out


def health_status(c: Container) -> str:
    """As the Engine: "none" without a healthcheck; else what the probes found ("starting" until the first)."""
    check = c.config.get("Healthcheck") or {}
    if check.get("Test") in (None, [], ["NONE"]):
        return "none"
    if c.health is None:
        return "unhealthy" if c.status not in ("running", "paused") else "starting"
    return str(c.health["Status"])


def _endpoints(c: Container, version: Version) -> dict[str, dict[str, Any]]:
    """A container's endpoint settings as that API version has them (DNSNames exists from 1.44)."""
    out = {name: dict(ep) for name, ep in c.networks.items()}
    for name, ep in out.items():
        if version < (1, 44):
            ep.pop("DNSNames", None)
        if version < (1, 45) and name not in ("bridge", "host", "none") and c.short not in (ep.get("Aliases") or []):
            # Before 1.45 the Engine lists the container's short id among its aliases on a user-defined network
            # (dockerd 20.10 observed; from 1.45 it is in DNSNames only).
            ep["Aliases"] = [*(ep.get("Aliases") or []), c.short]
    return out


def inspect_json(state: State, c: Container, version: Version, size: bool = False) -> dict[str, Any]:
    ports, _ = _ports(c)
    base = f"/var/lib/docker/containers/{c.id}"
    st = {"Status": c.status, "Running": c.status in ("running", "paused"), "Paused": c.status == "paused",
          "Restarting": c.status == "restarting", "OOMKilled": False, "Dead": c.status == "dead", "Pid": c.pid,
          "ExitCode": c.exit_code, "Error": c.error,
          "StartedAt": rfc3339(c.started_ns) if c.started_ns else ZERO_TIME,
          "FinishedAt": rfc3339(c.finished_ns) if c.finished_ns else ZERO_TIME}
    if health_status(c) != "none":
        health = c.health or {}
        st["Health"] = {"Status": health_status(c), "FailingStreak": health.get("FailingStreak", 0),
                        "Log": [dict(entry) for entry in health.get("Log", [])]}
    primary = next(iter(c.networks.values()), {})
    net_settings: dict[str, Any] = {
        "Bridge": "", "SandboxID": c.id[::-1] if c.running else "", "HairpinMode": False,
        "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "Ports": ports,
        "SandboxKey": f"/var/run/docker/netns/{c.id[::-1][:12]}" if c.running else "",
        "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
        "EndpointID": primary.get("EndpointID", "") if "bridge" in c.networks else "",
        "Gateway": primary.get("Gateway", "") if "bridge" in c.networks else "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "IPAddress": primary.get("IPAddress", "") if "bridge" in c.networks else "",
        "IPPrefixLen": primary.get("IPPrefixLen", 0) if "bridge" in c.networks else 0, "IPv6Gateway": "",
        "MacAddress": primary.get("MacAddress", "") if "bridge" in c.networks else "",
        "Networks": _endpoints(c, version),
    }
    if version >= (1, 44):
        for key in ("HairpinMode", "LinkLocalIPv6Address", "LinkLocalIPv6PrefixLen", "SecondaryIPAddresses",
                    "SecondaryIPv6Addresses"):
            net_settings.pop(key, None)
    if version >= (1, 52):
        for key in ("Bridge", "EndpointID", "Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPAddress",
                    "IPPrefixLen", "IPv6Gateway", "MacAddress"):
            net_settings.pop(key, None)
    host = dict(c.host_config)
    if version < (1, 42):  # dockerd 20.10 answers them (ignored from 1.42, as moby's router says)
        host.setdefault("KernelMemory", 0)
        host.setdefault("KernelMemoryTCP", 0)
    out: dict[str, Any] = {
        "Id": c.id, "Created": rfc3339(c.created_ns), "Path": c.argv[0] if c.argv else "", "Args": c.argv[1:],
        "State": st, "Image": c.image_id, "ResolvConfPath": f"{base}/resolv.conf", "HostnamePath": f"{base}/hostname",
        "HostsPath": f"{base}/hosts", "LogPath": f"{base}/{c.id}-json.log", "Name": c.name,
        "RestartCount": c.restart_count, "Driver": "overlay2", "Platform": "linux", "MountLabel": "",
        "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": list(c.exec_ids) or None, "HostConfig": host,
        "GraphDriver": {"Name": "overlay2", "Data": {
            "LowerDir": f"/var/lib/docker/overlay2/{c.short}-init/diff",
            "MergedDir": f"/var/lib/docker/overlay2/{c.short}/merged",
            "UpperDir": f"/var/lib/docker/overlay2/{c.short}/diff",
            "WorkDir": f"/var/lib/docker/overlay2/{c.short}/work"}},
        "Mounts": _mount_points(c), "Config": dict(c.config), "NetworkSettings": net_settings,
    }
    if size:
        out["SizeRw"] = c.fs.size() - c.base_fs.size() if c.fs.size() >= c.base_fs.size() else 0
        out["SizeRootFs"] = c.fs.size()
    if version >= (1, 50):
        out["ImageManifestDescriptor"] = None
        out.pop("ImageManifestDescriptor")
    return out


def summary_json(state: State, c: Container, version: Version, size: bool = False) -> dict[str, Any]:
    _, ports = _ports(c)
    args = [f"'{a}'" if " " in a else a for a in c.argv[1:]]
    command = " ".join([c.argv[0], *args]) if c.argv else ""
    image = c.config.get("Image", "")
    if c.image_id not in state.images.images:
        image = c.image_id
    out: dict[str, Any] = {
        "Id": c.id, "Names": [c.name], "Image": image, "ImageID": c.image_id, "Command": command,
        "Created": c.created_ns // 1_000_000_000, "Ports": ports, "Labels": dict(c.labels), "State": c.status,
        "Status": _status_text(c), "HostConfig": {"NetworkMode": c.host_config.get("NetworkMode", "default")},
        "NetworkSettings": {"Networks": _endpoints(c, version)},
        "Mounts": _mount_points(c),
    }
    if size:
        written = max(c.fs.size() - c.base_fs.size(), 0)
        if written:  # moby types.Container: SizeRw and SizeRootFs are omitempty
            out["SizeRw"] = written
        out["SizeRootFs"] = c.fs.size()
    for ep in out["NetworkSettings"]["Networks"].values():
        ep["Aliases"] = None  # the list's summary endpoints carry no aliases (dockerd 20.10: null)
    return out


def container_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        return json_response(inspect_json(ctx.state, _ctr(ctx), ctx.version, ctx.qbool("size")))


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
               for p in _ports(c)[1])


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
        container = _ctr(ctx)
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
        container = _ctr(ctx)
        if not container.running:
            return empty(304)
    stop_container(state, container, sig, ctx.qint("t"))
    return empty(204)


def container_restart(ctx: Ctx) -> Response:
    state = ctx.state
    with state.lock:
        container = _ctr(ctx)
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
        container = _ctr(ctx)
        if not container.running:
            raise ApiError(409, f"Container {container.id} is not running")
        state.emit("container", "kill", container.id, container.attrs(state, signal=str(sig)))
    if sig in (17, 18, 23, 28):  # SIGCHLD, SIGCONT, SIGURG, SIGWINCH do not terminate
        return empty(204)
    signal_container(state, container, sig)
    return empty(204)


def container_pause(ctx: Ctx) -> Response:
    with ctx.state.lock:
        container = _ctr(ctx)
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
        container = _ctr(ctx)
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
        container = _ctr(ctx)
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
        container = _ctr(ctx)
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
        _remove(state, container, volumes=ctx.qbool("v"))
    return empty(204)


def container_rename(ctx: Ctx) -> Response:
    new = ctx.q("name") or ""
    if not new or not _NAME_RE.match(new):
        raise ApiError(400, f"Invalid container name ({new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    state = ctx.state
    with state.lock:
        container = _ctr(ctx)
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
        container = _ctr(ctx)
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
        container = _ctr(ctx)
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
            _remove(state, c)
            deleted.append(c.id)
        state.emit("container", "prune", "", {"reclaimed": str(reclaimed)})
    return json_response({"ContainersDeleted": deleted, "SpaceReclaimed": reclaimed})


# --- inspection of the running container -----------------------------------------------------
def container_top(ctx: Ctx) -> Response:
    with ctx.state.lock:
        container = _ctr(ctx)
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


def container_changes(ctx: Ctx) -> Response:
    with ctx.state.lock:
        container = _ctr(ctx)
        return json_response(container.fs.changes(container.base_fs) or None)  # nil when nothing changed


def container_export(ctx: Ctx) -> Response:
    with ctx.state.lock:
        container = _ctr(ctx)
        data = container.fs.tar("/")
        ctx.state.emit("container", "export", container.id, container.attrs(ctx.state))
    return Response(200, data, Headers([("Content-Type", "application/octet-stream")]))


def _stats(c: Container, n: int, one_shot: bool, version: Version, nil: Any = None) -> dict[str, Any]:
    running = c.running
    now = now_ns()
    total = (n + 1) * 1_000_000 if running else 0
    cpu: dict[str, Any] = {
        "cpu_usage": {"total_usage": total, "usage_in_kernelmode": total // 4, "usage_in_usermode": total // 2},
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    if running:  # zero counters are left out (omitempty), as for an exited container on dockerd 20.10
        cpu.update({"system_cpu_usage": now // 100, "online_cpus": 2})
    if version < (1, 46) and running:
        cpu["cpu_usage"]["percpu_usage"] = [total // 2, total - total // 2]
    # The first precpu sample has no system usage yet: its zero counters are left out (omitempty).
    pre: dict[str, Any] = {"cpu_usage": {"total_usage": max(total - 1_000_000, 0) if n and not one_shot else 0,
                                         "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                           "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    if n and not one_shot and running:
        pre.update({"system_cpu_usage": (now - 200_000_000) // 100, "online_cpus": 2})
        if version < (1, 46):
            used = pre["cpu_usage"]["total_usage"]
            pre["cpu_usage"]["percpu_usage"] = [used // 2, used - used // 2]
    memory: dict[str, Any] = {"usage": 659456, "stats": {"active_anon": 4096, "cache": 237568, "rss": 53248},
                              "limit": 8 << 30} if running else {}
    if running and version < (1, 46):
        memory["max_usage"] = 4079616
    out = {
        "read": rfc3339(now) if running else ZERO_TIME,
        "preread": rfc3339(now - 200_000_000) if (running and n and not one_shot) else ZERO_TIME,
        "pids_stats": {"current": 1 + len(c.exec_ids)} if running else {},
        "blkio_stats": dict.fromkeys(("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
                                      "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
                                      "io_time_recursive", "sectors_recursive"), [] if running else nil),
        "num_procs": 0, "storage_stats": {}, "cpu_stats": cpu, "precpu_stats": pre, "memory_stats": memory,
        "name": c.name, "id": c.id,
    }
    if running:
        out["networks"] = {"eth0": {"rx_bytes": 806 + n, "rx_packets": 9, "rx_errors": 0, "rx_dropped": 0,
                                    "tx_bytes": 0, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0}}
    if version >= (1, 51):
        out["os_type"] = "linux"
    return out


STATS_INTERVAL = 0.05  # an Engine samples once a second; the fake need not make clients wait


def container_stats(ctx: Ctx) -> Response:
    state = ctx.state
    with state.lock:
        container = _ctr(ctx)
    stream = ctx.qbool("stream", True)
    one_shot = ctx.qbool("one-shot") and ctx.at_least("1.41")
    if not stream:
        with state.lock:
            return json_response(_stats(container, 1 if not one_shot else 0, one_shot, ctx.version))  # _conform

    def gen() -> Iterator[bytes]:
        n = 0
        previous = ZERO_TIME
        while True:
            with state.lock:
                running = container.running
                record = _stats(container, n, False, ctx.version, ctx.nil([]))
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


# --- archive ---------------------------------------------------------------------------------
def _archive_path(ctx: Ctx) -> str:
    path = ctx.q("path")
    if not path:
        raise ApiError(400, "path must not be empty")
    return path


def container_archive_head(ctx: Ctx) -> Response:
    path = _archive_path(ctx)
    with ctx.state.lock:
        container = _ctr(ctx)
        cwd = container.config.get("WorkingDir") or "/"
        try:
            header = container.fs.stat_header(norm(path, cwd))
        except ApiError:
            raise ApiError(404, f"Could not find the file {path} in container {ctx.params['id']}") from None
    return Response(200, b"", Headers([("X-Docker-Container-Path-Stat", header)]))


def container_archive_get(ctx: Ctx) -> Response:
    path = _archive_path(ctx)
    with ctx.state.lock:
        container = _ctr(ctx)
        cwd = container.config.get("WorkingDir") or "/"
        full = norm(path, cwd)
        try:
            header = container.fs.stat_header(full)
        except ApiError:
            raise ApiError(404, f"Could not find the file {path} in container {ctx.params['id']}") from None
        follow = path.endswith("/.") or path.endswith("/")
        data = container.fs.tar(container.fs.resolve(full) if follow else full)
        ctx.state.emit("container", "archive-path", container.id, container.attrs(ctx.state, path=path))
    return Response(200, data, Headers([("Content-Type", "application/x-tar"),
                                        ("X-Docker-Container-Path-Stat", header)]))


def container_archive_put(ctx: Ctx) -> Response:
    path = _archive_path(ctx)
    with ctx.state.lock:
        container = _ctr(ctx)
        if container.host_config.get("ReadonlyRootfs"):
            raise ApiError(403, "container rootfs is marked read-only")
        full = norm(path, container.config.get("WorkingDir") or "/")
        entry = container.fs.get(full)
        if entry is None:
            raise ApiError(404, f"Could not find the file {path} in container {ctx.params['id']}")
        if entry.kind != "dir":
            raise ApiError(400, "extraction point is not a directory")
        container.fs.extract(ctx.req.body, full, no_overwrite_dir_non_dir=ctx.qbool("noOverwriteDirNonDir"))
        ctx.state.emit("container", "extract-to-dir", container.id, container.attrs(ctx.state, path=path))
    return Response(200, b"")  # dockerd 20.10: an empty 200, no Content-Type


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
    route("GET", "/containers/{id}/changes", "ContainerChanges", container_changes),
    route("GET", "/containers/{id}/export", "ContainerExport", container_export),
    route("GET", "/containers/{id}/stats", "ContainerStats", container_stats),
    route("HEAD", "/containers/{id}/archive", "ContainerArchiveInfo", container_archive_head),
    route("GET", "/containers/{id}/archive", "ContainerArchive", container_archive_get),
    route("PUT", "/containers/{id}/archive", "PutContainerArchive", container_archive_put),
)
