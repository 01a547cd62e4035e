"""Promise checkers: networks, volumes and plugins (registered by name in suites/promise_checks/__init__.py).

Sequences that change state (connect then disconnect a container, create then prune, set a plugin setting)
run once per version (`run.once`) and return what each step answered; each promise judges one step with
data-only rules (generic.judge, plus `lacks`: a list that must not hold a value):

    test: netvol-sequence
    with:
      needs: [promise_net_other, promise_net_vol_user]   # made before a self-test's fault is switched on
      sequence: connect                                  # SEQUENCES below
      stage: container_connected                         # which answer of the sequence
      expect:                                            # "{seq.X}" names what the sequence made
        - {pointer: /NetworksDeleted, contains: "{seq.pruned}"}
        - {pointer: /NetworksDeleted, lacks: "{seq.kept}"}

A step whose answer breaks the sequence (another status than the one it needs, a body that is not JSON) ends it
there: the promises judged on that step or a later one are broken with its message, those judged on an
earlier step are judged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.scenarios import render
from conformance.versions import parse
from plugins.fixtures import _quietly, unique_name
from plugins.target_profile import unsupported_by_target
from suites.promise_checks.fixtures_networks import CONNECT_ALIAS
from suites.promise_checks.generic import judge, nodes
from suites.promise_checks.runtime import PromiseBroken, PromiseRun

PRUNE_LABEL = "com.docker-api-conformance.promise-prune"
Made = dict[str, Any]  # {"docs": {stage: answer}, "exchanges": {stage: Exchange}, "names": {...}}


class _Broken(PromiseBroken):
    """A step broke its sequence: what the sequence made up to there comes along."""

    def __init__(self, message: str, made: Made) -> None:
        super().__init__(message)
        self.made = made


def _step(run: PromiseRun, made: Made, stage: str, op_id: str, path: dict[str, Any] | None = None,
          expect: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
    """Send one request of a sequence and keep its answer (JSON, or None for an empty body) under `stage`."""
    try:
        ex = run.send(op_id, path, expect=expect, **kwargs)
    except PromiseBroken as exc:
        made["exchanges"][stage], made["broken"] = run.last, (stage, str(exc))
        raise _Broken(str(exc), made) from None
    made["exchanges"][stage] = ex
    try:
        made["docs"][stage] = ex.json() if ex.body.strip() else None
    except ValueError:
        made["broken"] = (stage, f"{op_id} answered {ex.status}, a body that is not JSON: {ex.excerpt(200)}")
        raise _Broken(made["broken"][1], made) from None
    return made["docs"][stage]


def _made(name: str) -> Callable[[PromiseRun], Made]:
    """SEQUENCES[name] for run.once: a sequence a step broke returns what it made before that step."""
    def make(run: PromiseRun) -> Made:
        try:
            return SEQUENCES[name](run)
        except _Broken as exc:
            return exc.made
    return make


def _new() -> Made:
    return {"docs": {}, "exchanges": {}, "names": {}}


def _connect(run: PromiseRun) -> Made:
    """promise_net_vol_user joins promise_net_other (alias CONNECT_ALIAS), then leaves it; both inspects each time."""
    net, user = run.fixture("promise_net_other"), run.fixture("promise_net_vol_user")
    made = _new()
    try:
        _step(run, made, "connect", "NetworkConnect", {"id": net["id"]},
              json_body={"Container": user["id"], "EndpointConfig": {"Aliases": [CONNECT_ALIAS]}})
        _step(run, made, "container_connected", "ContainerInspect", {"id": user["id"]})
        _step(run, made, "network_connected", "NetworkInspect", {"id": net["id"]})
        _step(run, made, "disconnect", "NetworkDisconnect", {"id": net["id"]}, json_body={"Container": user["id"]})
        _step(run, made, "container_disconnected", "ContainerInspect", {"id": user["id"]})
        _step(run, made, "network_disconnected", "NetworkInspect", {"id": net["id"]})
    finally:
        left = made["docs"].get("container_disconnected") or {}
        still = made["docs"].get("network_disconnected") or {}
        if (net["name"] in ((left.get("NetworkSettings") or {}).get("Networks") or {})
                or user["id"] in (still.get("Containers") or {}) or "network_disconnected" not in made["docs"]):
            # leave promise_net_other unused for the promises that follow (dangling, prune)
            _quietly(run.sdk.disconnect_container_from_network, user["id"], net["id"], force=True)
    return made


def _prunes(run: PromiseRun, op_id: str) -> bool:
    """Whether the sequence sends its prune: from 1.30 (the label filter of prunes), on a target with the route.  A
    target whose profile lists the prune as unsupported (a classic Swarm manager has no prune routes) still gets
    the create judged; the prune promises themselves are skipped there (plugins/target_profile.py)."""
    return parse(run.version) >= parse("1.30") and not unsupported_by_target(op_id, run.engine.state.target.kind)


def _labels_filter(run: PromiseRun, token: str) -> list[str]:
    """The run's own labels (the suite refuses a prune without them) and this sequence's token."""
    return [f"{k}={v}" for k, v in run.engine.state.label.items()] + [f"{PRUNE_LABEL}={token}"]


def _network_prune(run: PromiseRun) -> Made:
    """NetworkCreate of a network labelled with a fresh token and (SDK) one labelled token-keep; from 1.30
    (the label filter of NetworkPrune) a prune filtered on the token; both removed at the end."""
    state = run.engine.state
    token = unique_name(state, "prune")
    pruned, kept = f"{token}-net", f"{token}-keep-net"
    made = _new()
    made["names"] = {"pruned": pruned, "kept": kept}
    kept_made = False
    try:
        _step(run, made, "create", "NetworkCreate", expect=(201,),
              json_body={"Name": pruned, "Driver": "bridge", "Labels": {**state.label, PRUNE_LABEL: token}})
        run.sdk.create_network(kept, driver="bridge", labels={**state.label, PRUNE_LABEL: f"{token}-keep"})
        kept_made = True
        if _prunes(run, "NetworkPrune"):
            _step(run, made, "prune", "NetworkPrune", query={"filters": {"label": _labels_filter(run, token)}})
    finally:
        _quietly(run.sdk.remove_network, pruned)
        if kept_made:
            _quietly(run.sdk.remove_network, kept)  # by name: a broken NetworkCreate answer may lie about the ID
    return made


def _volume_prune(run: PromiseRun) -> Made:
    """VolumeCreate of a volume labelled with a fresh token and (SDK) one labelled token-keep; from 1.30 a prune
    filtered on the token (with all=true from 1.42, where a prune otherwise spares named volumes)."""
    state = run.engine.state
    token = unique_name(state, "prune")
    pruned, kept = f"{token}-vol", f"{token}-keep-vol"
    made = _new()
    made["names"] = {"pruned": pruned, "kept": kept, "token": token}
    try:
        _step(run, made, "create", "VolumeCreate", expect=(201,),
              json_body={"Name": pruned, "Driver": "local", "Labels": {**state.label, PRUNE_LABEL: token}})
        run.sdk.create_volume(kept, driver="local", labels={**state.label, PRUNE_LABEL: f"{token}-keep"})
        if _prunes(run, "VolumePrune"):
            filters: dict[str, list[str]] = {"label": _labels_filter(run, token)}
            if parse(run.version) >= parse("1.42"):
                filters["all"] = ["true"]
            _step(run, made, "prune", "VolumePrune", query={"filters": filters})
    finally:
        _quietly(run.sdk.remove_volume, pruned, force=True)
        _quietly(run.sdk.remove_volume, kept, force=True)
    return made


def _plugin_set(run: PromiseRun) -> Made:
    """PluginSet DAC_SETTING=v<version> on the network plugin (a value of this version), then its inspect."""
    plugins = run.fixture("promise_plugins")
    made = _new()
    made["names"] = {"value": f"v{run.version}"}
    _step(run, made, "set", "PluginSet", {"name": plugins["network"]}, expect=(204,),
          json_body=[f"DAC_SETTING=v{run.version}"])
    _step(run, made, "inspect", "PluginInspect", {"name": plugins["network"]})
    return made


SEQUENCES: dict[str, Callable[[PromiseRun], Made]] = {
    "connect": _connect, "network-prune": _network_prune, "volume-prune": _volume_prune, "plugin-set": _plugin_set,
}


def sequence(run: PromiseRun) -> None:
    needs = run.params.get("needs", ())
    name, stage = run.params["sequence"], run.params["stage"]
    made = run.once(f"netvol-{name}", _made(name))
    if stage not in made["docs"] and "broken" in made:
        broken_at, message = made["broken"]
        run.last = made["exchanges"].get(broken_at)
        raise PromiseBroken(message)
    if stage not in made["docs"]:
        raise ValueError(f"{run.promise.id}: sequence {name} has no stage {stage!r} at {run.version}")
    run.last = made["exchanges"][stage]
    context = {**run.context(needs), "seq": made["names"]}
    doc = made["docs"][stage]
    for rule in render(run.params["expect"], context):
        if "lacks" in rule:
            if not nodes(doc, rule["pointer"]):
                run.broken(f"{rule['pointer']} is missing")
            for where, value in nodes(doc, rule["pointer"]):
                run.expect(value is None or (isinstance(value, list) and rule["lacks"] not in value),
                           f"{where}: {value!r} holds {rule['lacks']!r}", where)
            continue
        judge(run, doc, rule)


def status(run: PromiseRun) -> None:
    """One request whose status is the promise (e.g. 409 for a volume in use); `status` is that code."""
    params = run.render(run.params, run.params.get("needs", ()))
    req = params["request"]
    # send breaks the promise on any other status
    run.send(req["operation"], req.get("path"), expect=(int(params["status"]),), query=req.get("query"),
             json_body=req.get("body"))


def _type_text(item: Any) -> str:
    """An interface type as "prefix.capability/version": the Engine writes strings; specs before 1.52 declare
    {Prefix, Capability, Version} objects (schemas/errata.yaml plugin-interface-types-are-strings)."""
    if isinstance(item, dict):
        return f"{item.get('Prefix', '')}.{item.get('Capability', '')}/{item.get('Version', '')}"
    return str(item)


def plugin_types(run: PromiseRun) -> None:
    """PluginInspect: Config.Interface.Types holds each of `types` (in either form) and Socket is `socket`."""
    params = run.render(run.params, run.params.get("needs", ()))
    doc = run.json("PluginInspect", {"name": params["plugin"]})
    interface = (doc.get("Config") or {}).get("Interface") or {}
    found = [_type_text(t) for t in interface.get("Types") or []]
    for wanted in params["types"]:
        run.expect(wanted in found, f"/Config/Interface/Types: {found!r} lacks {wanted!r}", "/Config/Interface/Types")
    run.equal(interface.get("Socket"), params["socket"], "/Config/Interface/Socket", "/Config/Interface/Socket")


CHECKERS = {"netvol-sequence": sequence, "netvol-status": status, "plugin-interface-types": plugin_types}
