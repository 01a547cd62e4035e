"""Typed skips: every skip says its category where it is raised, and the reports group by that category
(never by guessing from the prose of the reason)."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

import plugins.safety
from conformance import matrix, skips
from conformance.fake import start_fake
from conformance.spec import SpecCatalog
from plugins.calls import EngineCall
from plugins.reporting import RunRecord, synthesize
from plugins.safety import capabilities, target_lacks, target_provides

ROOT = Path(__file__).resolve().parent.parent
# Skips that stay untyped for now (they fall back to "precondition missing"), in files owned elsewhere.
UNTYPED_ELSEWHERE = {("plugins/calls.py", "engine"), ("suites/test_swarm_classic.py", "classic_only")}


def test_message_carries_the_category_and_parses_back() -> None:
    text = skips.message(skips.NOT_IN_SPEC, "ContainerFoo is not in the API 1.25 spec")
    assert text == "[not in spec version] ContainerFoo is not in the API 1.25 spec"
    assert skips.parse("Skipped: " + text) == (skips.NOT_IN_SPEC, "ContainerFoo is not in the API 1.25 spec")
    assert skips.parse("unsupported: not in the API") == (skips.PRECONDITION, "unsupported: not in the API")
    with pytest.raises(ValueError, match="unknown skip category"):
        skips.message("because", "x")
    with pytest.raises(pytest.skip.Exception, match=r"^\[needs capability\] a registry$"):
        skips.skip(skips.NEEDS_CAPABILITY, "a registry")


def _engine_call(version: str) -> EngineCall:
    call = EngineCall.__new__(EngineCall)  # only what operation() reads
    call.spec, call.version = SpecCatalog().get(version), version
    return call


def test_an_operation_absent_at_a_version_is_not_in_spec_version() -> None:
    """Was "unsupported by target" (the prose "not in the API" was read as a target's gap)."""
    with pytest.raises(pytest.skip.Exception) as raised:
        _engine_call("1.25").operation("ConfigCreate")  # configs arrived in 1.30
    reason = str(raised.value.msg)
    assert matrix.skip_category(reason) == "not in spec version"
    # The way the reports take it: a pytest skip report -> results.json entry -> matrix cell.
    meta = {"operation": "ConfigCreate", "tag": "Config", "version": "1.25", "scenario": "ok"}
    record = RunRecord(meta, {"setup": {"outcome": "passed", "failure": None, "xfail": None, "skip_reason": ""},
                              "call": {"outcome": "skipped", "failure": None, "xfail": None,
                                       "skip_reason": reason}})
    tests = synthesize({"n1": record}, [])
    doc = matrix.build({"target": {"kind": "docker"}, "meta": {"api_versions": ["1.25"]}, "tests": tests})
    cell = doc["cells"][0]
    assert (cell["state"], cell["entries"][0]["skip_category"]) == ("skip", "not in spec version")
    assert matrix.skip_counts(doc) == {"not in spec version": 1}


def _skip_calls() -> list[tuple[str, str, str]]:
    """(file, enclosing function, how) of every skip raised in suites/ and plugins/."""
    found = []
    for path in sorted([*ROOT.glob("suites/*.py"), *ROOT.glob("plugins/*.py")]):
        tree = ast.parse(path.read_text())
        for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for node in ast.walk(func):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr == "skip" and isinstance(node.func.value, ast.Name):
                    found.append((str(path.relative_to(ROOT)), func.name, node.func.value.id))
    return found


def test_every_skip_of_the_suite_is_typed() -> None:
    calls = _skip_calls()
    assert any(how == "skips" for _, _, how in calls)
    untyped = {(f, fn) for f, fn, how in calls if how != "skips"}
    assert untyped <= UNTYPED_ELSEWHERE, f"raise skips.skip(category, reason) instead of pytest.skip: {untyped}"


def test_capabilities_carry_their_category(monkeypatch: pytest.MonkeyPatch) -> None:
    options = {"--registry": None, "--registry-auth": None, "--registry-user": None, "--registry-password": None,
               "--image-index": False}
    config = SimpleNamespace(stash={}, getoption=options.get)
    monkeypatch.setattr(plugins.safety, "get_state", lambda _: None)
    caps = capabilities(config)  # type: ignore[arg-type]
    assert caps["global-changes"][0] == skips.NOT_OPTED_IN
    assert caps["registry"][0] == caps["registry-auth"][0] == caps["image-index"][0] == skips.NEEDS_CAPABILITY
    assert caps["swarm-manager"][0] == skips.PRECONDITION


def test_what_a_target_lacks_is_declared_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """No kind names in the capability code: the running target declares what it lacks and what it stands for
    (the embedded fake: its own registries and index, a twin outside swarm mode), and a kind's profile may
    declare what it lacks (`lacks:`)."""
    fake = start_fake()
    try:
        state = SimpleNamespace(target=SimpleNamespace(kind="fake"), fake=fake)
        assert target_lacks(state) == {}  # type: ignore[arg-type]
        assert set(target_provides(state)) >= {"image-index", "not-swarm-manager"}  # type: ignore[arg-type]
    finally:
        fake.stop()
    monkeypatch.setattr(plugins.safety, "kind_profile", lambda kind: {"lacks": {"image-index": "no network"}})
    real = SimpleNamespace(target=SimpleNamespace(kind="podman"), fake=None)
    assert list(target_lacks(real)) == ["image-index"]  # type: ignore[arg-type]
    assert "no network" in target_lacks(real)["image-index"]  # type: ignore[arg-type]
    assert "fake" not in (ROOT / "plugins" / "safety.py").read_text().split("def capabilities")[1].split("def ")[0]


def test_no_suite_asserts_a_status_the_checks_judged() -> None:
    """Verdicts come from recorded checks: an assert on a status would override an erratum that explains it
    (a test that needs a status to go on stops with a typed "precondition missing" skip instead)."""
    found = []
    for path in sorted(ROOT.glob("suites/*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assert) and any(isinstance(n, ast.Attribute) and n.attr == "status"
                                                    for n in ast.walk(node.test)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
