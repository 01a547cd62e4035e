"""Container records and their lifecycle: lookup by id, name or prefix, start (a thread running the
command language against the container's own filesystem), healthcheck probes, /etc/hosts, volume mounts, exit,
signals, stop, removal.  Handlers live in containers.py."""

from __future__ import annotations

import itertools
import posixpath
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import network_model as netmod
from . import volumes as volmod
from .cmdlang import CommandNotFound, Control, Pipe, ProcessIO, Shell, parse_signal
from .fs import FS, norm
from .util import now_ns, rfc3339
from .wire import ApiError

if TYPE_CHECKING:
    from .engine import Ctx
    from .state import State


NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


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
    # network name -> the MAC address asked for (Config.MacAddress, or an endpoint's MacAddress from 1.44)
    mac_addresses: dict[str, str] = field(default_factory=dict)
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
        if ref and sum(c.id.startswith(ref) for c in state.containers.values()) > 1:
            # moby daemon/container/view.go GetByPrefix: errdefs.InvalidParameter
            raise ApiError(400, f"multiple IDs found with provided prefix: {ref}")
        raise ApiError(404, f"No such container: {ref}")
    return container


def random_name(state: State) -> str:
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
def env_map(env: list[str] | None) -> dict[str, str]:
    out = {}
    for item in env or []:
        key, sep, value = item.partition("=")
        if sep:
            out[key] = value
    return out


def start_container(state: State, container: Container) -> None:
    """Start the main process (caller holds the lock)."""
    env = env_map(container.config.get("Env"))
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
    env = env_map(container.config.get("Env"))
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
                           env_map(container.config.get("Env")), container.config.get("WorkingDir") or "/")
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
    as the Engine copies it up), a bind mount's the fake host's (`state.host_fs`; a missing Binds source is
    made, as the Engine makes it).  The fake keeps one copy per container: what the container wrote goes back
    when it stops (`_unmount_volumes`), so the next container sees it.  Read-only mounts and a read-only root
    file system refuse the processes' writes (`FS.mount_points`)."""
    container.fs.mount_points = {"/": not container.host_config.get("ReadonlyRootfs")}
    for dest, options in (container.host_config.get("Tmpfs") or {}).items():  # an empty file system of its own
        container.fs.mount_points[norm(dest)] = "ro" not in str(options).split(",")
        container.fs.graft(dest, FS())
    for mount in container.mounts:
        dest = mount["Destination"]
        container.fs.mount_points[dest] = bool(mount.get("RW", True))
        if mount.get("Type") == "tmpfs":
            container.fs.graft(dest, FS())
            continue
        if mount.get("Type") == "bind":
            source = state.host_fs.get(mount["Source"])
            if source is None:
                state.host_fs.mkdir(mount["Source"])
            if source is not None and source.kind != "dir":
                container.fs.mkdir(posixpath.dirname(dest))
                container.fs.entries[norm(dest)] = source
            else:
                container.fs.graft(dest, state.host_fs.subtree(mount["Source"]))
            continue
        volume = state.volumes.get(mount.get("Name") or "") if mount.get("Type") == "volume" else None
        if volume is None:
            continue
        if len(volume.data.entries) <= 1:
            volume.data = container.fs.subtree(dest)
        container.fs.graft(dest, volume.data.copy())


def _unmount_volumes(state: State, container: Container) -> None:
    for mount in container.mounts:
        if not mount.get("RW", True):
            continue
        dest = mount["Destination"]
        if mount.get("Type") == "bind":
            source = state.host_fs.get(mount["Source"])
            written = container.fs.get(dest)
            if source is not None and source.kind != "dir" and written is not None:
                state.host_fs.entries[state.host_fs.resolve(mount["Source"])] = written
            elif source is not None:
                state.host_fs.graft(mount["Source"], container.fs.subtree(dest))
            continue
        volume = state.volumes.get(mount.get("Name") or "") if mount.get("Type") == "volume" else None
        if volume is not None:
            volume.data = container.fs.subtree(dest)


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
            remove_container(state, container, volumes=True)


def kill_execs(state: State, container: Container) -> None:
    """A container's exit ends the processes exec'd into it (they live in its namespaces)."""
    for exec_id in container.exec_ids:
        ex = state.execs.get(exec_id)
        if ex is not None and ex.control is not None and ex.running:
            ex.control.kill(9)


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
    it has no handler for: only a shell's `trap` installs one, so SIGKILL ends the others, unless an init
    (HostConfig.Init) stands in front and passes the signal on (dockerd 20.10: busybox `sleep` stopped with
    -t 1 exits 137, with --init 143)."""
    sig = signal or parse_signal(container.config.get("StopSignal"), 15)
    state.emit("container", "kill", container.id, container.attrs(state, signal=str(sig)))
    trapped = container.control is not None and sig in container.control.handled
    if trapped:
        signal_container(state, container, sig, wait=False)
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


def remove_container(state: State, container: Container, volumes: bool = False) -> None:
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


def path_container(ctx: Ctx) -> Container:
    """The container the request path names (`{id}`)."""
    return get_container(ctx.state, ctx.params["id"])


# --- create ----------------------------------------------------------------------------------
PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate")


def mounts_for(state: State, config: dict[str, Any], host: dict[str, Any], image_config: dict[str, Any],
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
            propagation = next((m for m in mode.split(",") if m in PROPAGATIONS), "rprivate")
            mounts.append({"Type": "bind", "Source": norm(source), "Destination": dest, "Mode": mode, "RW": rw,
                           "Propagation": propagation})
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
        elif kind == "bind":
            source = norm(mount.get("Source") or "/")
            if not state.host_fs.exists(source):
                # moby volume/mounts/linux_parser.go validateMountConfig (ContainerCreate, a bad parameter)
                raise ApiError(400, f'invalid mount config for type "bind": bind source path does not exist: {source}')
            propagation = (mount.get("BindOptions") or {}).get("Propagation") or "rprivate"
            mounts.append({"Type": "bind", "Source": source, "Destination": dest, "Mode": "",
                           "RW": not mount.get("ReadOnly"), "Propagation": propagation})
        else:
            mounts.append({"Type": kind, "Source": mount.get("Source", ""), "Destination": dest, "Mode": "",
                           "RW": not mount.get("ReadOnly"), "Propagation": ""})
        taken.add(dest)
    for dest in list(image_config.get("Volumes") or {}) + list(config.get("Volumes") or {}):
        if dest in taken:
            continue
        volume = volmod.ensure(state, None, True)
        mounts.append({"Type": "volume", "Name": volume.name, "Source": f"/var/lib/docker/volumes/{volume.name}/_data",
                       "Destination": dest, "Driver": "local", "Mode": "", "RW": True, "Propagation": ""})
        taken.add(dest)
    return mounts
