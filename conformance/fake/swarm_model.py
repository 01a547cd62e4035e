"""Swarm mode's records and their logic: the swarm, node, service, secret and config objects (Obj), tasks,
the SwarmState an engine's State owns, the default swarm spec, join tokens, version checks, service modes, and
the tasks a service runs (each a thread running the command language against its image's filesystem).
Handlers live in swarm.py (swarm, nodes) and services.py (services, tasks, logs, secrets, configs)."""

from __future__ import annotations

import itertools
import secrets as pysecrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .cmdlang import CommandNotFound, Control, ProcessIO, Shell
from .util import Version, find_by_ref, new_id, now_ns, rfc3339
from .wire import ApiError

if TYPE_CHECKING:
    from .engine import Ctx
    from .state import State

NOT_MANAGER = ("This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this "
               "node to swarm and try again.")
WORKER = ("This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run "
          "this command on a manager node or promote the current node to a manager.")

# The managers of this process's fakes, by the address workers join them at ("IP:2377"): a fake's SwarmJoin
# finds its manager here (swarmkit would dial it).
MANAGERS: dict[str, SwarmState] = {}
_addresses = itertools.count(3)
ALREADY = "This node is already part of a swarm. Use \"docker swarm leave\" to leave this swarm and join another one."


def sid() -> str:
    """A swarmkit object id (25 lowercase letters and digits)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(pysecrets.choice(alphabet) for _ in range(25))


@dataclass
class Obj:
    """A versioned swarm object (node, service, secret, config)."""

    id: str
    spec: dict[str, Any]
    created_ns: int = field(default_factory=now_ns)
    updated_ns: int = field(default_factory=now_ns)
    index: int = 10
    previous: dict[str, Any] | None = None

    def base(self) -> dict[str, Any]:
        return {"ID": self.id, "Version": {"Index": self.index}, "CreatedAt": rfc3339(self.created_ns),
                "UpdatedAt": rfc3339(self.updated_ns), "Spec": self.spec}


@dataclass
class Task:
    id: str
    service_id: str
    slot: int | None
    spec: dict[str, Any]
    created_ns: int = field(default_factory=now_ns)
    updated_ns: int = field(default_factory=now_ns)
    index: int = 10
    state: str = "pending"
    desired: str = "running"
    message: str = "created"
    err: str = ""
    container_id: str = field(default_factory=new_id)
    exit_code: int | None = None
    logs: list[tuple[int, int, bytes]] = field(default_factory=list)
    control: Control | None = None


@dataclass
class Member:
    """Another engine's node in this manager's swarm (a worker that joined)."""

    node: Obj
    hostname: str
    addr: str
    status: str = "ready"  # "down" once it left


class SwarmState:
    def __init__(self, state: State) -> None:
        self.state = state
        self.active = False
        self.host_addr = f"192.168.65.{next(_addresses) % 250 + 3}"  # one per fake: the managers' directory key
        self.reset()

    @property
    def is_manager(self) -> bool:
        return self.active and self.role == "manager"

    @property
    def join_addr(self) -> str:
        return f"{self.addr}:2377"

    def reset(self) -> None:
        if hasattr(self, "addr") and MANAGERS.get(self.join_addr) is self:  # (no addr yet: the first reset)
            del MANAGERS[self.join_addr]
        self.node_id = ""
        self.swarm_id = ""
        self.addr = self.host_addr
        self.role = "manager"
        self.manager: SwarmState | None = None  # a worker's manager
        self.members: dict[str, Member] = {}  # a manager's other nodes
        self.volumes: dict[str, Any] = {}  # cluster volumes by ID (volumes.py ClusterVolume)
        self.obj: Obj | None = None
        self.node: Obj | None = None
        self.services: dict[str, Obj] = {}
        self.tasks: dict[str, Task] = {}
        self.secrets: dict[str, Obj] = {}
        self.configs: dict[str, Obj] = {}
        self.unlock_key = ""
        self.index = 10
        self.worker_token = self.manager_token = ""

    def next_index(self) -> int:
        self.index += 1
        return self.index

    def info_cluster(self, version: Version) -> dict[str, Any]:
        return swarm_json(self, version, tokens=False)


def require_manager(ctx: Ctx) -> SwarmState:
    """The engine's swarm, or 503 when this node is not a manager (before /swarm/init, after leave)."""
    swarm = ctx.state.swarm
    if not swarm.active:
        raise ApiError(503, NOT_MANAGER)
    if swarm.role != "manager":
        raise ApiError(503, WORKER)
    return swarm


def default_spec(spec: dict[str, Any] | None) -> dict[str, Any]:
    spec = dict(spec or {})
    out = {"Name": spec.get("Name") or "default", "Labels": spec.get("Labels") or {},
           "Orchestration": {"TaskHistoryRetentionLimit": 5}, "Raft": {
               "SnapshotInterval": 10000, "KeepOldSnapshots": 0, "LogEntriesForSlowFollowers": 500,
               "ElectionTick": 10, "HeartbeatTick": 1},
           "Dispatcher": {"HeartbeatPeriod": 5000000000}, "CAConfig": {"NodeCertExpiry": 7776000000000000},
           "TaskDefaults": {}, "EncryptionConfig": {"AutoLockManagers": False}}
    for key, value in spec.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        elif value is not None:
            out[key] = value
    return out


def swarm_json(swarm: SwarmState, version: Version, tokens: bool = True) -> dict[str, Any]:
    assert swarm.obj is not None
    out = swarm.obj.base()
    out.update({"TLSInfo": {"TrustRoot": "-----BEGIN CERTIFICATE-----\nFAKE\n-----END CERTIFICATE-----\n",
                            "CertIssuerSubject": "MBMxETAPBgNVBAMTCHN3YXJtLWNh",
                            "CertIssuerPublicKey": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfake"},
                "RootRotationInProgress": False, "DataPathPort": 4789, "DefaultAddrPool": ["10.0.0.0/8"],
                "SubnetSize": 24})
    if tokens:
        out["JoinTokens"] = {"Worker": swarm.worker_token, "Manager": swarm.manager_token}
    return out


def new_tokens(swarm: SwarmState, worker: bool = True, manager: bool = True) -> None:
    """New join tokens (both at init; the ones asked for at a rotating update)."""
    prefix = f"SWMTKN-1-{pysecrets.token_hex(25)}"
    if worker:
        swarm.worker_token = f"{prefix}-{sid()}"
    if manager:
        swarm.manager_token = f"{prefix}-{sid()}"


def check_version(ctx: Ctx, obj_index: int) -> None:
    """An update names the version it is based on: it must be the object's current one."""
    raw = ctx.q("version")
    if raw in (None, ""):
        raise ApiError(400, "invalid swarm version: the version query parameter is required")
    try:
        wanted = int(raw)  # type: ignore[arg-type]
    except ValueError:
        raise ApiError(400, f"invalid swarm version {raw!r}") from None
    if wanted != obj_index:
        raise ApiError(500, "rpc error: code = Unknown desc = update out of sequence")


# --- service specs -----------------------------------------------------------------------------
_MODES = {"replicated": "Replicated", "global": "Global", "replicatedjob": "ReplicatedJob",
          "replicated-job": "ReplicatedJob", "globaljob": "GlobalJob", "global-job": "GlobalJob"}


def canonical_mode(spec: dict[str, Any]) -> None:
    """Go decodes JSON keys case-insensitively (docker-py sends {"replicated": {...}}); store Go's spelling."""
    mode = spec.get("Mode")
    if not isinstance(mode, dict):
        spec["Mode"] = {"Replicated": {"Replicas": 1}}
        return
    out: dict[str, Any] = {}
    for key, value in mode.items():
        name = _MODES.get(key.lower().replace("_", ""), key)
        value = dict(value or {})
        for inner in list(value):
            if inner.lower() == "replicas":
                value["Replicas"] = value.pop(inner)
        if name == "Replicated":
            value.setdefault("Replicas", 1)
        out[name] = value
    spec["Mode"] = out


def replicas(spec: dict[str, Any]) -> int:
    mode = spec.get("Mode") or {"Replicated": {"Replicas": 1}}
    if "Global" in mode or "GlobalJob" in mode:
        return 1
    if "ReplicatedJob" in mode:
        return int((mode["ReplicatedJob"] or {}).get("TotalCompletions") or
                   (mode["ReplicatedJob"] or {}).get("MaxConcurrent") or 1)
    return int(((mode.get("Replicated") or {}).get("Replicas", 1)) or 0)


def proto(value: Any) -> Any:
    """A spec as swarmkit stores it (protobuf): null, empty and zero fields are the same as absent ones, so
    an update that sends back what ServiceInspect answered changes nothing and restarts no task."""
    if isinstance(value, dict):
        out = {k: proto(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", 0, False, {}, [])}
    if isinstance(value, list):
        return [proto(v) for v in value]
    return value


# --- tasks -------------------------------------------------------------------------------------
def start_task(state: State, service: Obj, slot: int | None) -> Task:
    swarm = state.swarm
    template = service.spec.get("TaskTemplate") or {}
    task = Task(sid(), service.id, slot, template, index=swarm.next_index())
    swarm.tasks[task.id] = task
    cspec = template.get("ContainerSpec") or {}
    image_ref = (cspec.get("Image") or "").split("@")[0]
    image = state.images.find(image_ref) if image_ref else None
    if image is None:
        task.state, task.err, task.message = "rejected", f"No such image: {image_ref}", "preparing"
        return task
    config = image.config
    argv = list(cspec.get("Command") or config.get("Entrypoint") or []) + list(
        cspec.get("Args") if cspec.get("Args") is not None else ([] if cspec.get("Command") else
                                                                 config.get("Cmd") or []))
    task.state, task.message = "running", "started"
    task.control = Control()
    env = {e.split("=", 1)[0]: e.split("=", 1)[1] for e in (config.get("Env") or []) + (cspec.get("Env") or [])
           if "=" in e}
    tty = bool(cspec.get("TTY"))

    def write(fd: int, data: bytes) -> None:
        with state.cond:
            for line in data.splitlines(keepends=True):
                task.logs.append((1 if tty else fd, now_ns(), line))
            state.cond.notify_all()

    def run() -> None:
        io = ProcessIO(write, None, task.control, image.fs.copy(), env,  # type: ignore[arg-type]
                       cspec.get("Dir") or config.get("WorkingDir") or "/", cspec.get("Hostname") or task.id[:12])
        try:
            code = Shell(io).run(argv)
        except CommandNotFound:
            code = 127
        with state.cond:
            task.exit_code = code
            task.state = "complete" if code == 0 else ("shutdown" if task.desired == "shutdown" else "failed")
            task.message = "finished" if code == 0 else "shutdown" if task.desired == "shutdown" else \
                f"task: non-zero exit ({code})"
            if code and task.desired != "shutdown":
                task.err = f"task: non-zero exit ({code})"
            task.updated_ns = now_ns()
            task.index = swarm.next_index() if swarm.active else task.index
            state.cond.notify_all()

    threading.Thread(target=run, name=f"task-{task.id[:8]}", daemon=True).start()
    return task


def stop_task(task: Task) -> None:
    task.desired = "shutdown"
    if task.control and task.state == "running":
        task.control.kill(15)


def reconcile(state: State, service: Obj, restart: bool) -> None:
    """The service's running tasks made to match its mode (all replaced when `restart`)."""
    swarm = state.swarm
    current = [t for t in swarm.tasks.values() if t.service_id == service.id and t.desired == "running"]
    if restart:
        for task in current:
            stop_task(task)
        current = []
    want = replicas(service.spec)
    global_mode = "Global" in (service.spec.get("Mode") or {})
    slots = {t.slot for t in current}
    for task in current:
        if task.slot is not None and task.slot > want:
            stop_task(task)
    for slot in range(1, want + 1):
        key = None if global_mode else slot
        if key not in slots:
            start_task(state, service, key)


def find_task(swarm: SwarmState, ref: str) -> Task:
    task = find_by_ref(swarm.tasks.values(), ref, lambda t: None)
    if task is None:
        raise ApiError(404, f"task {ref} not found")
    return task
