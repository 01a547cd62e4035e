"""Promise checkers: swarm mode (swarm, nodes, services, tasks, secrets, configs), registered by name in
suites/promise_checks/__init__.py.

`swarm-filter-pair` lists twice: with a filter the object matches (it must be listed) and with one it does not
(it must not be); a one-node swarm has no second node to exclude, so the object is its own counterexample:

    with:
      needs: [promise_swarm_node]
      operation: NodeList
      ident: "{promise_swarm_node.id}"      # what identifies the object (`key`, default /ID, in each item)
      match: {role: [manager]}              # filters it matches
      miss: {role: [worker]}                # filters it does not match
      only: {pointer: /ServiceID, equals: "..."}   # optional: every item of the match list says so
      either: [{membership: [accepted]}, {membership: [pending]}]   # optional: it is listed with exactly one

`swarm-recorded` judges one step of an update sequence, recorded once per API version (run.once) and shared
by the promises that judge its steps: `record` names it (RECORDERS), `expect` holds rules of the `answer`
checker on the record, `compare` relates two of its values:

    with:
      needs: [promise_service]
      record: service-update
      expect: [{pointer: /stale, at_least: 400}]
      compare: [[/after/Version/Index, gt, /before/Version/Index]]   # gt, later (RFC 3339), eq, ne,
                                                                      # contains, lacks
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from conformance.versions import parse
from suites.promise_checks.fixtures import PROMISE_LABEL
from suites.promise_checks.generic import judge
from suites.promise_checks.runtime import PromiseBroken, PromiseRun, at, has

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def _ids(run: PromiseRun, params: dict[str, Any], filters: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """(the items listed with these filters, their keys)."""
    query = dict(params.get("query") or {})
    query["filters"] = filters
    doc = run.json(params["operation"], params.get("path"), query=query)
    items = at(doc, params["items"]) if params.get("items") else doc
    if not isinstance(items, list):
        raise PromiseBroken(f"{params['operation']}: the answer is {type(items).__name__}, not a list")
    key = params.get("key", "/ID")
    return items, [at(it, key) for it in items if has(it, key)]


def swarm_filter_pair(run: PromiseRun) -> None:
    params = run.render(run.params, run.params.get("needs", ()))
    ident, op = params["ident"], params["operation"]
    if "match" in params:
        items, ids = _ids(run, params, params["match"])
        run.expect(ident in ids, f"{op} filters={params['match']}: {ident} matches them but is not listed "
                                 f"({len(ids)} listed)")
        only = params.get("only")
        if only:
            wrong = [i for i, it in enumerate(items) if not has(it, only["pointer"])
                     or at(it, only["pointer"]) != only["equals"]]
            run.expect(not wrong, f"{op} filters={params['match']}: item(s) {wrong} do not have "
                                  f"{only['pointer']} = {only['equals']!r}", f"/{wrong[0]}" if wrong else "")
    if "miss" in params:
        _, ids = _ids(run, params, params["miss"])
        run.expect(ident not in ids, f"{op} filters={params['miss']}: {ident} does not match them, yet is listed")
    if "either" in params:  # filters of which the object matches exactly one (which one, the API does not say)
        hits = [f for f in params["either"] if ident in _ids(run, params, f)[1]]
        run.expect(len(hits) == 1, f"{op}: {ident} is listed with {len(hits)} of the filters {params['either']}, "
                                   "not with exactly one")


def _instant(value: Any) -> tuple[datetime, int] | None:
    """An RFC 3339 time with up to nanoseconds as (the second, nanoseconds): Go trims trailing zeros, so the
    texts of two instants do not compare as strings."""
    found = _STAMP.match(value) if isinstance(value, str) else None
    if not found:
        return None
    second = datetime.fromisoformat(found.group(1) + found.group(3).replace("Z", "+00:00")).astimezone(timezone.utc)
    return second, int((found.group(2) or "0").ljust(9, "0"))


def _holds(left: Any, how: str, right: Any) -> bool:
    if how == "gt":
        return all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right)) and left > right
    if how == "later":
        a, b = _instant(left), _instant(right)
        return a is not None and b is not None and a > b
    if how in ("contains", "lacks"):
        if isinstance(left, dict) and isinstance(right, dict):
            inside = all(k in left and left[k] == v for k, v in right.items())
        else:
            inside = isinstance(left, list) and right in left
        return inside if how == "contains" else not inside
    if how in ("eq", "ne"):
        return (left == right) == (how == "eq")
    raise ValueError(f"unknown comparison {how!r} (gt, later, contains, lacks, eq, ne)")


# --- update sequences, recorded once per API version ---------------------------------------------------

def _labels(doc: dict[str, Any]) -> dict[str, str]:
    return dict((doc.get("Spec") or {}).get("Labels") or {})


def _ours(run: PromiseRun, what: str) -> dict[str, str]:
    """The label an update sets: its key names the xdist worker, so two workers updating the one swarm (or
    node) at once each find, and remove, their own."""
    return {f"{PROMISE_LABEL}.{run.engine.state.worker}": f"{what}-{run.version}"}


def _update(run: PromiseRun, op: str, path: dict[str, str] | None, version: Any, body: dict[str, Any],
            query: dict[str, Any] | None = None) -> Any:
    return run.send(op, path, expect=(), query={"version": version, **(query or {})}, json_body=body)


def _sequence(run: PromiseRun, inspect: str, update: str, path: dict[str, str] | None, ours: dict[str, str],
              query: dict[str, Any] | None = None) -> dict[str, Any]:
    """Inspect, update (the spec as it is plus `ours` labels), inspect again, then update with the version the
    first update was based on (stale): {before, update (status), after, stale (status), ours}."""
    before = run.json(inspect, path)
    for _ in range(3):
        spec = {**before["Spec"], "Labels": {**_labels(before), **ours}}
        ex = _update(run, update, path, before["Version"]["Index"], spec, query)
        if ex.status != 500 or b"out of sequence" not in ex.body:
            break
        before = run.json(inspect, path)  # another client updated it meanwhile: base the update on that
    after = run.json(inspect, path)
    return {"before": before, "update": ex.status, "after": after, "ours": ours,
            "stale_base": before["Version"]["Index"], "spec_before": before["Spec"]}


def _stale(run: PromiseRun, update: str, path: dict[str, str] | None, record: dict[str, Any]) -> None:
    record["stale"] = _update(run, update, path, record.pop("stale_base"), record.pop("spec_before")).status


def _restore(run: PromiseRun, inspect: str, update: str, path: dict[str, str] | None, ours: dict[str, str]) -> None:
    """Take our label off again (an engine-wide object: the swarm, the node), whatever else changed meanwhile."""
    for _ in range(3):
        now = run.json(inspect, path)
        labels = {k: v for k, v in _labels(now).items() if k not in ours}
        if labels == _labels(now) or _update(run, update, path, now["Version"]["Index"],
                                             {**now["Spec"], "Labels": labels}).status == 200:
            return


def _record_swarm(run: PromiseRun) -> dict[str, Any]:
    ours = _ours(run, "swarm")
    record = _sequence(run, "SwarmInspect", "SwarmUpdate", None, ours, {"rotateWorkerToken": True})
    try:
        _stale(run, "SwarmUpdate", None, record)
    finally:
        _restore(run, "SwarmInspect", "SwarmUpdate", None, ours)
    return record


def _record_node(run: PromiseRun) -> dict[str, Any]:
    node = run.fixture("promise_swarm_node")["id"]
    path, ours = {"id": node}, _ours(run, "node")
    record = _sequence(run, "NodeInspect", "NodeUpdate", path, ours)
    try:
        record["node"] = node
        if parse(run.version) >= parse("1.40"):  # node.label: from API 1.40
            (key, value), = ours.items()
            listed = run.json("NodeList", query={"filters": {"node.label": [f"{key}={value}"]}})
            unlisted = run.json("NodeList", query={"filters": {"node.label": [f"{key}=other"]}})
            record["listed"] = [n.get("ID") for n in listed]
            record["unlisted"] = [n.get("ID") for n in unlisted]
        _stale(run, "NodeUpdate", path, record)
    finally:
        _restore(run, "NodeInspect", "NodeUpdate", path, ours)
    return record


def _record_service(run: PromiseRun) -> dict[str, Any]:
    path = {"id": run.fixture("promise_service")["id"]}
    record = _sequence(run, "ServiceInspect", "ServiceUpdate", path, _ours(run, "service"))
    _stale(run, "ServiceUpdate", path, record)
    return record


def _data_record(kind: str) -> Callable[[PromiseRun], dict[str, Any]]:
    """A secret's or config's labels updated, then its Data changed (refused: only Labels may change)."""
    title = kind.capitalize()

    def record(run: PromiseRun) -> dict[str, Any]:
        path = {"id": run.fixture(f"promise_{kind}")["id"]}
        out = _sequence(run, f"{title}Inspect", f"{title}Update", path, _ours(run, kind))
        after = out["after"]
        changed = {**after["Spec"], "Data": "Y2hhbmdlZA=="}  # "changed"
        out["refused"] = _update(run, f"{title}Update", path, after["Version"]["Index"], changed).status
        _stale(run, f"{title}Update", path, out)
        return out
    return record


RECORDERS: dict[str, Callable[[PromiseRun], dict[str, Any]]] = {
    "swarm-update": _record_swarm,
    "node-update": _record_node,
    "service-update": _record_service,
    "secret-update": _data_record("secret"),
    "config-update": _data_record("config"),
}


def swarm_recorded(run: PromiseRun) -> None:
    params = run.render(run.params, run.params.get("needs", ()))
    name = params["record"]
    record = run.once(f"swarm:{name}", RECORDERS[name])
    for rule in params.get("expect", []):
        judge(run, record, rule)
    for left, how, right in params.get("compare", []):
        if not (has(record, left) and has(record, right)):
            run.broken(f"{name}: {left if not has(record, left) else right} is missing from what was answered")
            continue
        a, b = at(record, left), at(record, right)
        run.expect(_holds(a, how, b), f"{name}: {left} = {a!r}, not {how} {right} = {b!r}", left)


CHECKERS: dict[str, Callable[[PromiseRun], None]] = {
    "swarm-filter-pair": swarm_filter_pair,
    "swarm-recorded": swarm_recorded,
}
