"""Expectations kept as data: spec errata, known deviations of target kinds, ineligible operations.

An entry is an excuse, so it must be narrow and proven: it names exact operations, an API version
range, the check (declared in conformance/registry.py), precise pointers or a message, and carries
evidence from a real engine or an upstream source reference.  `nil_collection: true` entries explain
only a null where the schema declares an array or an object (a Go nil slice or map), never a scalar.
`ExpectationBook.validate(catalog)` refuses entries that name an unknown check or operation, or a
pointer no schema of that version describes; each refusal is one line naming the file and entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import jsonschema
import yaml

from conformance import pointers as ptr
from conformance.datafiles import read_yaml
from conformance.framing import framing
from conformance.promises import catalogue
from conformance.registry import is_declared
from conformance.versions import (
    ANY_RANGE,
    VersionError,
    parse,
    parse_range,
    parse_release_range,
    release_in,
)

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
ERRATA = SCHEMAS_DIR / "errata.yaml"  # the bundled spec errata (--errata=FILE replaces them)
NOT_EVIDENCE = ("embedded fake", "the fake")  # what our own fake does proves nothing about an engine


class ExpectationsError(ValueError):
    """A malformed errata, deviations or ineligible file."""


class Finding(Protocol):
    check: str
    message: str
    pointer: str
    schema_type: str
    found: str


@dataclass(frozen=True)
class Expectation:
    """One spec erratum or known deviation: which problems it explains, and why."""

    id: str
    state: str  # "spec-erratum" | "known-deviation"
    operations: tuple[str, ...]  # exact operationIds
    check: str
    versions: tuple[str, str]
    targets: tuple[str, ...]  # target kinds, () = any
    pointers: tuple[str, ...]  # JSON pointer patterns (`*` = one list index or map key); () = any
    message: str  # glob on the problem message; "" = any
    reason: str
    link: str = ""
    engine_versions: str = ""  # engine release range ("20.10", "20.10-22", "23-"); "" = any
    evidence: str = ""
    source: str = ""
    nil_collection: bool = False  # explains only null where the schema says array or object
    observe: str = ""  # a profile's observation function (the entry is then a `deviation:<id>` check)
    corrected: dict[str, Any] | None = None  # the schema the spec should have declared at the pointer
    where: str = ""  # the file it came from
    not_observed: str = ""  # an observation's doc-only form: its findings are recorded as state not-observed

    def covers(self, kind: str, version: str, operation: str, engine_version: str = "") -> bool:
        """Whether this entry is about (target kind, API version, operation, engine release) at all."""
        if self.targets and kind not in self.targets:
            return False
        if self.engine_versions and not release_in(engine_version, parse_release_range(self.engine_versions)):
            return False
        if operation not in self.operations:
            return False
        try:
            return parse(self.versions[0]) <= parse(version) <= parse(self.versions[1])
        except VersionError:
            return False

    def matches(self, kind: str, version: str, operation: str, problem: Finding, engine_version: str = "") -> bool:
        if problem.check != self.check or not self.covers(kind, version, operation, engine_version):
            return False
        if self.pointers and not any(ptr.matches(problem.pointer, pat) for pat in self.pointers):
            return False
        if self.nil_collection and not (problem.found == "null" and _collection(problem.schema_type)):
            return False
        if self.corrected is not None and not _valid(self.corrected, getattr(problem, "instance", None)):
            return False
        if self.not_observed and message_matches(problem.message, self.not_observed):
            return True
        return not self.message or message_matches(problem.message, self.message)

    def state_for(self, problem: Finding) -> str:
        """The state of a finding this entry explains: its own, or not-observed for a doc-only observation."""
        if self.not_observed and message_matches(problem.message, self.not_observed):
            return "not-observed"
        return self.state


def message_matches(message: str, pattern: str) -> bool:
    """A finding's text against a message pattern: `*` is the only wildcard (brackets and `?` are literal,
    since findings quote JSON and Python lists)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, message, re.DOTALL) is not None


def _collection(schema_type: str) -> bool:
    return any(t in ptr.COLLECTION_TYPES for t in schema_type.split(",") if t)


def _valid(schema: dict[str, Any], instance: Any) -> bool:
    return jsonschema.Draft7Validator(schema).is_valid(instance)


def _versions(text: Any, where: str) -> tuple[str, str]:
    if not text:
        raise ExpectationsError(f"{where}: `versions` is required (an API range like 1.25-1.41)")
    try:
        return parse_range(text)
    except VersionError as exc:
        raise ExpectationsError(f"{where}: versions: {exc}") from exc


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)


def _entry(raw: Any, state: str, path: str) -> Expectation:
    if not isinstance(raw, dict):
        raise ExpectationsError(f"{path}: each entry must be a mapping")
    where = f"{path}: entry {raw.get('id', '?')!r}"
    for key in ("id", "operations", "check"):
        if key not in raw:
            raise ExpectationsError(f"{where} lacks `{key}`")
    ops = _strings(raw["operations"])
    globbed = [op for op in ops if any(c in op for c in "*?[")]
    if not ops or globbed:
        raise ExpectationsError(f"{where}: operations must be exact operationIds (not {globbed or 'empty'})")
    check = str(raw["check"])
    if not is_declared(check):
        raise ExpectationsError(f"{where}: check {check!r} is not declared in conformance/registry.py")
    pats = _strings(raw.get("pointers", raw.get("pointer")))
    for pat in pats:
        if ptr.pattern_problem(pat):
            raise ExpectationsError(f"{where}: {ptr.pattern_problem(pat)}")
    message = str(raw.get("message", ""))
    observe = str(raw.get("observe") or "")
    if not observe and not pats and not message.strip("*"):
        raise ExpectationsError(f"{where}: name the findings it explains with `pointers` or a `message`")
    if check == "body_schema" and not pats:
        raise ExpectationsError(f"{where}: a body_schema excuse must name its pointers")
    evidence, source = str(raw.get("evidence") or ""), str(raw.get("source") or "")
    if not evidence and not source:
        raise ExpectationsError(f"{where} lacks `evidence` (a real engine's answer) or `source` (upstream code)")
    if any(word in evidence.lower() for word in NOT_EVIDENCE):
        raise ExpectationsError(f"{where}: evidence from the project's own fake is not evidence of an engine")
    engine_versions = str(raw.get("engine_versions") or "")
    try:
        bounds = parse_release_range(engine_versions)
    except VersionError as exc:
        raise ExpectationsError(f"{where}: engine_versions: {exc}") from exc
    if state == "known-deviation" and not observe and "engine_versions" not in raw and not raw.get("targets"):
        raise ExpectationsError(f"{where}: a deviation names the engine releases it was seen on (`engine_versions`)")
    if engine_versions and not bounds[1] and not source:
        raise ExpectationsError(f"{where}: an open-ended engine range ({engine_versions!r}) needs `source`: the "
                                "upstream code that shows the behaviour persists")
    reason = str(raw.get("reason") or raw.get("why") or "")
    if state == "spec-erratum":
        missing = [k for k in ("spec_says", "engine_does", "why") if not raw.get(k)]
        if missing:
            raise ExpectationsError(f"{where} (an erratum) lacks {', '.join(missing)}")
        reason = f"{raw['why']} (spec: {raw['spec_says']}; engine: {raw['engine_does']})"
    not_observed = str(raw.get("not_observed") or "")
    if not_observed and not (observe and raw.get("expected") is False):
        raise ExpectationsError(f"{where}: `not_observed` belongs only to an observation (`observe`) that is "
                                "doc-only (`expected: false`)")
    corrected = raw.get("corrected")
    if corrected is not None and not isinstance(corrected, dict):
        raise ExpectationsError(f"{where}: `corrected` must be a JSON schema mapping")
    return Expectation(
        id=str(raw["id"]), state=state, operations=ops, check=check,
        versions=_versions(raw.get("versions") or (ANY_RANGE if observe else None), where),
        targets=_strings(raw.get("targets")), pointers=pats,
        message=message, reason=reason, link=str(raw.get("link", "")), engine_versions=engine_versions,
        evidence=evidence, source=source, nil_collection=bool(raw.get("nil_collection")), observe=observe,
        corrected=corrected, where=path, not_observed=not_observed,
    )


def load_expectations(path: Path, state: str) -> list[Expectation]:
    raw = read_yaml(path, ExpectationsError)
    entries = raw.get("entries", []) if isinstance(raw, dict) else raw
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ExpectationsError(f"{path}: expected a list of entries (or a mapping with `entries:`)")
    loaded = [_entry(item, state, str(path)) for item in entries]
    ids = [e.id for e in loaded]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ExpectationsError(f"{path}: entry ids used twice: {', '.join(twice)}")
    observed = {e.id for e in loaded if e.observe}
    for entry in loaded:
        if entry.check.startswith("deviation:") and entry.check.removeprefix("deviation:") not in observed:
            raise ExpectationsError(f"{path}: entry {entry.id!r} names check {entry.check!r}, but no entry of "
                                    "this file with that id has `observe`")
    return loaded


def profile_path(kind: str) -> Path:
    """Where the bundled profile of a target kind lives (its deviations, unsupported routes, placement)."""
    return SCHEMAS_DIR / "deviations" / f"{kind}.yaml"


def profile_label(kind: str) -> str:
    """How messages name a kind's profile: its path in the project."""
    return str(profile_path(kind).relative_to(SCHEMAS_DIR.parent))


@cache
def kind_profile(kind: str) -> dict[str, Any]:
    """The bundled profile of a target kind as a mapping; {} when none."""
    path = profile_path(kind)
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text())
    return data if isinstance(data, dict) else {}


def load_ineligible(path: Path = SCHEMAS_DIR / "ineligible.yaml") -> dict[str, str]:
    """operationId -> the concrete reason it has no scenario."""
    if not path.exists():
        return {}
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) and v for v in raw.values()):
        raise ExpectationsError(f"{path}: expected `OperationId: reason` lines with a reason each")
    return raw


def entry_problems(entry: Expectation, catalog: Any) -> list[str]:
    """Why an entry cannot apply as written, checked against every spec version the catalog has in its range."""
    versions = [v for v in catalog.versions if parse(entry.versions[0]) <= parse(v) <= parse(entry.versions[1])]
    if not versions:
        return []  # a user's --spec of another version: nothing to check it against
    problems = []
    if entry.check.startswith("promise:"):
        promise = catalogue().get(entry.check.removeprefix("promise:"))
        if promise is None:
            problems.append(f"check {entry.check!r} names no promise of suites/promises")
        elif set(entry.operations) != {promise.operation}:
            problems.append(f"check {entry.check!r} is recorded on {promise.operation} (the promise's first "
                            f"operation), not on {', '.join(entry.operations)}")
    for op_id in entry.operations:
        present = [v for v in versions if catalog.get(v).operation(op_id) is not None]
        if not present:
            problems.append(f"operation {op_id} is in no spec version of {entry.versions[0]}-{entry.versions[1]}")
            continue
        if entry.check != "body_schema":
            continue
        for pattern in entry.pointers:
            # A field the spec adds at 1.40 cannot have findings at 1.39: it must exist in one version at least.
            reached = {v: _pointer_nodes(catalog.get(v), catalog.get(v).operation(op_id), pattern) for v in present}
            if not any(reached.values()):
                problems.append(f"pointer {pattern!r} does not exist in the {op_id} responses at API "
                                f"{present[0]}-{present[-1]}")
                continue
            for version, nodes in reached.items():
                if nodes and entry.nil_collection and not ptr.declared_types(nodes) & set(ptr.COLLECTION_TYPES):
                    problems.append(f"nil_collection pointer {pattern!r} of {op_id} at API {version} is a "
                                    f"{'/'.join(sorted(ptr.declared_types(nodes))) or 'untyped'}, not an array or "
                                    "object")
                    break
    return problems


def _pointer_nodes(spec: Any, op: Any, pattern: str) -> list[dict[str, Any]]:
    stream = framing(op.id) == "json-lines"
    parts = ptr.segments(pattern)
    if stream:  # records of a stream: the first segment is the record index; "" is the stream itself
        if not parts:
            return [{"type": "array"}]
        if parts[0] != "*":
            return []
        pattern = "".join("/" + p for p in parts[1:])
    nodes: list[dict[str, Any]] = []
    for status in op.responses:
        schema = spec.response_schema(op, status)
        if schema:
            nodes += ptr.nodes_at(schema, spec.definitions, pattern)
    return nodes


class ExpectationBook:
    """All errata and deviations in force for one session; classifies problems."""

    def __init__(self, entries: list[Expectation]):
        self.entries = entries

    @classmethod
    def load(cls, errata: Path | None, deviations: list[Path], kind: str) -> ExpectationBook:
        """Errata, the bundled deviation profile of the target's kind, then the user's deviation files."""
        entries = load_expectations(errata, "spec-erratum") if errata else []  # a missing file is an error
        profile = profile_path(kind)
        for path in ([profile] if profile.exists() else []) + list(deviations):
            entries += load_expectations(path, "known-deviation")
        ids = [e.id for e in entries]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ExpectationsError(f"entry ids used in two files: {', '.join(twice)}")
        return cls(entries)

    def validate(self, catalog: Any) -> None:
        """ExpectationsError (one line) for the first entry that names what the spec data lacks."""
        for entry in self.entries:
            problems = entry_problems(entry, catalog)
            if problems:
                raise ExpectationsError(f"{entry.where}: entry {entry.id!r}: {problems[0]}"
                                        f"{f' (+{len(problems) - 1} more)' if len(problems) > 1 else ''}")

    def explain_problem(self, kind: str, version: str, operation: str, problem: Finding,
                        engine_version: str = "") -> Expectation | None:
        return next((e for e in self.entries if e.matches(kind, version, operation, problem, engine_version)), None)
