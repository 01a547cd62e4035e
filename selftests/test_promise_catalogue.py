"""The promise catalogue is well formed, covers every tag, has a checker and a fault per promise, and
docs/promises.md is generated from it (never stale)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.promise_doc import DOC, render
from conformance.promises import TAGS, PromiseError, catalogue, load, load_file, validate
from conformance.registry import is_declared
from conformance.spec import SpecCatalog
from suites.promise_checks import CHECKERS

GOOD = {"id": "container-x", "must": "X MUST hold.", "source": {"spec": "1.41", "operation": "ContainerInspect"},
        "operations": ["ContainerInspect"], "test": "answer",
        "violation": {"operation": "ContainerInspect", "pointer": "/Id", "edit": "other-hex"}}


def test_the_catalogue_covers_every_tag_with_150_promises() -> None:
    promises = list(catalogue().values())
    assert len(promises) >= 150, len(promises)
    missing = [t for t in TAGS if not any(p.tag == t for p in promises)]
    assert not missing, f"tags without a promise: {missing}"


def test_every_promise_is_valid_against_the_spec_data_and_has_a_checker_and_a_fault() -> None:
    promises = list(catalogue().values())
    validate(promises, SpecCatalog())
    for p in promises:
        assert p.test in CHECKERS, f"{p.id}: no checker {p.test!r} in suites/promise_checks"
        assert is_declared(p.check)


def test_docs_promises_md_is_generated_from_the_catalogue() -> None:
    assert DOC.read_text() == render(list(catalogue().values())), \
        "docs/promises.md is stale: run python -m conformance.promise_doc"


def _write(tmp_path: Path, promises: list, tag: str = "Container") -> Path:
    import yaml
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"tag": tag, "promises": promises}))
    return path


def test_a_good_entry_loads(tmp_path: Path) -> None:
    [p] = load_file(_write(tmp_path, [GOOD]))
    assert (p.id, p.tag, p.check, p.operation) == ("container-x", "Container", "promise:container-x",
                                                   "ContainerInspect")


@pytest.mark.parametrize(("change", "says"), [
    ({"colour": "red"}, "unknown field"),
    ({"must": "X holds."}, "MUST"),
    ({"id": "Container_X"}, "kebab-case"),
    ({"violation": None}, "violation"),
    ({"violation": {"operation": "ContainerInspect", "pointer": "Id", "edit": "other-hex"}}, "pointer"),
    ({"violation": {"operation": "ContainerInspect", "pointer": "/Id", "edit": "paint"}}, "edit"),
    ({"source": {"spec": "1.41"}}, "source"),
    ({"versions": "one-two"}, "versions"),
    ({"requires": ["a-pony"]}, "requires"),
])
def test_a_malformed_entry_is_one_clear_error(tmp_path: Path, change: dict, says: str) -> None:
    with pytest.raises(PromiseError, match=says):
        load_file(_write(tmp_path, [{**GOOD, **change}]))


def test_an_unknown_tag_and_a_twice_used_id_are_errors(tmp_path: Path) -> None:
    with pytest.raises(PromiseError, match="tag"):
        load_file(_write(tmp_path, [GOOD], tag="Kitchen"))
    _write(tmp_path, [GOOD, GOOD])
    with pytest.raises(PromiseError, match="twice"):
        load(tmp_path)


def test_names_the_spec_lacks_are_errors(tmp_path: Path) -> None:
    catalog = SpecCatalog()
    validate(load_file(_write(tmp_path, [GOOD])), catalog)  # the unchanged entry is valid
    for change, says in (({"operations": ["ContainerPaint"]}, "ContainerPaint"),
                         ({"source": {"spec": "1.41", "definition": "NoSuchThing"}}, "NoSuchThing"),
                         ({"source": {"spec": "1.19", "operation": "ContainerInspect"}}, "1.19")):
        [p] = load_file(_write(tmp_path, [{**GOOD, **change}]))
        with pytest.raises(PromiseError, match=says):
            validate([p], catalog)
