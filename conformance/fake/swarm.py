"""Swarm mode on a fake manager and the workers that join it (other fakes of this process): init, join, leave,
update, unlock, and the node endpoints.  Every endpoint answers 503 until /swarm/init (or /swarm/join, on a
worker: not a manager).  The records live in swarm_model.py; services, tasks, secrets and configs are
services.py's.
"""

from __future__ import annotations

import base64
import secrets as pysecrets
from typing import TYPE_CHECKING, Any

from .identity import FAKE_VERSION
from .routing import Route, route
from .swarm_model import (
    ALREADY,
    MANAGERS,
    Member,
    Obj,
    check_version,
    default_spec,
    new_tokens,
    require_manager,
    sid,
    swarm_json,
)
from .util import check_listen_addr, match_labels, now_ns, parse_filters
from .wire import ApiError, Response, empty, json_response

if TYPE_CHECKING:
    from .engine import Ctx


# --- swarm -----------------------------------------------------------------------------------
def swarm_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        swarm = require_manager(ctx)
        return json_response(swarm_json(swarm, ctx.version))


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
        swarm.node_id = sid()
        swarm.swarm_id = sid()
        advertise = (body.get("AdvertiseAddr") or "").split(":")[0]
        if advertise and advertise[0].isdigit():
            swarm.addr = advertise
        spec = default_spec(body.get("Spec"))
        swarm.obj = Obj(swarm.swarm_id, spec, index=swarm.next_index())
        if spec["EncryptionConfig"].get("AutoLockManagers") or body.get("AutoLockManagers"):
            spec["EncryptionConfig"]["AutoLockManagers"] = True
            swarm.unlock_key = f"SWMKEY-1-{base64.b64encode(pysecrets.token_bytes(32)).decode().rstrip('=')}"
        new_tokens(swarm)
        swarm.node = Obj(swarm.node_id, {"Labels": {}, "Role": "manager", "Availability": "active"},
                         index=swarm.next_index())
        MANAGERS[swarm.join_addr] = swarm
        state.emit("node", "create", swarm.node_id, {"name": state.hostname}, scope="swarm")
    return json_response(swarm.node_id)


def swarm_join(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    state = ctx.state
    with state.lock:
        if state.swarm.active:
            raise ApiError(503, ALREADY)
        check_listen_addr(body.get("ListenAddr") or "")
    token = body.get("JoinToken") or ""
    if not token.startswith("SWMTKN-1-"):
        raise ApiError(400, "invalid join token")
    remotes = [r if ":" in r else f"{r}:2377" for r in body.get("RemoteAddrs") or []]
    manager = next((MANAGERS[r] for r in remotes if r in MANAGERS), None)
    if manager is None or token != manager.worker_token:
        # No fake manager of this process at those addresses (or a manager token: the fake joins workers
        # only): what a node that never hears from a manager answers.
        raise ApiError(500, "Timeout was reached before node joined. The attempt to join the swarm will continue "
                            "in the background. Use the \"docker info\" command to see the current swarm status "
                            "of your node.")
    with manager.state.lock:
        node = Obj(sid(), {"Labels": {}, "Role": "worker", "Availability": "active"}, index=manager.next_index())
        advertise = (body.get("AdvertiseAddr") or "").split(":")[0]
        swarm = state.swarm
        addr = advertise if advertise[:1].isdigit() else swarm.host_addr
        manager.members[node.id] = Member(node, state.hostname, addr)
        manager.state.emit("node", "create", node.id, {"name": state.hostname}, scope="swarm")
    with state.lock:
        swarm.reset()
        swarm.active, swarm.role, swarm.manager = True, "worker", manager
        swarm.node_id, swarm.swarm_id, swarm.addr = node.id, manager.swarm_id, addr
    return empty(200)


def swarm_leave(ctx: Ctx) -> Response:
    state = ctx.state
    with state.lock:
        swarm = state.swarm
        if not swarm.active:
            raise ApiError(503, "This node is not part of a swarm")
        if swarm.role == "worker":  # a worker leaves without force; its manager sees the node down
            manager, node_id = swarm.manager, swarm.node_id
            swarm.active = False
            swarm.reset()
            if manager is not None:
                with manager.state.lock:
                    member = manager.members.get(node_id)
                    if member is not None:
                        member.status = "down"
                        member.node.index = manager.next_index()
            return empty(200)
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
        swarm = require_manager(ctx)
        assert swarm.obj is not None
        check_version(ctx, swarm.obj.index)
        expiry = (body.get("CAConfig") or {}).get("NodeCertExpiry")
        if expiry is not None and expiry < 3600 * 10**9:  # swarmkit's minimum (dockerd 20.10, observed)
            raise ApiError(400, "rpc error: code = InvalidArgument desc = minimum certificate expiry time is: 1h0m0s")
        swarm.obj.spec = default_spec(body)
        swarm.obj.index = swarm.next_index()
        swarm.obj.updated_ns = now_ns()
        new_tokens(swarm, ctx.qbool("rotateWorkerToken"), ctx.qbool("rotateManagerToken"))
        autolock = swarm.obj.spec["EncryptionConfig"].get("AutoLockManagers")
        if autolock and (not swarm.unlock_key or ctx.qbool("rotateManagerUnlockKey")):
            swarm.unlock_key = f"SWMKEY-1-{base64.b64encode(pysecrets.token_bytes(32)).decode().rstrip('=')}"
        if not autolock:
            swarm.unlock_key = ""
    return empty(200)


def swarm_unlockkey(ctx: Ctx) -> Response:
    with ctx.state.lock:
        swarm = require_manager(ctx)
        return json_response({"UnlockKey": swarm.unlock_key})


def swarm_unlock(ctx: Ctx) -> Response:
    with ctx.state.lock:
        if not ctx.state.swarm.active:
            raise ApiError(503, "This node is not part of a swarm")
    raise ApiError(409, "swarm is not locked")  # dockerd 20.10 (observed); errata.yaml lists the undeclared 409


# --- nodes -----------------------------------------------------------------------------------
def _description(ctx: Ctx, hostname: str) -> dict[str, Any]:
    return {"Hostname": hostname, "Platform": {"Architecture": "x86_64", "OS": "linux"},
            "Resources": {"NanoCPUs": 2000000000, "MemoryBytes": 8 << 30},
            "Engine": {"EngineVersion": FAKE_VERSION, "Plugins": [
                {"Type": "Log", "Name": "json-file"}, {"Type": "Network", "Name": "bridge"},
                {"Type": "Network", "Name": "overlay"}, {"Type": "Volume", "Name": "local"}]},
            "TLSInfo": swarm_json(ctx.state.swarm, ctx.version)["TLSInfo"]}


def _node_json(ctx: Ctx, node: Obj) -> dict[str, Any]:
    swarm = ctx.state.swarm
    out = node.base()
    member = swarm.members.get(node.id)
    if member is not None:  # a worker: no ManagerStatus
        out.update({"Description": _description(ctx, member.hostname),
                    "Status": {"State": member.status, "Addr": member.addr}})
        return out
    out.update({
        "Description": _description(ctx, ctx.state.hostname),
        "Status": {"State": "ready", "Addr": swarm.addr},
        "ManagerStatus": {"Leader": True, "Reachability": "reachable", "Addr": swarm.join_addr},
    })
    return out


def _nodes(ctx: Ctx) -> list[tuple[Obj, str]]:
    """(node, hostname) of every node this manager knows: itself first."""
    swarm = require_manager(ctx)
    assert swarm.node is not None
    return [(swarm.node, ctx.state.hostname), *((m.node, m.hostname) for m in swarm.members.values())]


def _node(ctx: Ctx, ref: str) -> Obj:
    nodes = _nodes(ctx)
    if ref == "self":
        return nodes[0][0]
    for node, hostname in nodes:
        if ref in (node.id, hostname):
            return node
    hits = [node for node, _ in nodes if ref and node.id.startswith(ref)]
    if len(hits) != 1:
        raise ApiError(404, f"node {ref} not found")
    return hits[0]


def node_list(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("id", "label", "membership", "name", "node.label", "role"))
    with ctx.state.lock:
        out = []
        for node, hostname in _nodes(ctx):
            found = _node_json(ctx, node)
            if filters.get("role") and node.spec.get("Role") not in filters["role"]:
                continue
            if filters.get("id") and not any(found["ID"].startswith(v) for v in filters["id"]):
                continue
            if filters.get("name") and not any(hostname.startswith(v) for v in filters["name"]):
                continue  # name: a prefix, as swarmkit's NamePrefixes
            if filters.get("membership") and "accepted" not in filters["membership"]:
                continue  # every node is an accepted member
            if filters.get("label") and not match_labels(found["Description"]["Engine"].get("Labels"),
                                                         filters["label"]):
                continue  # label: the engine's labels (dockerd --label), node.label: the node spec's
            if filters.get("node.label") and not match_labels(found["Spec"].get("Labels"), filters["node.label"]):
                continue
            out.append(found)
        return json_response(out)


def node_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        return json_response(_node_json(ctx, _node(ctx, ctx.params["id"])))


def node_update(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    with ctx.state.lock:
        node = _node(ctx, ctx.params["id"])
        check_version(ctx, node.index)
        # moby daemon/cluster/convert/node.go NodeSpecToGRPC: an unknown role or availability is refused
        for key, known in (("Role", ("worker", "manager")), ("Availability", ("active", "pause", "drain"))):
            if str(body.get(key) or "").lower() not in known:
                raise ApiError(400, f"invalid {key}: \"{body.get(key) or ''}\"")
        manager = node.id not in ctx.state.swarm.members
        if manager and body.get("Role") == "worker":
            raise ApiError(400, "attempting to demote the last manager of the swarm")
        node.spec = {"Labels": body.get("Labels") or {}, "Role": body.get("Role") or node.spec.get("Role"),
                     "Availability": body.get("Availability") or "active", **({"Name": body["Name"]}
                                                                               if body.get("Name") else {})}
        node.index = ctx.state.swarm.next_index()
        node.updated_ns = now_ns()
        ctx.state.emit("node", "update", node.id, {"name": ctx.state.hostname}, scope="swarm")
    return empty(200)


def node_delete(ctx: Ctx) -> Response:
    with ctx.state.lock:
        node = _node(ctx, ctx.params["id"])
        swarm = ctx.state.swarm
        member = swarm.members.get(node.id)
        if member is None:
            raise ApiError(400, f"rpc error: code = FailedPrecondition desc = node {node.id} is a cluster manager and "
                                "is a member of the raft cluster. It must be demoted to worker before removal")
        # swarmkit controlapi RemoveNode: a ready node goes only with force
        if member.status == "ready" and not ctx.qbool("force"):
            raise ApiError(400, f"rpc error: code = FailedPrecondition desc = node {node.id} is not down and can't be "
                                "removed")
        del swarm.members[node.id]
        ctx.state.emit("node", "remove", node.id, {"name": member.hostname}, scope="swarm")
    return empty(200)


# The routes this module serves, in match order (conformance/fake/routes.py builds the router; services.ROUTES
# follow these).
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
)
