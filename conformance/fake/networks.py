"""Network handlers: list, inspect, create, delete, connect, disconnect, prune (records in network_model.py).

As in the Engine, a container's endpoint (IP, MAC, EndpointID) exists only while it runs; the
network's `Containers` map lists running endpoints and delete refuses while any exist.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from .container_model import get_container
from .network_model import DRIVERS, PREDEFINED, Network, attach_running, endpoint_settings, get, inspect_json
from .routing import Route, route
from .util import (
    match_labels,
    new_id,
    now_ns,
    parse_filters,
    parse_time,
    prune_selects,
    truthy,
)
from .wire import ApiError, empty, json_response

if TYPE_CHECKING:
    from .container_model import Container
    from .engine import Ctx
    from .state import State
    from .wire import Response

KEEPS_SETTINGS = "network-disconnect-keeps-settings"  # inline promise faults of network_disconnect
KEEPS_ENDPOINT = "network-disconnect-keeps-endpoint"


def network_list(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("dangling", "driver", "id", "label", "name", "scope", "type"))
    state = ctx.state
    out = []
    with state.lock:
        for net in state.networks.values():
            if filters.get("name") and not any(v in net.name for v in filters["name"]):
                continue
            if filters.get("id") and not any(net.id.startswith(v) for v in filters["id"]):
                continue
            if filters.get("driver") and net.driver not in filters["driver"]:
                continue
            if filters.get("scope") and net.scope not in filters["scope"]:
                continue
            if filters.get("label") and not match_labels(net.labels, filters["label"]):
                continue
            if filters.get("type"):
                kind = "builtin" if net.predefined else "custom"
                if kind not in filters["type"]:
                    continue
            if filters.get("dangling"):
                dangling = truthy(filters["dangling"][:1])
                used = net.predefined or _in_use(state, net)
                if dangling == used:
                    continue
            item = inspect_json(net, ctx.version)
            if ctx.at_least("1.28"):
                item["Containers"] = {}  # from 1.28 the list carries no endpoints (moby: Detailed below 1.28)
            out.append(item)
    return json_response(out)


def _in_use(state: State, net: Network) -> bool:
    return any(net.id == s.get("NetworkID") or net.name in c.networks
               for c in state.containers.values() for s in c.networks.values())


def network_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        net = get(ctx.state, ctx.params["id"])
        return json_response(inspect_json(net, ctx.version, ctx.qbool("verbose")))


def network_create(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    name = body.get("Name") or ""
    if not name:
        raise ApiError(400, "network name is required")
    driver = body.get("Driver") or "bridge"
    state = ctx.state
    with state.lock:
        if name in PREDEFINED:
            raise ApiError(403, f"operation is not permitted on predefined {name} network ")
        if any(n.name == name for n in state.networks.values()):
            raise ApiError(409, f"network with name {name} already exists")
        if driver not in DRIVERS:
            raise ApiError(404, f'plugin "{driver}" not found')
        if driver in ("host", "null"):
            raise ApiError(403, f'only one instance of "{driver}" network is allowed')
        if driver == "overlay" and not state.swarm.is_manager:
            raise ApiError(403, "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm "
                                "join\" to connect this node to swarm and try again.")
        ipam = body.get("IPAM") or {}
        config = [dict(c) for c in ipam.get("Config") or []]
        if not config and driver in ("bridge", "overlay", "macvlan", "ipvlan"):
            used = {c["Subnet"] for n in state.networks.values() for c in n.ipam_config}
            for second in range(18, 32):
                subnet = f"172.{second}.0.0/16"
                if subnet not in used:
                    config = [{"Subnet": subnet, "Gateway": f"172.{second}.0.1"}]
                    break
        for item in config:
            try:
                subnet = ipaddress.ip_network(item["Subnet"], strict=False) if "Subnet" in item else None
                if item.get("Gateway"):
                    ipaddress.ip_address(item["Gateway"])
            except ValueError as exc:
                raise ApiError(400, f"invalid IPAM config: {exc}") from None
            if subnet is not None and "Gateway" not in item:
                item["Gateway"] = str(subnet.network_address + 1)
        net = Network(new_id(), name, driver, "swarm" if driver == "overlay" else "local", now_ns(),
                      bool(body.get("Internal")), bool(body.get("Attachable")), bool(body.get("Ingress")),
                      bool(body.get("EnableIPv6")), body.get("EnableIPv4", True) is not False,
                      bool(body.get("ConfigOnly")), (body.get("ConfigFrom") or {}).get("Network", ""),
                      dict(body.get("Options") or {}), dict(body.get("Labels") or {}), ipam.get("Driver") or "default",
                      ipam.get("Options"), config)
        state.networks[net.id] = net
        state.emit("network", "create", net.id, {"name": name, "type": driver})
    return json_response({"Id": net.id, "Warning": ""}, 201)


def network_delete(ctx: Ctx) -> Response:
    state = ctx.state
    with state.lock:
        net = get(state, ctx.params["id"])
        if net.predefined:
            raise ApiError(403, f"{net.name} is a pre-defined network and cannot be removed")
        if net.endpoints:
            raise ApiError(403, f"error while removing network: network {net.name} id {net.id} has active endpoints")
        del state.networks[net.id]
        for container in state.containers.values():
            container.networks.pop(net.name, None)
        state.emit("network", "destroy", net.id, {"name": net.name, "type": net.driver})
    return empty(204)


def network_connect(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    state = ctx.state
    with state.lock:
        net = get(state, ctx.params["id"])
        container = get_container(state, body.get("Container") or "")
        if net.name in container.networks:
            if container.running:  # its endpoint exists: libnetwork refuses a second one (ForbiddenErrorf)
                raise ApiError(403, f"endpoint with name {container.name.lstrip('/')} already exists in network "
                                    f"{net.name}")
            return empty(200)  # moby updateNetworkSettings: "Avoid duplicate config", nothing changes
        if net.driver in ("host", "null") or any(n in ("host", "none") for n in container.networks):
            raise ApiError(400, "container cannot be disconnected from host network or connected to host network")
        container.networks[net.name] = endpoint_settings(net, body.get("EndpointConfig"), ctx.version)
        if container.running:
            attach_one(state, container, net)
        state.emit("network", "connect", net.id, {"container": container.id, "name": net.name, "type": net.driver})
    return empty(200)


def attach_one(state: State, container: Container, net: Network) -> None:
    saved = container.networks
    container.networks = {net.name: saved[net.name]}
    try:
        attach_running(state, container)
    finally:
        container.networks = saved


def network_disconnect(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    state = ctx.state
    with state.lock:
        net = get(state, ctx.params["id"])
        container = get_container(state, body.get("Container") or "")
        force = bool(body.get("Force"))
        if net.name not in container.networks and not (force and container.id in net.endpoints):
            # Plain errors in moby daemon/container_operations.go (no errdefs class: 500), worded apart for a
            # running container (disconnectFromNetwork) and a stopped one (DisconnectFromNetwork)
            where = "network" if container.running else "the network"
            raise ApiError(500, f"container {container.id} is not connected to {where} {net.name}")
        # Promise faults (promise_faults/networks.py): one side of the disconnect not done; Force still is.
        if force or not ctx.fault(KEEPS_SETTINGS):
            container.networks.pop(net.name, None)
        if force or not ctx.fault(KEEPS_ENDPOINT):
            net.endpoints.pop(container.id, None)
        state.emit("network", "disconnect", net.id, {"container": container.id, "name": net.name,
                                                      "type": net.driver})
    return empty(200)


def network_prune(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("label", "label!", "until"))
    until = [parse_time(v) for v in filters.get("until", [])]
    deleted = []
    state = ctx.state
    with state.lock:
        for net in list(state.networks.values()):
            if net.predefined or net.endpoints or _in_use(state, net):
                continue
            if not prune_selects(filters, net.labels, net.created_ns / 1e9, until):
                continue
            del state.networks[net.id]
            deleted.append(net.name)
            state.emit("network", "destroy", net.id, {"name": net.name, "type": net.driver})
        if deleted:
            state.emit("network", "prune", "", {"reclaimed": "0"})
    return json_response({"NetworksDeleted": deleted})


# The routes this module serves, in match order (conformance/fake/routes.py builds the router).
ROUTES: tuple[Route, ...] = (
    route("GET", "/networks", "NetworkList", network_list),
    route("GET", "/networks/{id}", "NetworkInspect", network_inspect),
    route("POST", "/networks/create", "NetworkCreate", network_create),
    route("DELETE", "/networks/{id}", "NetworkDelete", network_delete),
    route("POST", "/networks/{id}/connect", "NetworkConnect", network_connect),
    route("POST", "/networks/{id}/disconnect", "NetworkDisconnect", network_disconnect),
    route("POST", "/networks/prune", "NetworkPrune", network_prune),
)
