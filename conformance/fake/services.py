"""Swarm mode's services, tasks (and both their logs), secrets and configs, on the single fake manager; every
endpoint answers 503 until /swarm/init.  The records and the tasks' running live in swarm_model.py."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import network_model as netmod
from .routing import Route, route
from .streams import encode, stream_content_type
from .swarm_model import (
    Obj,
    Task,
    canonical_mode,
    check_version,
    find_task,
    proto,
    reconcile,
    replicas,
    require_manager,
    sid,
    stop_task,
)
from .util import find_by_ref, match_labels, now_ns, parse_filters, rfc3339
from .wire import ApiError, Response, empty, json_response, stream_response

if TYPE_CHECKING:
    from .engine import Ctx
    from .state import State


# --- services and tasks ----------------------------------------------------------------------
def _service(ctx: Ctx, ref: str) -> Obj:
    service = find_by_ref(require_manager(ctx).services.values(), ref, lambda s: s.spec.get("Name"))
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
                                "DesiredTasks": replicas(service.spec)}
        if ctx.at_least("1.44"):
            out["ServiceStatus"]["CompletedTasks"] = sum(1 for t in tasks if t.state == "complete")
    return out


def service_list(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("id", "label", "mode", "name"))
    with ctx.state.lock:
        swarm = require_manager(ctx)
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


def _check_networks(state: State, spec: dict[str, Any]) -> None:
    """moby daemon/cluster/networks.go populateNetworkID, before swarmkit sees the spec: a node-local network
    (not a predefined one, which has a swarm twin) is not allowed for a service (notAllowedError: 403)."""
    attachments = [*((spec.get("TaskTemplate") or {}).get("Networks") or []), *(spec.get("Networks") or [])]
    for attachment in attachments:
        net = netmod.find(state, str(attachment.get("Target") or ""))
        if net is not None and net.scope == "local" and not net.predefined:
            raise ApiError(403, f"The network {net.name} cannot be used with services. Only networks scoped to the "
                                "swarm can be used, such as those created with the overlay driver.")


def service_create(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    state = ctx.state
    with state.lock:
        swarm = require_manager(ctx)
        _check_networks(state, body)
        name = body.get("Name") or sid()[:10]
        if any(s.spec.get("Name") == name for s in swarm.services.values()):
            raise ApiError(409, f"rpc error: code = AlreadyExists desc = name conflicts with an existing object: "
                                f"service {name} already exists")
        _check_task_template(body)
        spec = {**body, "Name": name}
        spec.setdefault("Labels", {})
        canonical_mode(spec)
        service = Obj(sid(), spec, index=swarm.next_index())
        swarm.services[service.id] = service
        reconcile(state, service, False)
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
        check_version(ctx, service.index)
        if ctx.q("rollback") == "previous":
            if service.previous is None:
                raise ApiError(400, "service does not have a previous spec")
            body = service.previous
        _check_task_template(body)
        old_template = service.spec.get("TaskTemplate")
        spec = {**body, "Name": body.get("Name") or service.spec.get("Name")}
        spec.setdefault("Labels", {})
        canonical_mode(spec)
        service.previous, service.spec = service.spec, spec
        service.index = state.swarm.next_index()
        service.updated_ns = now_ns()
        restart = proto(spec.get("TaskTemplate")) != proto(old_template)
        reconcile(state, service, restart)
        state.emit("service", "update", service.id, {"name": spec["Name"]}, scope="swarm")
    return json_response({"Warnings": []})


def service_delete(ctx: Ctx) -> Response:
    state = ctx.state
    with state.lock:
        service = _service(ctx, ctx.params["id"])
        swarm = state.swarm
        for task in [t for t in swarm.tasks.values() if t.service_id == service.id]:
            stop_task(task)
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
        swarm = require_manager(ctx)
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
        swarm = require_manager(ctx)
        task = find_task(swarm, ctx.params["id"])
        return json_response(_task_json(ctx, task))


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
        swarm = require_manager(ctx)
        task = find_task(swarm, ctx.params["id"])
        tty = bool((task.spec.get("ContainerSpec") or {}).get("TTY"))
    return _logs_response(ctx, [task], tty)


# --- secrets and configs ---------------------------------------------------------------------
def _store(ctx: Ctx, kind: str) -> dict[str, Obj]:
    swarm = require_manager(ctx)
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
        obj = Obj(sid(), spec, index=state.swarm.next_index())
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
        check_version(ctx, obj.index)
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


# The routes this module serves, in match order (conformance/fake/routes.py builds the router: these follow
# swarm.ROUTES).
ROUTES: tuple[Route, ...] = (
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
