"""Compatibility matrix: outcomes -> cells (target x API version x operation), merge and diff.

A matrix document is plain JSON (reports/matrix.json).  Its cells hold the worst state of the
scenarios that ran for one (target, version, operation), in the order of recorder.STATES, and
the scenario entries that explain it.  results.json files are accepted wherever a matrix is,
so `merge`, `diff` and `render` work on either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from conformance import skips
from conformance.recorder import STATES, worst
from conformance.redact import redact_headers, redact_text
from conformance.versions import VersionError, parse

FORMAT = "docker-api-conformance/matrix"
FORMAT_VERSION = 1
GREEN = ("pass", "known-deviation", "spec-erratum", "not-observed")  # states a gated run accepts
RED = ("fail", "error")
EXCUSED = ("known-deviation", "spec-erratum")
# What a baseline comparison counts as a regression (--fail-on selects among them):
#   fail           a cell that was accepted now fails or errors
#   excused        a cell that passed is now only excused (a deviation or erratum explains a new finding)
#   excused-count  a cell's excused findings grew (an engine sends new nulls in a field already excused)
REGRESSION_KINDS = ("fail", "excused", "excused-count")
NOT_COVERED = "no scenario in the suite covers this operation"
NOT_RUN = "not run"

# Why a test was skipped: the typed category its skip carries (conformance/skips.py), never guessed from prose.
SKIP_CATEGORIES = (*skips.CATEGORIES, skips.NOT_COVERED)
TARGET_FIELDS = ("kind", "engine_version", "address", "api_min", "api_max", "os", "arch", "experimental")
# Fields of a scenario entry kept in the matrix (results.json holds more).
ENTRY_FIELDS = ("scenario", "promise", "state", "reason", "skip_category", "status", "checks", "findings", "exchange",
                "nodeid")


class MatrixError(ValueError):
    """An input file that is not a matrix or results document."""


def parse_fail_on(text: str) -> tuple[str, ...]:
    """'fail,excused' -> ('fail', 'excused'); ValueError naming the unknown kinds."""
    kinds = tuple(k.strip() for k in str(text).split(",") if k.strip())
    unknown = [k for k in kinds if k not in REGRESSION_KINDS]
    if unknown or not kinds:
        raise ValueError(f"--fail-on {text!r}: unknown {', '.join(unknown) or '(empty)'}; "
                         f"choose from {', '.join(REGRESSION_KINDS)}")
    return kinds


def excused_by(entries: list[dict[str, Any]]) -> dict[str, int]:
    """Entry id -> findings it excused, over a cell's scenario entries."""
    out: dict[str, int] = {}
    for entry in entries:
        for finding in entry.get("findings") or []:
            if finding.get("expectation") and finding.get("state") in EXCUSED:
                out[finding["expectation"]] = out.get(finding["expectation"], 0) + 1
    return dict(sorted(out.items()))


def skip_category(reason: str) -> str:
    """The category of a skip reason: its "[category] " prefix; "precondition missing" when it has none."""
    return skips.category(reason)


def skip_counts(doc: dict[str, Any]) -> dict[str, int]:
    """Skip cells per category (a cell's own, else its first skipped entry's), in SKIP_CATEGORIES order."""
    found: dict[str, int] = {}
    for cell in doc["cells"]:
        if cell["state"] != "skip":
            continue
        entry = next((e for e in cell.get("entries") or [] if e.get("state") == "skip"), {})
        cat = cell.get("skip_category") or entry.get("skip_category") or skip_category(cell.get("reason", ""))
        found[cat] = found.get(cat, 0) + 1
    return {c: found[c] for c in (*SKIP_CATEGORIES, *sorted(set(found) - set(SKIP_CATEGORIES))) if c in found}


def version_key(version: str) -> tuple[int, ...]:
    try:
        return parse(version)
    except VersionError:
        return (999,)


def target_id(target: dict[str, Any]) -> str:
    """Human-readable, stable name of a target: kind, engine version, address (no credentials)."""
    address = redact_text(str(target.get("address") or "?"))
    return f"{target.get('kind') or 'unknown'} {target.get('engine_version') or '?'} @ {address}"


def target_slot(target: dict[str, Any]) -> str:
    """The target without its engine version: what a baseline from an older engine release still matches."""
    return f"{target.get('kind') or 'unknown'} @ {redact_text(str(target.get('address') or '?'))}"


def _entry(test: dict[str, Any]) -> dict[str, Any]:
    entry = {key: test.get(key) for key in ENTRY_FIELDS}
    entry["state"] = test.get("state") or "error"
    entry["reason"] = entry["reason"] or _reason(test)
    if entry["state"] == "skip" and not entry["skip_category"]:
        entry["skip_category"] = skip_category(entry["reason"])
    if entry["state"] == "pass":
        entry["exchange"] = None
    return {k: v for k, v in entry.items() if v not in (None, "", [], {})} | {"state": entry["state"]}


def _reason(test: dict[str, Any]) -> str:
    findings = [f for f in test.get("findings") or [] if f.get("state") == test.get("state")]
    if not findings:
        return ""
    first = findings[0]
    label = first.get("expectation") or first.get("check", "")
    return f"{label}: {first.get('message', '')}"


def _cell_reason(state: str, entries: list[dict[str, Any]]) -> str:
    for entry in entries:
        if entry["state"] == state and entry.get("reason"):
            return f"{entry['scenario']}: {entry['reason']}" if entry.get("scenario") else entry["reason"]
    return ""


def build(results: dict[str, Any], spec_operations: dict[str, dict[str, str]] | None = None,
          not_covered: dict[str, str] | None = None, suite_version: str = "") -> dict[str, Any]:
    """A matrix document from a results.json document.

    `spec_operations` maps each run version to {operationId: tag} of its spec: operations absent at
    a version become n/a.  `not_covered` ({operationId: reason}) names operations the suite has no
    test for: they become skip cells.  Other cells without entries are left out (not run).
    """
    target = dict(results.get("target") or {})
    meta = results.get("meta") or {}
    tid = target_id(target)
    tests = results.get("tests") or []
    # The run's versions, then any other a test reported (e.g. "-" for tests not about one version).
    versions = list(meta.get("api_versions") or [])
    versions += sorted({t["version"] for t in tests} - set(versions), key=version_key)
    tags: dict[str, str] = {}
    for ops in (spec_operations or {}).values():
        tags.update(ops)
    in_spec = set(tags)  # other rows are suite tests that are not about one operation: never n/a
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for test in tests:
        tags.setdefault(test["operation"], test.get("tag") or "")
        grouped.setdefault((test["version"], test["operation"]), []).append(_entry(test))
    cells = []
    for version in versions:
        present = (spec_operations or {}).get(version)
        for op in sorted(tags):
            entries = grouped.get((version, op), [])
            if entries:
                state = worst(e["state"] for e in entries)
                cell = {"state": state, "reason": _cell_reason(state, entries), "entries": entries}
                by = excused_by(entries)
                if by:
                    cell |= {"excused": sum(by.values()), "excused_by": by}
            elif present is not None and op in in_spec and op not in present:
                cell = {"state": "n/a", "reason": f"{op} is not in the API {version} spec"}
            elif op in (not_covered or {}):
                cell = {"state": "skip", "reason": not_covered[op] or NOT_COVERED, "skip_category": "not covered"}
            else:
                continue
            cells.append({"target": tid, "version": version, "operation": op, "tag": tags[op], **cell})
    info = {"id": tid, **{k: target.get(k) for k in TARGET_FIELDS}, "run_id": meta.get("run_id"),
            "versions": versions, "not_applicable": list(meta.get("not_applicable") or [])}
    promises, promise_cells = _promise_table(tid, tests)
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "suite_version": suite_version,
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "targets": [info], "versions": versions, "operations": dict(sorted(tags.items())), "cells": cells,
            "promises": promises, "promise_cells": promise_cells}


def _promise_table(tid: str, tests: list[dict[str, Any]]) -> tuple[dict[str, dict[str, str]], list[dict[str, Any]]]:
    """The second table: promise x version, each cell the state of that promise's test (its operation's cell
    above already counts it among the operation's scenarios)."""
    promises: dict[str, dict[str, str]] = {}
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for test in tests:
        if test.get("promise"):
            promises.setdefault(test["promise"], {"tag": test.get("tag") or "", "operation": test["operation"]})
            grouped.setdefault((test["version"], test["promise"]), []).append(_entry(test))
    cells = []
    for (version, pid), entries in sorted(grouped.items(), key=lambda kv: (kv[0][1], version_key(kv[0][0]))):
        state = worst(e["state"] for e in entries)
        cell = {"target": tid, "version": version, "promise": pid, **promises[pid], "state": state,
                "reason": _cell_reason(state, entries)}
        by = excused_by(entries)
        if by:
            cell |= {"excused": sum(by.values()), "excused_by": by}
        cells.append(cell)
    return dict(sorted(promises.items())), cells


def merge(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Targets side by side; for the same (target, version, operation) the later document wins."""
    targets: dict[str, dict[str, Any]] = {}
    cells: dict[tuple[str, str, str], dict[str, Any]] = {}
    operations: dict[str, str] = {}
    promises: dict[str, dict[str, str]] = {}
    promise_cells: dict[tuple[str, str, str], dict[str, Any]] = {}
    for doc in docs:
        for info in doc["targets"]:
            known = targets.setdefault(info["id"], {**info, "versions": []})
            known["versions"] = sorted(set(known["versions"]) | set(info.get("versions") or []), key=version_key)
        operations.update(doc["operations"])
        for cell in doc["cells"]:
            cells[(cell["target"], cell["version"], cell["operation"])] = cell
        promises.update(doc.get("promises") or {})
        for cell in doc.get("promise_cells") or []:
            promise_cells[(cell["target"], cell["version"], cell["promise"])] = cell
    versions = sorted({c["version"] for c in cells.values()}, key=version_key)
    suite_versions = sorted({d.get("suite_version") or "" for d in docs} - {""})
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "suite_version": ", ".join(suite_versions),
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "targets": list(targets.values()), "versions": versions,
            "operations": dict(sorted(operations.items())), "cells": list(cells.values()),
            "promises": dict(sorted(promises.items())), "promise_cells": list(promise_cells.values())}


def index(doc: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(c["target"], c["version"], c["operation"]): c for c in doc["cells"]}


def _pair_targets(old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    """new target id -> old target id: same id, else same kind and address, else the only one on each side."""
    old_ids = [t["id"] for t in old["targets"]]
    pairs: dict[str, str] = {}
    for info in new["targets"]:
        if info["id"] in old_ids:
            pairs[info["id"]] = info["id"]
    for info in new["targets"]:
        if info["id"] in pairs:
            continue
        slot = target_slot(info)
        match = [t["id"] for t in old["targets"] if target_slot(t) == slot and t["id"] not in pairs.values()]
        if match:
            pairs[info["id"]] = match[0]
    rest_new = [t["id"] for t in new["targets"] if t["id"] not in pairs]
    rest_old = [t for t in old_ids if t not in pairs.values()]
    if len(rest_new) == 1 and len(rest_old) == 1:
        pairs[rest_new[0]] = rest_old[0]
    return pairs


def diff(old: dict[str, Any], new: dict[str, Any],
         fail_on: Iterable[str] = REGRESSION_KINDS) -> dict[str, list[dict[str, Any]]]:
    """Regressions (the kinds in `fail_on`, see REGRESSION_KINDS), improvements (fail/error -> pass),
    failing cells that never passed, and other changes (including regressions of unselected kinds)."""
    selected = set(fail_on)
    pairs = _pair_targets(old, new)
    before = index(old)
    result: dict[str, list[dict[str, Any]]] = {"regressions": [], "improvements": [], "changes": [],
                                               "new_failures": []}
    for (tid, version, op), cell in sorted(index(new).items()):
        prior = before.get((pairs.get(tid, ""), version, op))
        was = prior["state"] if prior else NOT_RUN
        now = cell["state"]
        was_excused, now_excused = int((prior or {}).get("excused") or 0), int(cell.get("excused") or 0)
        if was == now and now_excused <= was_excused:
            continue
        item = {"target": tid, "version": version, "operation": op, "tag": cell.get("tag", ""),
                "old": was, "new": now, "reason": cell.get("reason", "")}
        kind = _regression_kind(was, now, was_excused, now_excused)
        if kind:
            item |= {"kind": kind, "excused": f"{was_excused} -> {now_excused}",
                     "entries": sorted(set(cell.get("excused_by") or {}) - set((prior or {}).get("excused_by") or {}))
                     or sorted(cell.get("excused_by") or {})}
        if kind and kind in selected:
            result["regressions"].append(item)
        elif was in RED and now == "pass":
            result["improvements"].append(item)
        elif now in RED and kind is None:
            result["new_failures"].append(item)  # failing now, but never passed in the baseline
        else:
            result["changes"].append(item)
    return result


def _regression_kind(was: str, now: str, was_excused: int, now_excused: int) -> str | None:
    if was in GREEN and now in RED:
        return "fail"
    if was == "pass" and now in EXCUSED:
        return "excused"
    if was in EXCUSED and now in EXCUSED and now_excused > was_excused:
        return "excused-count"
    return None


def counts(doc: dict[str, Any], by: str | None = None) -> dict[str, Any]:
    """Cells per state, overall or per `by` (tag, version, target)."""
    if by is None:
        out = {s: 0 for s in STATES}
        for cell in doc["cells"]:
            out[cell["state"]] = out.get(cell["state"], 0) + 1
        return {k: v for k, v in out.items() if v}
    groups: dict[str, dict[str, int]] = {}
    for cell in doc["cells"]:
        group = groups.setdefault(str(cell.get(by, "")), {})
        group[cell["state"]] = group.get(cell["state"], 0) + 1
    return dict(sorted(groups.items(), key=lambda kv: version_key(kv[0]) if by == "version" else kv[0]))


def redact_tree(value: Any) -> Any:
    """Every string in a JSON-like value redacted (a JSON body inside a string is only caught here)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_headers(v) if k == "headers" and isinstance(v, dict) else redact_tree(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    return value


def to_json(doc: dict[str, Any]) -> str:
    """Serialized and redacted once more: nothing the suite writes may carry a secret."""
    return redact_text(json.dumps(redact_tree(doc), indent=1, sort_keys=False))


def write(doc: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(to_json(doc))
    tmp.replace(path)


SpecSource = Callable[[list[str]], dict[str, dict[str, str]]]


def load(path: Path | str, spec_source: SpecSource | None = None) -> dict[str, Any]:
    """A matrix document from a matrix.json or results.json file; MatrixError with one line otherwise.

    `spec_source(versions)` supplies {version: {operationId: tag}} when a results.json is built here.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise MatrixError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MatrixError(f"{path}: is a directory, not a matrix.json or results.json file") from None
    except OSError as exc:
        raise MatrixError(f"{path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MatrixError(f"{path}: not JSON ({exc})") from None
    try:
        return coerce(raw, spec_source)
    except MatrixError as exc:
        raise MatrixError(f"{path}: {exc}") from None


def coerce(raw: Any, spec_source: SpecSource | None = None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise MatrixError("not a matrix.json or results.json document (expected a JSON object)")
    if raw.get("format") == FORMAT:
        if raw.get("format_version") != FORMAT_VERSION:
            raise MatrixError(f"unsupported matrix format_version {raw.get('format_version')!r}")
        _validate_matrix(raw)
        return raw
    if raw.get("format") == 1 and isinstance(raw.get("tests"), list) and isinstance(raw.get("target"), dict):
        for n, test in enumerate(raw["tests"]):
            if not isinstance(test, dict) or not all(isinstance(test.get(k), str) for k in ("operation", "version")):
                raise MatrixError(f"results tests[{n}] lacks operation/version")
        versions = list((raw.get("meta") or {}).get("api_versions") or {t["version"] for t in raw["tests"]})
        return build(raw, spec_source(versions) if spec_source else None)
    raise MatrixError("not a matrix.json or results.json document (unknown `format`)")


def _validate_matrix(raw: dict[str, Any]) -> None:
    if not isinstance(raw.get("targets"), list) or not isinstance(raw.get("cells"), list):
        raise MatrixError("matrix lacks `targets` or `cells` lists")
    if not isinstance(raw.get("operations"), dict):
        raise MatrixError("matrix lacks the `operations` mapping")
    for n, cell in enumerate(raw["cells"]):
        if not isinstance(cell, dict) or not all(isinstance(cell.get(k), str)
                                                 for k in ("target", "version", "operation", "state")):
            raise MatrixError(f"cells[{n}] lacks target/version/operation/state")


def spec_operations(catalog: Any, versions: Iterable[str]) -> dict[str, dict[str, str]]:
    """{version: {operationId: tag}} from a SpecCatalog, for the versions it has data for."""
    known = set(catalog.versions)
    return {v: {op_id: op.tag for op_id, op in catalog.get(v).operations.items()} for v in versions if v in known}
