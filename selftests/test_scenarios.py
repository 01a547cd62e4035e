"""The scenario data: every operation of every version accounted for, well-formed, safe by construction."""

from __future__ import annotations

import importlib
import inspect
import io
import re
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

import plugins.bundle
from conformance.cleanup import FOUND_BY_RUN_NAME
from conformance.exchange import Exchange
from conformance.expectations import load_ineligible
from conformance.scenarios import (
    KNOWN_REQUIRES,
    Retry,
    ScenarioError,
    load_scenarios,
    render,
    shape_for_version,
    tar_bytes,
)
from conformance.spec import SpecCatalog
from plugins.parametrize import missing_scenarios
from plugins.safety import PRUNE_OPERATIONS

CATALOG = SpecCatalog()
SCENARIOS = load_scenarios()
INELIGIBLE = load_ineligible()
ALWAYS = {"image", "labels", "missing", "name", "clock", "run"}
# Operations that create objects, and what makes each created object findable by the sweep.
CREATES = ("ContainerCreate", "NetworkCreate", "VolumeCreate", "ServiceCreate", "SecretCreate", "ConfigCreate",
           "ImageBuild", "ImageCommit", "ImageCreate", "ImageTag", "PluginCreate")


@pytest.mark.parametrize("version", CATALOG.versions)
def test_every_operation_is_accounted_for(version: str) -> None:
    assert missing_scenarios(CATALOG, version, SCENARIOS, INELIGIBLE) == []


def test_ineligible_entries_are_real_operations_and_few() -> None:
    every = {op for v in CATALOG.versions for op in CATALOG.get(v).operations}
    assert set(INELIGIBLE) <= every, set(INELIGIBLE) - every
    at_156 = [op for op in CATALOG.get("1.56").operations if op in INELIGIBLE and not SCENARIOS.get(op)]
    assert len(at_156) <= 5, at_156
    at_141 = [op for op in CATALOG.get("1.41").operations if op in INELIGIBLE and not SCENARIOS.get(op)]
    assert at_141 == []


def test_scenarios_name_real_operations() -> None:
    every = {op for v in CATALOG.versions for op in CATALOG.get(v).operations}
    assert set(SCENARIOS) <= every, set(SCENARIOS) - every


def _fixture_names() -> set[str]:
    """The fixtures of the suite's fixture plugins (plugins/bundle.py: plugins.fixtures*)."""
    names = set()
    modules = [importlib.import_module(name) for name in plugins.bundle.CORE if name.startswith("plugins.fixtures")]
    for _, obj in [member for module in modules for member in inspect.getmembers(module)]:
        marker = getattr(obj, "_fixture_function_marker", None) or getattr(obj, "_pytestfixturefunction", None)
        if marker is not None:
            names.add(getattr(marker, "name", None) or obj.__name__)
    return names


def test_needs_are_fixtures_and_placeholders_are_provided() -> None:
    fixtures = _fixture_names()
    for op, scenarios in SCENARIOS.items():
        for s in scenarios:
            assert set(s.needs) <= fixtures, (op, s.name, set(s.needs) - fixtures)
            text = yaml.safe_dump([s.path, s.query, s.headers, s.body, s.body_tar])
            heads = {m.split(".")[0] for m in __import__("re").findall(r"\{([a-z_][a-z0-9_.A-Z]*)\}", text)}
            assert heads <= ALWAYS | set(s.needs), (op, s.name, heads - ALWAYS - set(s.needs))
            if s.body_fixture:
                assert s.body_fixture in fixtures


def _marks(value: object) -> tuple[bool, bool]:
    text = yaml.safe_dump(value)
    return ("{labels}" in text or "{run.id}" in text or "{run.label}" in text), "{name}" in text


@pytest.mark.parametrize("version", CATALOG.versions)
def test_created_objects_carry_the_run_label_or_a_run_name(version: str) -> None:
    """At every version, after version shaping: a label the sweep selects by, or a run name it finds by tag."""
    spec = CATALOG.get(version)
    for op_id in CREATES:
        op = spec.operation(op_id)
        for s in SCENARIOS.get(op_id, []) if op else []:
            if not s.applies_to(version) or not any(200 <= code < 300 for code in s.expect):
                continue
            query, body = shape_for_version(spec, op, s.query, s.body)
            labelled, named = _marks([query, body, s.body_tar])
            of_own_image = any(n.startswith(("own_image", "pushed_image")) for n in s.needs)  # labelled already
            by_name = op.tag in FOUND_BY_RUN_NAME and named  # the sweep finds these by their run name
            assert labelled or of_own_image or by_name, (op_id, s.name)
            # An object a creating request starts from is this run's, never the shared test image.
            assert "{image}" not in yaml.safe_dump(s.path), (op_id, s.name, "acts on the shared test image")


def test_the_prune_guard_knows_every_prune_of_the_spec() -> None:
    prunes = {op.id for v in CATALOG.versions for op in CATALOG.get(v).operations.values()
              if op.method.upper() == "POST" and op.path.endswith("/prune")}
    assert prunes == set(PRUNE_OPERATIONS)


def test_prunes_are_limited_to_the_run_label_and_wait_for_a_running_prune() -> None:
    for op in PRUNE_OPERATIONS:
        for s in SCENARIOS[op]:
            assert "{run.label}" in s.query.get("filters", {}).get("label", []), (op, s.name)
            # The Engine runs one prune of a kind at a time: 409 "a prune operation is already running".
            assert s.retry is not None and (s.retry.status, s.retry.message) == (409, "already running"), (op, s.name)


class _Engine:
    """Answers the statuses given in turn (the runner's view of an engine)."""

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        self.answers = list(answers)
        self.sent = 0

    def send(self, op_id: str, path: dict, **kwargs: object) -> tuple[str, Exchange]:
        status, body = self.answers[min(self.sent, len(self.answers) - 1)]
        self.sent += 1
        return op_id, Exchange(op_id, "1.41", "POST", "/x", {}, None, status=status, body=body)


def test_the_runner_retries_as_the_scenario_data_says(monkeypatch: pytest.MonkeyPatch) -> None:
    from suites import test_operations as runner

    monkeypatch.setattr(runner.time, "sleep", lambda seconds: None)
    busy = (409, b'{"message":"a prune operation is already running"}')
    prune = SCENARIOS["ContainerPrune"][0]
    engine = _Engine(busy, busy, (200, b"{}"))
    assert runner.send(engine, prune, {}, {})[1].status == 200 and engine.sent == 3
    engine = _Engine(busy)
    assert runner.send(engine, prune, {}, {})[1].status == 409 and engine.sent == prune.retry.attempts
    # No `retry` in the data: one send, whatever the answer (the runner knows no operation names).
    unretried = replace(prune, retry=None)
    engine = _Engine(busy, (200, b"{}"))
    assert runner.send(engine, unretried, {}, {})[1].status == 409 and engine.sent == 1
    other = replace(prune, retry=Retry(503, "busy", 2, 0.0))
    engine = _Engine(busy, (200, b"{}"))
    assert runner.send(engine, other, {}, {})[1].status == 409 and engine.sent == 1


def test_the_runner_names_no_operation() -> None:
    source = (Path(__file__).resolve().parent.parent / "suites" / "test_operations.py").read_text()
    every = {op for v in CATALOG.versions for op in CATALOG.get(v).operations}
    assert {op for op in every if re.search(rf"\b{op}\b", source)} == set()


@pytest.mark.parametrize("retry, error", [
    ("{status: 409}", "retry needs exactly"),
    ("{status: 409, message: x, attempts: 0, wait: 1}", "bad"),
    ("{status: '409', message: x, attempts: 2, wait: 1}", "bad status"),
    ("{status: 409, message: x, attempts: 2, wait: 1, extra: 1}", "retry needs exactly"),
])
def test_malformed_retry_is_rejected(tmp_path: Path, retry: str, error: str) -> None:
    (tmp_path / "x.yaml").write_text(f"ContainerPrune:\n  - retry: {retry}\n")
    with pytest.raises(ScenarioError, match=error):
        load_scenarios(tmp_path)


def test_unknown_scenario_checks_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("SystemEvents:\n  - checks: [no_such_check]\n")
    with pytest.raises(ScenarioError, match="unknown checks"):
        load_scenarios(tmp_path)


def test_engine_wide_operations_need_global_changes() -> None:
    for op in ("SwarmInit", "SwarmJoin", "SwarmUpdate", "NodeUpdate", "PluginCreate"):
        for s in SCENARIOS[op]:
            refused = all(code >= 300 for code in s.expect)
            assert refused or "global-changes" in s.requires, (op, s.name)


def test_unknown_requires_and_two_bodies_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("SystemPing:\n  - requires: [dac-nonsense]\n")
    with pytest.raises(ScenarioError, match="unknown requires"):
        load_scenarios(tmp_path)
    (tmp_path / "x.yaml").write_text("SystemPing:\n  - {body: {}, raw_body: x}\n")
    with pytest.raises(ScenarioError, match="one body only"):
        load_scenarios(tmp_path)
    assert "registry" in KNOWN_REQUIRES


def test_anchor_keys_share_scenarios(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(".shared: &s\n  - {expect: [204]}\nA: *s\nB: *s\n")
    loaded = load_scenarios(tmp_path)
    assert set(loaded) == {"A", "B"} and loaded["B"][0].expect == (204,)


def test_body_tar_renders_into_a_tar() -> None:
    files = render({"Dockerfile": "FROM {image}\n"}, {"image": "busybox:latest"})
    with tarfile.open(fileobj=io.BytesIO(tar_bytes(files))) as tar:
        assert tar.extractfile("Dockerfile").read() == b"FROM busybox:latest\n"


def test_shape_for_version_drops_fields_not_yet_declared() -> None:
    old, new = CATALOG.get("1.25"), CATALOG.get("1.41")
    body = {"Image": "x", "HostConfig": {"Init": True, "CpuShares": 2}, "Labels": {"a": "b"}}
    op_old, op_new = old.operation("ContainerCreate"), new.operation("ContainerCreate")
    q_old, b_old = shape_for_version(old, op_old, {"name": "n", "platform": "linux"}, body)
    q_new, b_new = shape_for_version(new, op_new, {"name": "n", "platform": "linux"}, body)
    assert q_old == {"name": "n"} and q_new == {"name": "n", "platform": "linux"}
    # HostConfig.Init appeared after 1.25: dropped inside the nested object at 1.25, sent at 1.41.
    assert "Init" not in b_old["HostConfig"] and b_new["HostConfig"]["Init"] is True
    assert b_old["Labels"] == {"a": "b"}  # free-form maps are kept as written
