"""Volumes: local driver only; in use = referenced by any container (running or not)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .fs import FS
from .routing import Route, route
from .util import Version, match_labels, new_id, now_ns, parse_filters, parse_time, prune_selects, rfc3339, truthy
from .wire import ApiError, empty, json_response

if TYPE_CHECKING:
    from .engine import Ctx
    from .state import State
    from .wire import Response

ANON_LABEL = "com.docker.volume.anonymous"


@dataclass
class Volume:
    name: str
    driver: str = "local"
    created_ns: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False
    data: FS = field(default_factory=FS)


def users(state: State, volume: Volume) -> list[str]:
    return [c.id for c in state.containers.values() if any(m.get("Name") == volume.name for m in c.mounts)]


def inspect_json(volume: Volume, version: Version, usage: dict[str, int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "CreatedAt": rfc3339(volume.created_ns // 1_000_000_000 * 1_000_000_000),
        "Driver": volume.driver, "Labels": dict(volume.labels), "Mountpoint":
            f"/var/lib/docker/volumes/{volume.name}/_data", "Name": volume.name,
        "Options": dict(volume.options) or None,
        "Scope": "local",
    }
    if usage is not None:
        out["UsageData"] = usage
    return out


def ensure(state: State, name: str | None, anonymous: bool = False, labels: dict[str, str] | None = None,
           driver: str = "local", options: dict[str, str] | None = None) -> Volume:
    """Create (or return the existing) volume; emits `create` like the Engine."""
    if name and name in state.volumes:
        return state.volumes[name]
    volume = Volume(name or new_id(), driver or "local", now_ns(), dict(labels or {}), dict(options or {}),
                    anonymous or not name)
    if volume.anonymous:
        volume.labels.setdefault(ANON_LABEL, "")
    state.volumes[volume.name] = volume
    state.emit("volume", "create", volume.name, {"driver": volume.driver})
    return volume


def get(state: State, name: str) -> Volume:
    volume = state.volumes.get(name)
    if volume is None:
        raise ApiError(404, f"get {name}: no such volume")
    return volume


def volume_list(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("dangling", "driver", "label", "name"))
    out = []
    with ctx.state.lock:
        for volume in ctx.state.volumes.values():
            if filters.get("name") and not any(v in volume.name for v in filters["name"]):
                continue
            if filters.get("driver") and volume.driver not in filters["driver"]:
                continue
            if filters.get("label") and not match_labels(volume.labels, filters["label"]):
                continue
            if filters.get("dangling"):
                dangling = truthy(filters["dangling"][:1])
                if dangling == bool(users(ctx.state, volume)):
                    continue
            out.append(inspect_json(volume, ctx.version))
    return json_response({"Volumes": out, "Warnings": None})  # a nil slice: dockerd 20.10 sends null


def volume_create(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    if body.get("ClusterVolumeSpec"):
        raise ApiError(500, "cluster volumes need a swarm manager with a CSI plugin; the fake has none")
    driver = body.get("Driver") or "local"
    if driver != "local":  # the fake has no volume plugins (dockerd 20.10 observed: 404)
        raise ApiError(404, f"create {body.get('Name') or ''}: error looking up volume plugin {driver}: "
                            f"plugin \"{driver}\" not found")
    with ctx.state.lock:
        volume = ensure(ctx.state, body.get("Name") or None, False, body.get("Labels"), driver,
                        body.get("DriverOpts"))
        return json_response(inspect_json(volume, ctx.version), 201)


def volume_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        return json_response(inspect_json(get(ctx.state, ctx.params["name"]), ctx.version))


def volume_update(ctx: Ctx) -> Response:
    with ctx.state.lock:
        if not ctx.state.swarm.active:
            raise ApiError(503, "volume update only valid for cluster volumes, but swarm is unavailable")
    # moby putVolumesUpdate: a manager parses `version` first, then asks the cluster, which holds no local
    # volume (and the fake has no cluster volumes: no CSI plugin).
    raw = ctx.q("version") or ""
    if not raw.isdigit():
        raise ApiError(400, f"invalid swarm object version '{raw}': strconv.ParseUint: parsing \"{raw}\": "
                            "invalid syntax")
    raise ApiError(404, f"volume {ctx.params['name']} not found")


def volume_delete(ctx: Ctx) -> Response:
    state = ctx.state
    with state.lock:
        name = ctx.params["name"]
        volume = state.volumes.get(name)
        if volume is None:
            if ctx.qbool("force"):
                return empty(204)
            raise ApiError(404, f"get {name}: no such volume")
        using = users(state, volume)
        if using:
            raise ApiError(409, f"remove {name}: volume is in use - [{', '.join(using)}]")
        remove(state, volume)
    return empty(204)


def remove(state: State, volume: Volume) -> None:
    state.volumes.pop(volume.name, None)
    state.emit("volume", "destroy", volume.name, {"driver": volume.driver})


def volume_prune(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("all", "label", "label!", "until"))
    prune_all = ctx.below("1.42") or truthy(filters.get("all", []))
    until = [parse_time(v) for v in filters.get("until", [])]
    deleted = []
    reclaimed = 0
    state = ctx.state
    with state.lock:
        for volume in list(state.volumes.values()):
            if users(state, volume):
                continue
            if not prune_all and not volume.anonymous:
                continue
            if not prune_selects(filters, volume.labels, volume.created_ns / 1e9, until):
                continue
            reclaimed += volume.data.size()
            remove(state, volume)
            deleted.append(volume.name)
        if deleted:
            state.emit("volume", "prune", "", {"reclaimed": str(reclaimed)})
    return json_response({"VolumesDeleted": deleted, "SpaceReclaimed": reclaimed})


# The routes this module serves, in match order (conformance/fake/routes.py builds the router).
ROUTES: tuple[Route, ...] = (
    route("GET", "/volumes", "VolumeList", volume_list),
    route("POST", "/volumes/create", "VolumeCreate", volume_create),
    route("GET", "/volumes/{name}", "VolumeInspect", volume_inspect),
    route("PUT", "/volumes/{name}", "VolumeUpdate", volume_update),
    route("DELETE", "/volumes/{name}", "VolumeDelete", volume_delete),
    route("POST", "/volumes/prune", "VolumePrune", volume_prune),
)
