"""Swarm mode on a single fake manager: swarm, nodes, services (with tasks that really run the
command language), tasks, secrets, configs.  Every endpoint answers 503 until /swarm/init.
"""

from __future__ import annotations

import base64
import secrets as pysecrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .cmdlang import CommandNotFound, Control, ProcessIO, Shell
from .routing import Route, route
from .streams import encode, stream_content_type
from .util import Version, check_listen_addr, find_by_ref, match_labels, new_id, now_ns, parse_filters, rfc3339
from .wire import ApiError, Response, empty, json_response, stream_response

if TYPE_CHECKING:
    from .engine import Ctx
    from .state import State

NOT_MANAGER = ("This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this "
               "node to swarm and try again.")
ALREADY = "This node is already part of a swarm. Use \"docker swarm leave\" to leave this swarm and join another one."


def _sid() -> str:
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


class SwarmState:
    def __init__(self, state: State) -> None:
        self.state = state
        self.active = False
        self.reset()

    def reset(self) -> None:
        self.node_id = ""
        self.swarm_id = ""
        self.addr = "192.168.65.3"
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
        return _swarm_json(self, version, tokens=False)


def _require(ctx: Ctx) -> SwarmState:
    swarm = ctx.state.swarm
    if not swarm.active:
        raise ApiError(503, NOT_MANAGER)
    return swarm


def _default_spec(spec: dict[str, Any] | None) -> dict[str, Any]:
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


def _swarm_json(swarm: SwarmState, version: Version, tokens: bool = True) -> dict[str, Any]:
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


def _tokens(swarm: SwarmState, worker: bool = True, manager: bool = True) -> None:
    prefix = f"SWMTKN-1-{pysecrets.token_hex(25)}"
    if worker:
        swarm.worker_token = f"{prefix}-{_sid()}"
    if manager:
        swarm.manager_token = f"{prefix}-{_sid()}"


def _check_version(ctx: Ctx, obj_index: int) -> None:
    raw = ctx.q("version")
    if raw in (None, ""):
        raise ApiError(400, "invalid swarm version: the version query parameter is required")
    try:
        wanted = int(raw)  # type: ignore[arg-type]
    except ValueError:
        raise ApiError(400, f"invalid swarm version {raw!r}") from None
    if wanted != obj_index:
        raise ApiError(500, "rpc error: code = Unknown desc = update out of sequence")


# --- swarm -----------------------------------------------------------------------------------
def swarm_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        swarm = _require(ctx)
        return json_response(_swarm_json(swarm, ctx.version))


def swarm_init(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    state = ctx.state
    with state.lock:
        swarm = state.swarm
        if swarm.active:
            raise ApiError(503, ALREADY)
        check_listen_addr(body.get("ListenAddr") or "")
        swarm.reset()
        swarm.active = True
        swarm.node_id = _sid()
        swarm.swarm_id = _sid()
        advertise = (body.get("AdvertiseAddr") or "").split(":")[0]
        if advertise and advertise[0].isdigit():
            swarm.addr = advertise
        spec = _default_spec(body.get("Spec"))
        swarm.obj = Obj(swarm.swarm_id, spec, index=swarm.next_index())
        if spec["EncryptionConfig"].get("AutoLockManagers") or body.get("AutoLockManagers"):
            spec["EncryptionConfig"]["AutoLockManagers"] = True
            swarm.unlock_key = f"SWMKEY-1-{base64.b64encode(pysecrets.token_bytes(32)).decode().rstrip('=')}"
        _tokens(swarm)
        swarm.node = Obj(swarm.node_id, {"Labels": {}, "Role": "manager", "Availability": "active"},
                         index=swarm.next_index())
        state.emit("node", "create", swarm.node_id, {"name": state.hostname}, scope="swarm")
    return json_response(swarm.node_id)


def swarm_join(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    with ctx.state.lock:
        if ctx.state.swarm.active:
            raise ApiError(503, ALREADY)
    token = body.get("JoinToken") or ""
    if not token.startswith("SWMTKN-1-"):
        raise ApiError(400, "invalid join token")
    raise ApiError(500, "Timeout was reached before node joined. The fake engine cannot reach remote managers "
                        f"{body.get('RemoteAddrs')}.")


def swarm_leave(ctx: Ctx) -> Response:
    state = ctx.state
    with state.lock:
        swarm = state.swarm
        if not swarm.active:
            raise ApiError(503, "This node is not part of a swarm")
        if not ctx.qbool("force"):
            raise ApiError(503, "You are attempting to leave the swarm on a node that is participating as a manager. "
                                "Removing the last manager erases all current state of the swarm. Use `--force` to "
                                "ignore this message.")
        for task in swarm.tasks.values():
            if task.control:
                task.control.kill(9)
        swarm.active = False
        swarm.reset()
        state.notify()
    return empty(200)


def swarm_update(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    with ctx.state.lock:
        swarm = _require(ctx)
        assert swarm.obj is not None
        _check_version(ctx, swarm.obj.index)
        expiry = (body.get("CAConfig") or {}).get("NodeCertExpiry")
        if expiry is not None and expiry < 3600 * 10**9:  # swarmkit's minimum (dockerd 20.10, observed)
            raise ApiError(400, "rpc error: code = InvalidArgument desc = minimum certificate expiry time is: 1h0m0s")
        swarm.obj.spec = _default_spec(body)
        swarm.obj.index = swarm.next_index()
        swarm.obj.updated_ns = now_ns()
        _tokens(swarm, ctx.qbool("rotateWorkerToken"), ctx.qbool("rotateManagerToken"))
        autolock = swarm.obj.spec["EncryptionConfig"].get("AutoLockManagers")
        if autolock and (not swarm.unlock_key or ctx.qbool("rotateManagerUnlockKey")):
            swarm.unlock_key = f"SWMKEY-1-{base64.b64encode(pysecrets.token_bytes(32)).decode().rstrip('=')}"
        if not autolock:
            swarm.unlock_key = ""
    return empty(200)


def swarm_unlockkey(ctx: Ctx) -> Response:
    with ctx.state.lock:
        swarm = _require(ctx)
        return json_response({"UnlockKey": swarm.unlock_key})


def swarm_unlock(ctx: Ctx) -> Response:
    with ctx.state.lock:
        if not ctx.state.swarm.active:
            raise ApiError(503, "This node is not part of a swarm")
    raise ApiError(409, "swarm is not locked")  # dockerd 20.10 (observed); errata.yaml lists the undeclared 409


# --- nodes -----------------------------------------------------------------------------------
def _node_json(ctx: Ctx) -> dict[str, Any]:
    from .engine import FAKE_VERSION
    swarm = ctx.state.swarm
    assert swarm.node is not None
    out = swarm.node.base()
    out.update({
        "Description": {"Hostname": ctx.state.hostname, "Platform": {"Architecture": "x86_64", "OS": "linux"},
                        "Resources": {"NanoCPUs": 2000000000, "MemoryBytes": 8 << 30},
                        "Engine": {"EngineVersion": FAKE_VERSION, "Plugins": [
                            {"Type": "Log", "Name": "json-file"}, {"Type": "Network", "Name": "bridge"},
                            {"Type": "Network", "Name": "overlay"}, {"Type": "Volume", "Name": "local"}]},
                        "TLSInfo": _swarm_json(swarm, ctx.version)["TLSInfo"]},
        "Status": {"State": "ready", "Addr": swarm.addr},
        "ManagerStatus": {"Leader": True, "Reachability": "reachable", "Addr": f"{swarm.addr}:2377"},
    })
    return out


def _node(ctx: Ctx, ref: str) -> Obj:
    swarm = _require(ctx)
    node = swarm.node
    if node is None or ref not in (node.id, ctx.state.hostname, "self") and not (len(ref) >= 1 and
                                                                               node.id.startswith(ref)):
        raise ApiError(404, f"node {ref} not found")
    return node


def node_list(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("id", "label", "membership", "name", "node.label", "role"))
    with ctx.state.lock:
        _require(ctx)
        node = _node_json(ctx)
        if filters.get("role") and "manager" not in filters["role"]:
            return json_response([])
        if filters.get("id") and not any(node["ID"].startswith(v) for v in filters["id"]):
            return json_response([])
        if filters.get("name") and not any(ctx.state.hostname.startswith(v) for v in filters["name"]):
            return json_response([])  # name: a prefix, as swarmkit's NamePrefixes
        if filters.get("membership") and "accepted" not in filters["membership"]:
            return json_response([])  # the one node is an accepted member
        if filters.get("label") and not match_labels(node["Description"]["Engine"].get("Labels"), filters["label"]):
            return json_response([])  # label: the engine's labels (dockerd --label), node.label: the node spec's
        if filters.get("node.label") and not match_labels(node["Spec"].get("Labels"), filters["node.label"]):
            return json_response([])
        return json_response([node])


def node_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        _node(ctx, ctx.params["id"])
        return json_response(_node_json(ctx))


def node_update(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    with ctx.state.lock:
        node = _node(ctx, ctx.params["id"])
        _check_version(ctx, node.index)
        # moby daemon/cluster/convert/node.go NodeSpecToGRPC: an unknown role or availability is refused
        for key, known in (("Role", ("worker", "manager")), ("Availability", ("active", "pause", "drain"))):
            if str(body.get(key) or "").lower() not in known:
                raise ApiError(400, f"invalid {key}: \"{body.get(key) or ''}\"")
        if body.get("Role") == "worker":
            raise ApiError(400, "attempting to demote the last manager of the swarm")
        node.spec = {"Labels": body.get("Labels") or {}, "Role": body.get("Role") or "manager",
                     "Availability": body.get("Availability") or "active", **({"Name": body["Name"]}
                                                                               if body.get("Name") else {})}
        node.index = ctx.state.swarm.next_index()
        node.updated_ns = now_ns()
        ctx.state.emit("node", "update", node.id, {"name": ctx.state.hostname}, scope="swarm")
    return empty(200)


def node_delete(ctx: Ctx) -> Response:
    with ctx.state.lock:
        node = _node(ctx, ctx.params["id"])
    raise ApiError(400, f"rpc error: code = FailedPrecondition desc = node {node.id} is a cluster manager and is a "
                        "member of the raft cluster. It must be demoted to worker before removal")


# --- services and tasks ----------------------------------------------------------------------
_MODES = {"replicated": "Replicated", "global": "Global", "replicatedjob": "ReplicatedJob",
          "replicated-job": "ReplicatedJob", "globaljob": "GlobalJob", "global-job": "GlobalJob"}


def _canonical_mode(spec: dict[str, Any]) -> None:
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


def _replicas(spec: dict[str, Any]) -> int:
    mode = spec.get("Mode") or {"Replicated": {"Replicas": 1}}
    if "Global" in mode or "GlobalJob" in mode:
        return 1
    if "ReplicatedJob" in mode:
        return int((mode["ReplicatedJob"] or {}).get("TotalCompletions") or
                   (mode["ReplicatedJob"] or {}).get("MaxConcurrent") or 1)
    return int(((mode.get("Replicated") or {}).get("Replicas", 1)) or 0)


def _start_task(state: State, service: Obj, slot: int | None) -> Task:
    swarm = state.swarm
    template = service.spec.get("TaskTemplate") or {}
    task = Task(_sid(), service.id, slot, template, index=swarm.next_index())
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


def _stop_task(task: Task) -> None:
    task.desired = "shutdown"
    if task.control and task.state == "running":
        task.control.kill(15)


def _reconcile(state: State, service: Obj, restart: bool) -> None:
    swarm = state.swarm
    current = [t for t in swarm.tasks.values() if t.service_id == service.id and t.desired == "running"]
    if restart:
        for task in current:
            _stop_task(task)
        current = []
    want = _replicas(service.spec)
    global_mode = "Global" in (service.spec.get("Mode") or {})
    slots = {t.slot for t in current}
    for task in current:
        if task.slot is not None and task.slot > want:
            _stop_task(task)
    for slot in range(1, want + 1):
        key = None if global_mode else slot
        if key not in slots:
            _start_task(state, service, key)


def _proto(value: Any) -> Any:
    """A spec as swarmkit stores it (protobuf): null, empty and zero fields are the same as absent ones, so
    an update that sends back what ServiceInspect answered changes nothing and restarts no task."""
    if isinstance(value, dict):
        out = {k: _proto(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", 0, False, {}, [])}
    if isinstance(value, list):
        return [_proto(v) for v in value]
    return value


def _service(ctx: Ctx, ref: str) -> Obj:
    service = find_by_ref(_require(ctx).services.values(), ref, lambda s: s.spec.get("Name"))
    if service is None:
        raise ApiError(404, f"service {ref} not found")
    return service


def _service_json(ctx: Ctx, service: Obj, status: bool) -> dict[str, Any]:
    out = service.base()
    if service.previous is not None:
        out["PreviousSpec"] = service.previous
    ports = ((service.spec.get("EndpointSpec") or {}).get("Ports")) or []
    out["Endpoint"] = {"Spec": {"Mode": (service.spec.get("EndpointSpec") or {}).get("Mode", "vip"),
                                **({"Ports": ports} if ports else {})}}
    if ports:
        out["Endpoint"]["Ports"] = ports
    if service.index > 11 and service.previous is not None:
        out["UpdateStatus"] = {"State": "completed", "StartedAt": rfc3339(service.updated_ns),
                               "CompletedAt": rfc3339(service.updated_ns), "Message": "update completed"}
    if status:
        tasks = [t for t in ctx.state.swarm.tasks.values() if t.service_id == service.id]
        out["ServiceStatus"] = {"RunningTasks": sum(1 for t in tasks if t.state == "running"),
                                "DesiredTasks": _replicas(service.spec)}
        if ctx.at_least("1.44"):
            out["ServiceStatus"]["CompletedTasks"] = sum(1 for t in tasks if t.state == "complete")
    return out


def service_list(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("id", "label", "mode", "name"))
    with ctx.state.lock:
        swarm = _require(ctx)
        out = []
        for service in swarm.services.values():
            name = service.spec.get("Name", "")
            if filters.get("id") and not any(service.id.startswith(v) for v in filters["id"]):
                continue
            if filters.get("name") and not any(name.startswith(v) for v in filters["name"]):
                continue
            if filters.get("label") and not match_labels(service.spec.get("Labels"), filters["label"]):
                continue
            if filters.get("mode"):
                mode = "global" if "Global" in (service.spec.get("Mode") or {}) else "replicated"
                if mode not in filters["mode"]:
                    continue
            out.append(_service_json(ctx, service, ctx.qbool("status")))
    return json_response(out)


def _check_task_template(spec: dict[str, Any]) -> None:
    """swarmkit's validation of a service's task, as dockerd 20.10 answers it (observed)."""
    template = spec.get("TaskTemplate") or {}
    if not (template.get("ContainerSpec") or {}).get("Image") and not template.get("PluginSpec"):
        raise ApiError(400, "rpc error: code = InvalidArgument desc = ContainerSpec: image reference must be provided")


def service_create(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    state = ctx.state
    with state.lock:
        swarm = _require(ctx)
        name = body.get("Name") or _sid()[:10]
        if any(s.spec.get("Name") == name for s in swarm.services.values()):
            raise ApiError(409, f"rpc error: code = AlreadyExists desc = name conflicts with an existing object: "
                                f"service {name} already exists")
        _check_task_template(body)
        spec = {**body, "Name": name}
        spec.setdefault("Labels", {})
        _canonical_mode(spec)
        service = Obj(_sid(), spec, index=swarm.next_index())
        swarm.services[service.id] = service
        _reconcile(state, service, False)
        state.emit("service", "create", service.id, {"name": name}, scope="swarm")
    return json_response({"ID": service.id, "Warnings": []}, 201)


def service_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        # ServiceStatus only in ServiceList with status=true (the Engine's GetService never fills it)
        status = ctx.fault("service-inspect-status")
        return json_response(_service_json(ctx, _service(ctx, ctx.params["id"]), status))


def service_update(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    state = ctx.state
    with state.lock:
        service = _service(ctx, ctx.params["id"])
        _check_version(ctx, service.index)
        if ctx.q("rollback") == "previous":
            if service.previous is None:
                raise ApiError(400, "service does not have a previous spec")
            body = service.previous
        _check_task_template(body)
        old_template = service.spec.get("TaskTemplate")
        spec = {**body, "Name": body.get("Name") or service.spec.get("Name")}
        spec.setdefault("Labels", {})
        _canonical_mode(spec)
        service.previous, service.spec = service.spec, spec
        service.index = state.swarm.next_index()
        service.updated_ns = now_ns()
        restart = _proto(spec.get("TaskTemplate")) != _proto(old_template)
        _reconcile(state, service, restart)
        state.emit("service", "update", service.id, {"name": spec["Name"]}, scope="swarm")
    return json_response({"Warnings": []})


def service_delete(ctx: Ctx) -> Response:
    state = ctx.state
    with state.lock:
        service = _service(ctx, ctx.params["id"])
        swarm = state.swarm
        for task in [t for t in swarm.tasks.values() if t.service_id == service.id]:
            _stop_task(task)
            del swarm.tasks[task.id]
        del swarm.services[service.id]
        state.emit("service", "remove", service.id, {"name": service.spec.get("Name", "")}, scope="swarm")
    return empty(200)


def _task_json(ctx: Ctx, task: Task) -> dict[str, Any]:
    swarm = ctx.state.swarm
    status: dict[str, Any] = {"Timestamp": rfc3339(task.updated_ns), "State": task.state, "Message": task.message,
                              "PortStatus": {}}
    if task.err:
        status["Err"] = task.err
    if task.state != "rejected":
        status["ContainerStatus"] = {"ContainerID": task.container_id, "PID": 0 if task.exit_code is not None else 1,
                                     "ExitCode": task.exit_code or 0}
    out = {"ID": task.id, "Version": {"Index": task.index}, "CreatedAt": rfc3339(task.created_ns),
           "UpdatedAt": rfc3339(task.updated_ns), "Labels": {}, "Spec": task.spec, "ServiceID": task.service_id,
           "NodeID": swarm.node_id, "Status": status, "DesiredState": task.desired}
    if task.slot is not None:
        out["Slot"] = task.slot
    return out


def task_list(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("desired-state", "id", "label", "name", "node", "service"))
    with ctx.state.lock:
        swarm = _require(ctx)
        out = []
        for task in swarm.tasks.values():
            service = swarm.services.get(task.service_id)
            sname = service.spec.get("Name", "") if service else ""
            if filters.get("service") and not any(v in (task.service_id, sname) or task.service_id.startswith(v)
                                                  for v in filters["service"]):
                continue
            if filters.get("id") and not any(task.id.startswith(v) for v in filters["id"]):
                continue
            if filters.get("desired-state") and task.desired not in filters["desired-state"]:
                continue
            # swarmkit's task name <service>.<slot or node id>.<task id>, matched as a prefix
            full = f"{sname}.{task.slot if task.slot is not None else swarm.node_id}.{task.id}"
            if filters.get("name") and not any(full.startswith(v) for v in filters["name"]):
                continue
            if filters.get("label") and not match_labels(service.spec.get("Labels") if service else {},
                                                         filters["label"]):
                continue  # label: the service's labels (swarmkit matches the task's ServiceAnnotations)
            if filters.get("node") and not any(v in (swarm.node_id, ctx.state.hostname) for v in filters["node"]):
                continue
            out.append(_task_json(ctx, task))
    return json_response(out)


def task_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        swarm = _require(ctx)
        task = _find_task(swarm, ctx.params["id"])
        return json_response(_task_json(ctx, task))


def _find_task(swarm: SwarmState, ref: str) -> Task:
    task = find_by_ref(swarm.tasks.values(), ref, lambda t: None)
    if task is None:
        raise ApiError(404, f"task {ref} not found")
    return task


def _logs_response(ctx: Ctx, tasks: list[Task], tty: bool) -> Response:
    state = ctx.state
    stdout, stderr = ctx.qbool("stdout"), ctx.qbool("stderr")
    if not (stdout or stderr):
        raise ApiError(400, "Bad parameters: you must choose at least one stream")
    follow, timestamps, details = ctx.qbool("follow"), ctx.qbool("timestamps"), ctx.qbool("details")
    wanted = {1: stdout, 2: stderr}
    swarm = state.swarm

    def gen() -> Iterator[bytes]:
        seen = {t.id: 0 for t in tasks}
        while True:
            with state.cond:
                batch = []
                for task in tasks:
                    fresh = task.logs[seen[task.id]:]
                    seen[task.id] += len(fresh)
                    batch += [(task, entry) for entry in fresh]
                done = all(t.state != "running" for t in tasks) or not swarm.active
            for task, (fd, ns, data) in sorted(batch, key=lambda item: item[1][1]):
                if not wanted.get(fd):
                    continue
                prefix = b""
                if details:
                    prefix = (f"com.docker.swarm.node.id={swarm.node_id},com.docker.swarm.service.id="
                              f"{task.service_id},com.docker.swarm.task.id={task.id} ").encode()
                if timestamps:
                    prefix = rfc3339(ns).encode() + b" " + prefix
                yield encode(fd, prefix + data, tty)
            if not follow or done or state.closing or not ctx.req.alive():
                if not batch:
                    return
                continue
            with state.cond:
                state.cond.wait(0.25)

    # As moby 23+ api/server/router/swarm/helpers.go swarmLogs: raw-stream, multiplexed from 1.42 without a TTY.
    return stream_response(gen(), stream_content_type(ctx.at_least("1.42"), tty))


def service_logs(ctx: Ctx) -> Response:
    with ctx.state.lock:
        service = _service(ctx, ctx.params["id"])
        tasks = [t for t in ctx.state.swarm.tasks.values() if t.service_id == service.id]
        tty = bool(((service.spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("TTY"))
    return _logs_response(ctx, tasks, tty)


def task_logs(ctx: Ctx) -> Response:
    with ctx.state.lock:
        swarm = _require(ctx)
        task = _find_task(swarm, ctx.params["id"])
        tty = bool((task.spec.get("ContainerSpec") or {}).get("TTY"))
    return _logs_response(ctx, [task], tty)


# --- secrets and configs ---------------------------------------------------------------------
def _store(ctx: Ctx, kind: str) -> dict[str, Obj]:
    swarm = _require(ctx)
    return swarm.secrets if kind == "secret" else swarm.configs


def _find(ctx: Ctx, kind: str, ref: str) -> Obj:
    obj = find_by_ref(_store(ctx, kind).values(), ref, lambda o: o.spec.get("Name"))
    if obj is None:
        raise ApiError(404, f"{kind} {ref} not found")
    return obj


def _obj_json(kind: str, obj: Obj) -> dict[str, Any]:
    out = obj.base()
    spec = dict(obj.spec)
    if kind == "secret":
        spec.pop("Data", None)
    out["Spec"] = spec
    return out


def _create(ctx: Ctx, kind: str) -> Response:
    body = ctx.body({}) or {}
    state = ctx.state
    with state.lock:
        store = _store(ctx, kind)
        name = body.get("Name") or ""
        if not name:
            raise ApiError(400, f"rpc error: code = InvalidArgument desc = {kind} name must be provided")
        if any(o.spec.get("Name") == name for o in store.values()):
            raise ApiError(409, f"rpc error: code = AlreadyExists desc = {kind} {name} already exists")
        data = body.get("Data")
        if data is not None:
            try:
                base64.b64decode(data, validate=True)
            except ValueError:
                raise ApiError(400, f"invalid {kind} data: not base64") from None
        spec = {"Name": name, "Labels": body.get("Labels") or {}, **({"Data": data} if data is not None else {})}
        for key in ("Driver", "Templating"):
            if body.get(key):
                spec[key] = body[key]
        obj = Obj(_sid(), spec, index=state.swarm.next_index())
        store[obj.id] = obj
        state.emit(kind, "create", obj.id, {"name": name}, scope="swarm")
    return json_response({"ID": obj.id}, 201)


def _list(ctx: Ctx, kind: str) -> Response:
    filters = parse_filters(ctx.q("filters"), ("id", "label", "name", "names"))
    with ctx.state.lock:
        out = []
        for obj in _store(ctx, kind).values():
            name = obj.spec.get("Name", "")
            if filters.get("id") and not any(obj.id.startswith(v) for v in filters["id"]):
                continue
            if filters.get("name") and not any(name.startswith(v) for v in filters["name"]):
                continue
            if filters.get("names") and name not in filters["names"]:
                continue
            if filters.get("label") and not match_labels(obj.spec.get("Labels"), filters["label"]):
                continue
            out.append(_obj_json(kind, obj))
    return json_response(out)


def _update(ctx: Ctx, kind: str) -> Response:
    body = ctx.body({}) or {}
    with ctx.state.lock:
        obj = _find(ctx, kind, ctx.params["id"])
        _check_version(ctx, obj.index)
        for key in ("Name", "Data"):
            if key in body and body[key] != obj.spec.get(key):
                raise ApiError(400, "rpc error: code = InvalidArgument desc = only updates to Labels are allowed")
        obj.spec = {**obj.spec, "Labels": body.get("Labels") or {}}
        obj.index = ctx.state.swarm.next_index()
        obj.updated_ns = now_ns()
        ctx.state.emit(kind, "update", obj.id, {"name": obj.spec.get("Name", "")}, scope="swarm")
    return empty(200)


def _delete(ctx: Ctx, kind: str) -> Response:
    with ctx.state.lock:
        obj = _find(ctx, kind, ctx.params["id"])
        del _store(ctx, kind)[obj.id]
        ctx.state.emit(kind, "remove", obj.id, {"name": obj.spec.get("Name", "")}, scope="swarm")
    return empty(204)


def _inspect(ctx: Ctx, kind: str) -> Response:
    with ctx.state.lock:
        return json_response(_obj_json(kind, _find(ctx, kind, ctx.params["id"])))


def _swarm_object_routes(kind: str, plural: str, title: str) -> tuple[Route, ...]:
    """Secrets and configs share their handlers: the same five routes for each kind."""
    return (route("GET", f"/{plural}", f"{title}List", lambda ctx: _list(ctx, kind)),
            route("POST", f"/{plural}/create", f"{title}Create", lambda ctx: _create(ctx, kind)),
            route("GET", f"/{plural}/{{id}}", f"{title}Inspect", lambda ctx: _inspect(ctx, kind)),
            route("POST", f"/{plural}/{{id}}/update", f"{title}Update", lambda ctx: _update(ctx, kind)),
            route("DELETE", f"/{plural}/{{id}}", f"{title}Delete", lambda ctx: _delete(ctx, kind)))


# The routes this module serves, in match order (conformance/fake/routes.py builds the router).
ROUTES: tuple[Route, ...] = (
    route("GET", "/swarm", "SwarmInspect", swarm_inspect),
    route("POST", "/swarm/init", "SwarmInit", swarm_init),
    route("POST", "/swarm/join", "SwarmJoin", swarm_join),
    route("POST", "/swarm/leave", "SwarmLeave", swarm_leave),
    route("POST", "/swarm/update", "SwarmUpdate", swarm_update),
    route("GET", "/swarm/unlockkey", "SwarmUnlockkey", swarm_unlockkey),
    route("POST", "/swarm/unlock", "SwarmUnlock", swarm_unlock),
    route("GET", "/nodes", "NodeList", node_list),
    route("GET", "/nodes/{id}", "NodeInspect", node_inspect),
    route("POST", "/nodes/{id}/update", "NodeUpdate", node_update),
    route("DELETE", "/nodes/{id}", "NodeDelete", node_delete),
    route("GET", "/services", "ServiceList", service_list),
    route("POST", "/services/create", "ServiceCreate", service_create),
    route("GET", "/services/{id}", "ServiceInspect", service_inspect),
    route("POST", "/services/{id}/update", "ServiceUpdate", service_update),
    route("DELETE", "/services/{id}", "ServiceDelete", service_delete),
    route("GET", "/tasks", "TaskList", task_list),
    route("GET", "/tasks/{id}", "TaskInspect", task_inspect),
    route("GET", "/services/{id}/logs", "ServiceLogs", service_logs),
    route("GET", "/tasks/{id}/logs", "TaskLogs", task_logs),
    *_swarm_object_routes("secret", "secrets", "Secret"),
    *_swarm_object_routes("config", "configs", "Config"),
)
