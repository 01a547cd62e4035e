"""Every excuse is narrow: each entry of the bundled errata and profiles explains a finding it names, and
not the same finding one step outside its scope (another operation, version, pointer, engine release,
message, a scalar where it names a collection, a value the corrected schema refuses).

The cases are built from the data itself, so a new entry is covered without a new test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conformance import pointers as ptr
from conformance.checks import Problem
from conformance.expectations import (
    ERRATA,
    SCHEMAS_DIR,
    Expectation,
    ExpectationBook,
    ExpectationsError,
    load_expectations,
)
from conformance.registry import REGISTRY, is_declared
from conformance.spec import SpecCatalog
from conformance.versions import fmt, parse, parse_release_range

PROFILES = sorted((SCHEMAS_DIR / "deviations").glob("*.yaml"))


def _entries() -> list[Expectation]:
    out = load_expectations(ERRATA, "spec-erratum")
    for path in PROFILES:
        out += load_expectations(path, "known-deviation")
    return out


ENTRIES = [e for e in _entries() if not e.observe]  # observations are checked by their own tests


def _kind(entry: Expectation) -> str:
    return entry.targets[0] if entry.targets else Path(entry.where).stem if "deviations" in entry.where else "docker"


def _engine(entry: Expectation, outside: bool = False) -> str | None:
    lo, hi = parse_release_range(entry.engine_versions)
    if not outside:
        inside = lo or hi
        return ".".join(str(n) for n in (inside + (0, 0, 0))[:3]) if inside else "20.10.24"
    if hi:
        return ".".join(map(str, (hi[0] + 1, 0, 0)))
    if lo and lo[0] > 1:
        return ".".join(map(str, (lo[0] - 1, 0, 0)))
    return None


def _text_for(glob: str) -> str:
    """A string the message glob matches (each wildcard filled in)."""
    return glob.replace("*", "x")


def _instance(schema: dict[str, Any]) -> Any:
    """A value the corrected schema accepts, for the entries that carry one."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), "null") if isinstance(kind, list) else kind
    if kind == "object":
        return {name: _instance((schema.get("properties") or {}).get(name, {"type": "string"}))
                for name in schema.get("required") or []}
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "string":
        return "docker.volumedriver/1.0" if schema.get("pattern") else "x"
    return None


def _problem(entry: Expectation, pointer: str | None = None, **change: Any) -> Problem:
    pattern = entry.pointers[0] if entry.pointers else ""
    concrete = pointer if pointer is not None else "".join(
        "/" + ("0" if part == "*" else part) for part in ptr.segments(pattern))
    fields: dict[str, Any] = {"message": _text_for(entry.message) if entry.message else "a finding",
                              "pointer": concrete}
    if entry.nil_collection:
        fields |= {"found": "null", "schema_type": "array"}
    if entry.corrected is not None:
        fields["instance"] = _instance(entry.corrected)
    fields |= change
    return Problem(entry.check, **fields)


def _matches(entry: Expectation, problem: Problem, *, op: str | None = None, version: str | None = None,
             engine: str | None = None, kind: str | None = None) -> bool:
    return entry.matches(kind or _kind(entry), version or entry.versions[0], op or entry.operations[0], problem,
                         engine if engine is not None else _engine(entry) or "")


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_excuse_explains_what_it_names(entry: Expectation) -> None:
    assert _matches(entry, _problem(entry)), f"{entry.id} does not explain the finding it names"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_excuse_refuses_a_finding_just_outside(entry: Expectation) -> None:
    problem = _problem(entry)
    other_op = next(op for op in ("SystemPing", "ContainerList", "ImageList") if op not in entry.operations)
    assert not _matches(entry, problem, op=other_op), "another operation"
    lo, hi = parse(entry.versions[0]), parse(entry.versions[1])
    if lo > (1, 25):
        assert not _matches(entry, problem, version=fmt((lo[0], lo[1] - 1))), "a version below its range"
    if hi < (1, 56):
        assert not _matches(entry, problem, version=fmt((hi[0], hi[1] + 1))), "a version above its range"
    outside = _engine(entry, outside=True)
    if outside:
        assert not _matches(entry, problem, engine=outside), f"engine {outside}, outside {entry.engine_versions}"
    if entry.pointers:
        assert not _matches(entry, _problem(entry, pointer=problem.pointer + "/DacOther")), "a deeper pointer"
        assert not _matches(entry, _problem(entry, pointer="/DacOther")), "another field"
    if entry.message.strip("*"):
        assert not _matches(entry, _problem(entry, message="an unrelated finding")), "another message"
    assert not _matches(entry, Problem("complete_read" if entry.check != "complete_read" else "body_schema",
                                       problem.message, problem.pointer)), "another check"
    if entry.nil_collection:
        assert not _matches(entry, _problem(entry, schema_type="integer")), "a null in a scalar field"
        assert not _matches(entry, _problem(entry, found='"x"', schema_type="array")), "a wrong value, not null"
    if entry.corrected is not None:
        assert not _matches(entry, _problem(entry, instance={"dac": 1})), "a value the corrected schema refuses"


def test_bundled_excuses_fit_the_spec_data() -> None:
    """Every entry's operations and pointers exist in the spec versions it names (nil collections: arrays or
    objects there), checked against all bundled versions, for every target kind's profile."""
    catalog = SpecCatalog()
    for path in PROFILES:
        book = ExpectationBook.load(ERRATA, [], path.stem)
        book.validate(catalog)


def test_registry_declares_each_check_once_with_its_basis() -> None:
    names = [c.name for c in REGISTRY]
    assert len(names) == len(set(names))
    assert all(c.verifies and c.rests_on for c in REGISTRY)
    assert is_declared("deviation:node-field") and not is_declared("deviation:") and not is_declared("bodyschema")


def test_problem_refuses_an_undeclared_check() -> None:
    with pytest.raises(ValueError, match="not declared"):
        Problem("body_shcema", "misspelt")


BAD = {
    "unknown check": {"check": "body_shcema", "pointers": ["/A"]},
    "operation glob": {"operations": ["Container*"]},
    "partial wildcard": {"pointers": ["/HostConfig/Blkio*"]},
    "any depth": {"pointers": ["/**/Labels"]},
    "no evidence": {"evidence": ""},
    "fake evidence": {"evidence": "the embedded fake answers null here"},
    "no scope": {"pointers": [], "message": "*"},
    "open-ended without source": {"engine_versions": "20.10-"},
}


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_entries_are_load_errors(tmp_path: Path, case: str) -> None:
    entry = {"id": "x", "operations": ["ContainerInspect"], "versions": "1.41", "check": "body_schema",
             "pointers": ["/HostConfig/Binds"], "evidence": "dockerd 20.10.24: GET /containers/x/json -> ...",
             "engine_versions": "20.10", **BAD[case]}
    path = tmp_path / "deviations.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"entries": [entry]}))
    with pytest.raises(ExpectationsError) as caught:
        load_expectations(path, "known-deviation")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("pointer, why", [("/HostConfig/NoSuchField", "does not exist"),
                                          ("/HostConfig/BlkioWeight", "not an array or object")])
def test_pointers_are_checked_against_the_schema(tmp_path: Path, pointer: str, why: str) -> None:
    import yaml

    entry = {"id": "x", "operations": ["ContainerInspect"], "versions": "1.41", "check": "body_schema",
             "pointers": [pointer], "nil_collection": True, "engine_versions": "20.10",
             "evidence": "dockerd 20.10.24: GET /containers/x/json -> ..."}
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump({"entries": [entry]}))
    book = ExpectationBook(load_expectations(path, "known-deviation"))
    with pytest.raises(ExpectationsError, match=why):
        book.validate(SpecCatalog())


def _mixes_5xx(statuses: list[int]) -> bool:
    return any(s >= 500 for s in statuses) and any(s < 500 for s in statuses)


def test_no_scenario_accepts_a_5xx_beside_another_status() -> None:
    """A 500 is never a pass: an expectation is one outcome the spec declares, so no scenario (data or suite
    code) accepts a 5xx alongside a 2xx or 4xx."""
    from conformance.scenarios import load_scenarios

    mixed = [f"{op}/{sc.name}: {sc.expect}" for op, items in load_scenarios().items() for sc in items
             if _mixes_5xx(list(sc.expect))]
    suites = Path(__file__).resolve().parent.parent / "suites"
    for path in sorted(suites.glob("*.py")):
        text = path.read_text()
        positional = r"engine\.check\([^()]*\(((?:\d{3}, ?)+\d{3}),?\)\)"
        lists = re.findall(r"expect=\[([0-9, ]+)\]", text) + re.findall(positional, text)
        mixed += [f"{path.name}: [{found}]" for found in lists if _mixes_5xx([int(s) for s in found.split(",")])]
    assert not mixed, mixed


@pytest.mark.parametrize("check, operation, why", [
    ("promise:no-such-promise", "ContainerInspect", "names no promise"),
    ("promise:container-inspect-id", "ContainerList", "is recorded on ContainerInspect"),
])
def test_an_excuse_names_a_promise_of_the_catalogue_on_its_cell(tmp_path: Path, check: str, operation: str,
                                                                 why: str) -> None:
    import yaml

    entry = {"id": "x", "operations": [operation], "versions": "1.41", "check": check, "message": "*Id*",
             "engine_versions": "20.10", "evidence": "dockerd 20.10.24: GET /containers/x/json -> ..."}
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump({"entries": [entry]}))
    book = ExpectationBook(load_expectations(path, "known-deviation"))
    with pytest.raises(ExpectationsError, match=why):
        book.validate(SpecCatalog())
