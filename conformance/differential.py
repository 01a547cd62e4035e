"""Differential testing: the suite's own scenario sequence, sent to two targets (the embedded fake and a real
Engine), compared exchange by exchange.

A run with `--record-exchanges` writes every checked exchange to REPORTS_DIR/exchanges/<worker>.jsonl
(`record_exchange`).  `python -m conformance.differential A_DIR B_DIR` pairs the two runs' exchanges by test
and position, and compares what the suite's checks rely on, leaving out what legitimately differs (ids,
times, sizes, names, values, and the order and length of lists and maps):
- the status;
- the media type, and which of the Engine's own headers are there (API-Version, Docker-Experimental, OSType,
  X-Docker-Container-Path-Stat);
- the shape of a JSON body: each field's pointer and JSON type, where a list index or a map key (a schema's
  additionalProperties) counts as `*`; items and map values are compared only when both sides have some, and
  their types diverge when they have none in common (other items may be other data);
- the framing of any other body (multiplexed stdio, JSON lines, tar, text, empty).
Every divergence is listed with both exchanges; one that schemas/differential.yaml lists (with a reason) is
"listed", any other is "new" and fails the command (exit 1).
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import itertools
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from conformance import pointers
from conformance.datafiles import read_yaml
from conformance.exchange import Exchange
from conformance.expectations import message_matches
from conformance.redact import redact_headers, redact_text
from conformance.spec import SpecCatalog

KNOWN = Path(__file__).resolve().parent.parent / "schemas" / "differential.yaml"
BODY_LIMIT = 256 * 1024  # bytes of a body kept for the comparison
ENGINE_HEADERS = ("api-version", "docker-experimental", "ostype", "x-docker-container-path-stat")
KINDS = ("status", "media-type", "header", "shape", "framing")

_sequence = itertools.count()  # positions in a process's record (xdist: one file per worker)
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a key that can be a struct field; others are map keys (data)


# --- recording ------------------------------------------------------------------------------------------

def record_exchange(folder: Path, worker: str, nodeid: str, scenario: str, ex: Exchange) -> None:
    """Append one checked exchange to FOLDER/<worker>.jsonl (bodies redacted and cut at BODY_LIMIT)."""
    folder.mkdir(parents=True, exist_ok=True)
    body = ex.body[:BODY_LIMIT]
    try:
        text, encoding = redact_text(body.decode("utf-8")), "text"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode(), "base64"
    line = {"nodeid": nodeid, "operation": ex.operation, "version": ex.version, "scenario": scenario,
            "seq": next(_sequence), "method": ex.method, "path": redact_text(ex.path), "status": ex.status,
            "headers": {k.lower(): v for k, v in redact_headers(ex.headers).items()}, "body": text,
            "encoding": encoding, "truncated": len(ex.body) > BODY_LIMIT}
    with (folder / f"{worker}.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def load_run(folder: Path) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    """A run's exchanges, keyed (test node id, operation, scenario, n-th such exchange of the test)."""
    files = sorted((folder / "exchanges").glob("*.jsonl")) if (folder / "exchanges").is_dir() else []
    if not files:
        raise DifferentialError(f"{folder}: no exchanges/ folder with records: run the suite there with "
                                "--record-exchanges")
    records = [json.loads(line) for path in files for line in path.read_text().splitlines() if line.strip()]
    out: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    counts: dict[tuple[str, str, str], int] = {}
    for rec in sorted(records, key=lambda r: r["seq"]):
        base = (rec["nodeid"], rec["operation"], rec["scenario"])
        counts[base] = counts.get(base, -1) + 1
        out[(*base, counts[base])] = rec
    return out


class DifferentialError(ValueError):
    """A folder without records, or a malformed list of known divergences."""


# --- what is compared ------------------------------------------------------------------------------------

def _body(rec: dict[str, Any]) -> bytes:
    return base64.b64decode(rec["body"]) if rec["encoding"] == "base64" else rec["body"].encode()


def media_type(rec: dict[str, Any]) -> str:
    return (rec["headers"].get("content-type") or "").split(";")[0].strip().lower()


def framing(data: bytes) -> str:
    """The kind of a non-JSON body, by its first bytes."""
    if not data:
        return "empty"
    if len(data) >= 8 and data[0] in (0, 1, 2) and data[1:4] == b"\0\0\0":
        return "multiplexed"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    lines = [line for line in data.splitlines() if line.strip()]
    try:
        for line in lines:
            json.loads(line.lstrip(b"\x1e"))
        return "json-lines" if lines else "empty"
    except ValueError:
        return "text"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"  # Go writes 3.0 as 3: an integer and a number are one JSON type here
    return {str: "string", list: "array", dict: "object"}[type(value)]


def shape(value: Any, schema: Any, definitions: dict[str, Any], where: str = "") -> dict[str, set[str]]:
    """pointer pattern -> the JSON types seen there.  A list index is `*`; so is a map key, where the schema
    declares the object a map (additionalProperties) or does not describe it and the key is data-like."""
    out: dict[str, set[str]] = {where or "/": {json_type(value)}}
    nodes = pointers.alternatives(schema, definitions)
    if isinstance(value, list):
        for item in value:
            for key, types in shape(item, _child(nodes, "*"), definitions, f"{where}/*").items():
                out.setdefault(key, set()).update(types)
    elif isinstance(value, dict):
        for key, item in value.items():
            named = any(key in (n.get("properties") or {}) for n in nodes)
            mapped = not named and (any(isinstance(n.get("additionalProperties"), dict) for n in nodes)
                                    or (not nodes and _FIELD.fullmatch(key) is None))
            segment = "*" if mapped else key.replace("~", "~0").replace("/", "~1")
            for sub, types in shape(item, _child(nodes, key), definitions, f"{where}/{segment}").items():
                out.setdefault(sub, set()).update(types)
    return out


def _child(nodes: list[dict[str, Any]], part: str) -> dict[str, Any] | None:
    kids = [kid for node in nodes for kid in pointers.child_nodes(node, part)]
    return {"anyOf": kids} if kids else None


@dataclass
class Divergence:
    nodeid: str
    operation: str
    version: str
    scenario: str
    kind: str  # one of KINDS
    pointer: str  # the field (shape), the header name, or ""
    detail: str  # "fake: X; engine: Y"
    a: dict[str, Any]
    b: dict[str, Any]
    listed: str = ""  # the id of the schemas/differential.yaml entry that lists it

    def brief(self) -> str:
        where = f" {self.pointer}" if self.pointer else ""
        return f"{self.operation} {self.version} [{self.scenario}] {self.kind}{where}: {self.detail}"


def _summary(rec: dict[str, Any]) -> dict[str, Any]:
    return {"request": f"{rec['method']} {rec['path']}", "status": rec["status"], "headers": rec["headers"],
            "body": rec["body"][:1500] if rec["encoding"] == "text" else f"(binary, {len(rec['body'])} b64 chars)"}


def compare_pair(a: dict[str, Any], b: dict[str, Any], catalog: SpecCatalog | None,
                 labels: tuple[str, str] = ("fake", "engine")) -> list[Divergence]:
    """What differs between two exchanges of the same test step (see the module text)."""
    la, lb = labels

    def divergence(kind: str, pointer: str, va: Any, vb: Any) -> Divergence:
        return Divergence(a["nodeid"], a["operation"], a["version"], a["scenario"], kind, pointer,
                          f"{la}: {va}; {lb}: {vb}", _summary(a), _summary(b))

    if a["status"] != b["status"]:
        return [divergence("status", "", a["status"], b["status"])]
    out = []
    if media_type(a) != media_type(b):
        out.append(divergence("media-type", "", media_type(a) or "(none)", media_type(b) or "(none)"))
    for name in ENGINE_HEADERS:
        if (name in a["headers"]) != (name in b["headers"]):
            out.append(divergence("header", name, "present" if name in a["headers"] else "absent",
                                  "present" if name in b["headers"] else "absent"))
    if a.get("truncated") or b.get("truncated"):
        return out  # a body cut at BODY_LIMIT: its framing and shape are not known
    body_a, body_b = _body(a), _body(b)
    parsed = [_json(body_a, a), _json(body_b, b)]
    if parsed[0] is _NOT_JSON or parsed[1] is _NOT_JSON:
        fa, fb = framing(body_a), framing(body_b)
        if fa != fb:
            out.append(divergence("framing", "", fa, fb))
        return out
    schema, definitions = _schema(catalog, a)
    sa, sb = shape(parsed[0], schema, definitions), shape(parsed[1], schema, definitions)
    for pointer in sorted(set(sa) | set(sb)):
        if _unseen_parent(pointer, sa, sb):
            continue  # items or map values one side has none of: nothing to compare there
        ta, tb = sa.get(pointer), sb.get(pointer)
        if ta and tb and "*" in pointer.split("/") and ta & tb:
            continue  # items of a list or map: other items (other data) may add a type; disjoint types count
        if ta != tb:
            show = lambda t: "/".join(sorted(t)) if t else "absent"  # noqa: E731
            out.append(divergence("shape", pointer, show(ta), show(tb)))
    return out


_NOT_JSON = object()


def _json(body: bytes, rec: dict[str, Any]) -> Any:
    if "json" not in media_type(rec) or not body.strip() or rec.get("truncated"):
        return _NOT_JSON
    try:
        return json.loads(body)
    except ValueError:
        return _NOT_JSON


def _unseen_parent(pointer: str, sa: dict[str, set[str]], sb: dict[str, set[str]]) -> bool:
    """Whether some `*` level above the pointer exists on one side only (a list or map empty on the other)."""
    parts = pointer.split("/")
    for i, part in enumerate(parts):
        if part == "*":
            prefix = "/".join(parts[: i + 1])
            if (prefix in sa) != (prefix in sb):
                return True
    return False


def _schema(catalog: SpecCatalog | None, rec: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    if catalog is None or rec["version"] not in catalog.versions:
        return None, {}
    spec = catalog.get(rec["version"])
    op = spec.operation(rec["operation"])
    return (spec.response_schema(op, rec["status"]) if op else None), spec.definitions


# --- known divergences, and the report --------------------------------------------------------------------

@dataclass(frozen=True)
class Known:
    id: str
    operations: tuple[str, ...]
    kind: str
    pointer: str  # a pointer pattern (shape) or header name; "" = any
    detail: str  # glob on the divergence's detail; "" = any
    reason: str
    evidence: str
    scenarios: tuple[str, ...] = ()  # globs on the scenario ("promise:container-list-*"); () = any


def load_known(path: Path = KNOWN) -> list[Known]:
    data = read_yaml(path, DifferentialError)
    entries = (data or {}).get("entries") or []
    out = []
    for i, raw in enumerate(entries):
        where = f"{path}: entry {i + 1}"
        if not isinstance(raw, dict) or not raw.get("id") or not raw.get("operations"):
            raise DifferentialError(f"{where}: needs an id and operations")
        if raw.get("kind") not in KINDS:
            raise DifferentialError(f"{where} ({raw['id']}): kind must be one of {', '.join(KINDS)}")
        if not str(raw.get("reason") or "").strip() or not str(raw.get("evidence") or "").strip():
            raise DifferentialError(f"{where} ({raw['id']}): a listed divergence needs a reason and evidence")
        scenarios = raw.get("scenarios") or []
        if not isinstance(scenarios, list) or not all(isinstance(g, str) and g for g in scenarios):
            raise DifferentialError(f"{where} ({raw['id']}): scenarios must be a list of globs")
        out.append(Known(str(raw["id"]), tuple(raw["operations"]), raw["kind"], str(raw.get("pointer") or ""),
                         str(raw.get("detail") or ""), str(raw["reason"]), str(raw["evidence"]), tuple(scenarios)))
    return out


def lists_divergence(entry: Known, div: Divergence) -> bool:
    if div.kind != entry.kind or (div.operation not in entry.operations and "*" not in entry.operations):
        return False
    if entry.scenarios and not any(fnmatch.fnmatchcase(div.scenario, glob) for glob in entry.scenarios):
        return False
    if entry.pointer and not (pointers.matches(div.pointer, entry.pointer) if div.kind == "shape"
                              else entry.pointer == div.pointer):
        return False
    return not entry.detail or message_matches(div.detail, entry.detail)


def compare_runs(a_dir: Path, b_dir: Path, known: Iterable[Known] = (), labels: tuple[str, str] = ("fake", "engine"),
                 catalog: SpecCatalog | None = None) -> dict[str, Any]:
    """The report of two runs: pairs compared, steps only one run has, and every divergence."""
    a_run, b_run = load_run(a_dir), load_run(b_dir)
    catalog = catalog or SpecCatalog()
    known = list(known)
    divergences = []
    for key in sorted(set(a_run) & set(b_run)):
        for div in compare_pair(a_run[key], b_run[key], catalog, labels):
            div.listed = next((k.id for k in known if lists_divergence(k, div)), "")
            divergences.append(div)
    used = {d.listed for d in divergences if d.listed}
    return {"format": 1, "labels": list(labels), "a": str(a_dir), "b": str(b_dir),
            "pairs": len(set(a_run) & set(b_run)), f"only_{labels[0]}": len(set(a_run) - set(b_run)),
            f"only_{labels[1]}": len(set(b_run) - set(a_run)),
            "new": sum(1 for d in divergences if not d.listed), "listed": sum(1 for d in divergences if d.listed),
            "unused_entries": sorted(k.id for k in known if k.id not in used),
            "divergences": [asdict(d) for d in divergences]}


def render_markdown(report: dict[str, Any]) -> str:
    la, lb = report["labels"]
    lines = [f"# Differential run: {la} ({report['a']}) against {lb} ({report['b']})", "",
             f"{report['pairs']} exchanges compared; {report[f'only_{la}']} only in {la}, "
             f"{report[f'only_{lb}']} only in {lb}; divergences: {report['new']} new, {report['listed']} listed.",
             ""]
    for state, title in (("", "New divergences"), ("listed", "Listed divergences")):
        rows = [d for d in report["divergences"] if bool(d["listed"]) == bool(state)]
        lines += [f"## {title} ({len(rows)})", ""]
        for d in rows:
            tag = f" — listed: `{d['listed']}`" if d["listed"] else ""
            lines.append(f"- `{d['nodeid']}` {d['kind']} {d['pointer']}: {d['detail']}{tag}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.differential", description=__doc__.split("\n")[0])
    parser.add_argument("a", type=Path, help="reports folder of the first run (the fake), with exchanges/")
    parser.add_argument("b", type=Path, help="reports folder of the second run (the real Engine)")
    parser.add_argument("--labels", default="fake,engine", help="names of the two runs (default fake,engine)")
    parser.add_argument("--known", type=Path, default=KNOWN, help="listed divergences (default %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="write the report here (.json; a .md beside it)")
    args = parser.parse_args(argv)
    try:
        labels = tuple(args.labels.split(",", 1))
        report = compare_runs(args.a, args.b, load_known(args.known), (labels[0], labels[-1]))
    except DifferentialError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 4
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))
        args.out.with_suffix(".md").write_text(render_markdown(report))
    la, lb = report["labels"]
    print(f"{report['pairs']} exchanges compared ({report[f'only_{la}']} only in {la}, {report[f'only_{lb}']} only "
          f"in {lb}): {report['new']} new divergences, {report['listed']} listed")
    for div in report["divergences"]:
        if not div["listed"]:
            print(f"  new: {Divergence(**div).brief()}")
    if report["unused_entries"]:
        print(f"  entries that listed nothing: {', '.join(report['unused_entries'])}")
    return 1 if report["new"] else 0


if __name__ == "__main__":
    sys.exit(main())
