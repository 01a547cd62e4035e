"""Volumes: local driver only; in use = referenced by any container (running or not).  From API 1.42 a swarm
manager also holds cluster (CSI) volumes, swarmkit objects (no CSI plugin runs here: they stay pending, no Info)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .fs import FS
from .routing import Route, route
from .swarm_model import Obj, check_version, require_manager, sid
from .util import (
    Version,
    find_by_ref,
    match_labels,
    new_id,
    now_ns,
    parse_filters,
    parse_time,
    prune_selects,
    rfc3339,
    truthy,
)
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


# --- cluster volumes: swarmkit objects, seen from API 1.42 on a manager ----------------------------------
CLUSTER_VOLUMES = "1.42"  # moby api/server/router/volume/volume_routes.go clusterVolumesVersion
_SCOPES = ("single", "multi")  # each enum's first value is swarmkit's zero one
_SHARING = ("none", "readonly", "onewriter", "all")
_AVAILABILITY = ("active", "pause", "drain")
_INVALID = "rpc error: code = InvalidArgument desc = "


@dataclass
class ClusterVolume(Obj):
    """A swarmkit Volume: Obj's ID, version, times and Spec (the ClusterVolumeSpec as moby converts it back), plus
    the annotations and driver that the Engine shows at the Volume's top level."""

    name: str = ""
    driver: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    pending_delete: bool = False


def cluster_volumes(state: State) -> dict[str, ClusterVolume]:
    """The swarm's volume store, by ID (it lives and dies with the swarm: SwarmState.reset)."""
    return state.swarm.volumes


def clustered(ctx: Ctx) -> bool:
    """Whether the request sees cluster volumes too (moby volume_routes.go: API >= 1.42 and cluster.IsManager())."""
    return ctx.at_least(CLUSTER_VOLUMES) and ctx.state.swarm.is_manager


def find_cluster(state: State, ref: str) -> ClusterVolume:
    """moby daemon/cluster/helpers.go getVolume: the full ID, else the name, else a unique ID prefix."""
    found = find_by_ref(cluster_volumes(state).values(), ref, lambda v: v.name)
    if found is None:
        raise ApiError(404, f"volume {ref} not found")
    return found


def _enum(value: Any, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else allowed[0]  # moby converts an unknown value to swarmkit's zero one


def cluster_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A ClusterVolumeSpec as the Engine answers it: moby daemon/cluster/convert/volume.go converts it to swarmkit's
    VolumeSpec and back (empty fields left out, Mount wins over Block, Availability always set)."""
    out: dict[str, Any] = {"Group": spec["Group"]} if spec.get("Group") else {}
    mode = spec.get("AccessMode")
    if isinstance(mode, dict):
        access: dict[str, Any] = {"Scope": _enum(mode.get("Scope"), _SCOPES),
                                  "Sharing": _enum(mode.get("Sharing"), _SHARING)}
        mount = mode.get("MountVolume")
        if mount is not None:
            access["MountVolume"] = {k: mount[k] for k in ("FsType", "MountFlags")
                                     if isinstance(mount, dict) and mount.get(k)}
        elif mode.get("BlockVolume") is not None:
            access["BlockVolume"] = {}
        out["AccessMode"] = access
    needs = spec.get("AccessibilityRequirements")
    if isinstance(needs, dict):
        out["AccessibilityRequirements"] = {
            key: [{"Segments": t["Segments"]} if isinstance(t, dict) and t.get("Segments") else {} for t in needs[key]]
            for key in ("Requisite", "Preferred") if needs.get(key)}
    capacity = spec.get("CapacityRange")
    if isinstance(capacity, dict):
        out["CapacityRange"] = {key: int(capacity.get(key) or 0) for key in ("RequiredBytes", "LimitBytes")}
    secrets = [{"Key": s.get("Key") or "", "Secret": s.get("Secret") or ""} for s in spec.get("Secrets") or []
               if isinstance(s, dict)]
    if secrets:
        out["Secrets"] = secrets
    out["Availability"] = _enum(spec.get("Availability"), _AVAILABILITY)
    return out


def cluster_json(volume: ClusterVolume) -> dict[str, Any]:
    """moby convert.VolumeFromGRPC: no mount point, Scope global, the top-level CreatedAt in Go's time.Time.String()
    form; PublishStatus and Info are nil (left out) while no CSI plugin has the volume."""
    return {"ClusterVolume": volume.base(), "CreatedAt": rfc3339(volume.created_ns)[:-1].replace("T", " ") +
            " +0000 UTC", "Driver": volume.driver, "Labels": dict(volume.labels) or None, "Mountpoint": "",
            "Name": volume.name, "Options": dict(volume.options) or None, "Scope": "global"}


def _cluster_create(ctx: Ctx, body: dict[str, Any]) -> Response:
    """moby Cluster.CreateVolume -> swarmkit controlapi CreateVolume, which checks the spec (InvalidArgument: 400)
    and that its secrets exist, not that a CSI plugin serves the driver: the volume is made, pending.  No event:
    moby's swarm event watch (daemon/cluster, daemon/events.go) takes no volume events."""
    state = ctx.state
    with state.lock:
        swarm = require_manager(ctx)  # moby lockedManagerAction: 503 off a manager
        raw = body["ClusterVolumeSpec"] if isinstance(body["ClusterVolumeSpec"], dict) else {}
        name = body.get("Name") or ""
        mode = raw.get("AccessMode")
        if not name:
            raise ApiError(400, _INVALID + "meta: name must be provided")
        if mode is None:
            raise ApiError(400, _INVALID + "AccessMode must not be nil")
        if not isinstance(mode, dict) or (mode.get("MountVolume") is None and mode.get("BlockVolume") is None):
            raise ApiError(400, _INVALID + "Volume AccessMode must specify either Mount or Block access type")
        missing = [str(s.get("Secret") or "") for s in raw.get("Secrets") or []
                   if isinstance(s, dict) and s.get("Secret") not in swarm.secrets]  # store.GetSecret: by ID
        if missing:
            raise ApiError(400, _INVALID + f"secret{'s' if len(missing) > 1 else ''} not found: {', '.join(missing)}")
        volumes = cluster_volumes(state)
        if any(v.name == name for v in volumes.values()):  # swarmkit store: ErrNameConflict, returned as is
            raise ApiError(500, "rpc error: code = Unknown desc = name conflicts with an existing object")
        now = now_ns()
        volume = ClusterVolume(sid(), cluster_spec(raw), now, now, swarm.next_index(), name=name,
                               driver=body.get("Driver") or "", labels=dict(body.get("Labels") or {}),
                               options=dict(body.get("DriverOpts") or {}))
        volumes[volume.id] = volume
        return json_response(cluster_json(volume), 201)


def _cluster_remove(state: State, ref: str, force: bool) -> None:
    """moby Cluster.RemoveVolume (forced: a missing volume is no error) -> swarmkit RemoveVolume: forced, deleted at
    once; else marked PendingDelete for the CSI manager, which needs the driver's plugin to delete it (here none)."""
    try:
        volume = find_cluster(state, ref)
    except ApiError:
        if force:
            return
        raise
    if force:
        del cluster_volumes(state)[volume.id]
    else:
        volume.pending_delete = True


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
        if clustered(ctx):
            # moby getVolumesList appends the swarm's volumes; daemon/cluster/volumes.go GetVolumes sends swarmkit an
            # empty ListVolumesRequest, so the filters never apply to them
            out += [cluster_json(v) for v in cluster_volumes(ctx.state).values()]
    return json_response({"Volumes": out, "Warnings": None})  # a nil slice: dockerd 20.10 sends null


def volume_create(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    if ctx.at_least(CLUSTER_VOLUMES) and body.get("ClusterVolumeSpec") is not None:
        return _cluster_create(ctx, body)  # moby postVolumesCreate: a non-nil ClusterVolumeSpec, from 1.42
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
    state = ctx.state
    with state.lock:
        name = ctx.params["name"]
        if name not in state.volumes and clustered(ctx):
            # moby getVolumeByName: the local volumes first, then the swarm's (by name or ID), whose 404 it answers
            return json_response(cluster_json(find_cluster(state, name)))
        return json_response(inspect_json(get(state, name), ctx.version))


def volume_update(ctx: Ctx) -> Response:
    state = ctx.state
    with state.lock:
        if not state.swarm.is_manager:
            raise ApiError(503, "volume update only valid for cluster volumes, but swarm is unavailable")
        # moby putVolumesUpdate: a manager parses `version` first, then the body, then asks the cluster
        raw = ctx.q("version") or ""
        if not raw.isdigit():
            raise ApiError(400, f"invalid swarm object version '{raw}': strconv.ParseUint: parsing \"{raw}\": "
                                "invalid syntax")
        body = ctx.body({}) or {}
        wanted = body.get("Spec") if isinstance(body, dict) else None
        ref = ctx.params["name"]
        volume = find_cluster(state, ref)
        # moby daemon/cluster/volumes.go UpdateVolume takes only Availability from the request (the rest of the
        # stored spec stays) and sends swarmkit VolumeID = the path as given: swarmkit's store finds it by ID only
        spec = dict(volume.spec)
        if isinstance(wanted, dict) and wanted.get("Availability") in _AVAILABILITY:
            spec["Availability"] = wanted["Availability"]
        if ref != volume.id:
            raise ApiError(404, f"rpc error: code = NotFound desc = volume {ref} not found")
        # swarmkit controlapi UpdateVolume compares AccessibilityRequirements as pointers: the request's, decoded
        # afresh, never equals the stored one, so a volume that has them cannot be updated
        if volume.spec.get("AccessibilityRequirements") is not None:
            raise ApiError(400, _INVALID + "AccessibilityRequirements cannot be updated")
        check_version(ctx, volume.index)  # swarmkit store: "update out of sequence"
        volume.spec, volume.index, volume.updated_ns = spec, state.swarm.next_index(), now_ns()
    return empty(200)  # moby writes no body


def volume_delete(ctx: Ctx) -> Response:
    state = ctx.state
    force = ctx.qbool("force")
    with state.lock:
        name = ctx.params["name"]
        volume = state.volumes.get(name)
        if volume is not None:
            using = users(state, volume)
            if using:
                raise ApiError(409, f"remove {name}: volume is in use - [{', '.join(using)}]")
            remove(state, volume)
        if clustered(ctx) and (volume is None or force):
            # moby deleteVolumes: a name no local volume has may be a cluster volume's (name or ID); a forced removal
            # asks the swarm as well
            _cluster_remove(state, name, force)
        elif volume is None and not force:
            raise ApiError(404, f"get {name}: no such volume")
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
