"""conformance.matrix, conformance.render and the conformance-matrix CLI, on small synthetic runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import cli, matrix, render
from conformance.redact import register_secret

ROOT = Path(__file__).resolve().parent.parent
TARGET = {"address": "tcp://engine.example:2375", "kind": "docker", "engine_version": "24.0.7", "api_min": "1.12",
          "api_max": "1.43", "os": "linux", "arch": "amd64", "experimental": False}
SPEC_OPS = {"1.40": {"ContainerList": "Container", "SystemPing": "System"},
            "1.41": {"ContainerList": "Container", "SystemPing": "System", "ImagePrune": "Image"}}


def outcome(op: str, version: str, state: str, scenario: str = "ok", **extra: Any) -> dict[str, Any]:
    findings = [] if state in ("pass", "skip") else [
        {"check": "status_expected", "message": f"{op}: expected HTTP 200, got 500", "pointer": "",
         "state": state, "expectation": "dev-1" if state == "known-deviation" else "", "reason": ""}]
    exchange = None if state == "pass" else {
        "request": {"method": "GET", "path": f"/v{version}/x", "headers": {"X-Registry-Auth": "c2VjcmV0"},
                    "body": None},
        "response": {"status": 500, "headers": {"Content-Type": "application/json"}, "body": '{"message":"boom"}'}}
    return {"operation": op, "tag": SPEC_OPS["1.41"].get(op, "Other"), "version": version, "scenario": scenario,
            "status": 500 if exchange else 200, "checks": {"status_expected": state}, "findings": findings,
            "exchange": exchange, "state": state, "nodeid": f"suites/t.py::t[{version}-{op}-{scenario}]",
            "test_outcome": "passed", **extra}


def results(tests: list[dict[str, Any]], target: dict[str, Any] | None = None,
            versions: tuple[str, ...] = ("1.40", "1.41")) -> dict[str, Any]:
    return {"format": 1, "target": target or TARGET,
            "meta": {"api_versions": list(versions), "not_applicable": [], "run_id": "r1", "image": "busybox"},
            "tests": tests}


def sample() -> dict[str, Any]:
    return results([
        outcome("ContainerList", "1.40", "pass"), outcome("ContainerList", "1.40", "fail", "bad-filters"),
        outcome("ContainerList", "1.41", "pass"), outcome("ContainerList", "1.41", "known-deviation", "bad-filters"),
        outcome("SystemPing", "1.40", "pass"),
        outcome("SystemPing", "1.41", "skip",
                reason="[not opted in] changes the whole engine: run with --allow-global-changes"),
    ])


def test_cells_show_the_worst_scenario_state_na_and_not_covered() -> None:
    doc = matrix.build(sample(), SPEC_OPS, {"ImagePrune": "engine-wide effect"})
    cells = matrix.index(doc)
    tid = matrix.target_id(TARGET)
    assert cells[(tid, "1.40", "ContainerList")]["state"] == "fail"
    assert "bad-filters" in cells[(tid, "1.40", "ContainerList")]["reason"]
    assert cells[(tid, "1.41", "ContainerList")]["state"] == "known-deviation"
    assert cells[(tid, "1.40", "SystemPing")]["state"] == "pass"
    skip = cells[(tid, "1.41", "SystemPing")]
    assert (skip["state"], skip["entries"][0]["skip_category"]) == ("skip", "not opted in")
    assert cells[(tid, "1.40", "ImagePrune")]["state"] == "n/a"  # not in the 1.40 spec
    assert cells[(tid, "1.41", "ImagePrune")] | {"entries": None} == {
        "target": tid, "version": "1.41", "operation": "ImagePrune", "tag": "Image", "state": "skip",
        "reason": "engine-wide effect", "skip_category": "not covered", "entries": None}
    assert matrix.counts(doc) == {"fail": 1, "known-deviation": 1, "pass": 1, "skip": 2, "n/a": 1}
    assert doc["targets"][0]["id"] == "docker 24.0.7 @ tcp://engine.example:2375"


def test_passing_entries_drop_their_exchange() -> None:
    test = outcome("SystemPing", "1.40", "pass")
    test["exchange"] = {"request": {}, "response": {}}
    doc = matrix.build(results([test]))
    assert "exchange" not in doc["cells"][0]["entries"][0]


@pytest.mark.parametrize("reason, category", [
    ("[not opted in] changes the whole engine: run with --allow-global-changes", "not opted in"),
    ("[not in spec version] ContainerFoo is not in the API 1.25 spec", "not in spec version"),
    ("[unsupported by target] SwarmInit: no swarm-mode routes", "unsupported by target"),
    ("[needs capability] needs a registry the engine can reach: pass --registry HOST:PORT", "needs capability"),
    # Untyped prose is never guessed from: whatever it says, it is "precondition missing".
    ("ContainerFoo is not in the API 1.25 spec", "precondition missing"),
    ("changes the whole engine: run with --allow-global-changes", "precondition missing"),
    ("[no such category] x", "precondition missing"),
])
def test_skip_categories(reason: str, category: str) -> None:
    assert matrix.skip_category(reason) == category


def test_skip_cells_are_counted_by_their_typed_category() -> None:
    doc = matrix.build(results([
        outcome("SystemPing", "1.41", "skip", reason="[not opted in] run with --allow-global-changes"),
        outcome("ContainerList", "1.41", "skip", reason="[not in spec version] a parameter is not in the 1.41 spec"),
        outcome("ContainerList", "1.40", "skip", reason="[not in spec version] a parameter is not in the 1.40 spec"),
    ]), SPEC_OPS, {"ImagePrune": "engine-wide effect"})
    assert matrix.skip_counts(doc) == {"not in spec version": 2, "not opted in": 1, "not covered": 1}
    assert "Skipped cells by category: not in spec version 2, not opted in 1, not covered 1" in render.to_markdown(doc)


def test_merge_puts_targets_side_by_side() -> None:
    other = dict(TARGET, kind="podman", engine_version="4.9", address="unix:///run/podman.sock")
    first = matrix.build(sample(), SPEC_OPS)
    second = matrix.build(results([outcome("ContainerList", "1.41", "fail")], other, ("1.41",)), SPEC_OPS)
    merged = matrix.merge([first, second])
    assert [t["kind"] for t in merged["targets"]] == ["docker", "podman"]
    assert render.columns(merged) == [(first["targets"][0]["id"], "1.40"), (first["targets"][0]["id"], "1.41"),
                                      (second["targets"][0]["id"], "1.41")]
    md = render.to_markdown(merged)
    assert "| operation | tag | T1 1.40 | T1 1.41 | T2 1.41 |" in md


def test_diff_regressions_improvements_and_new_failures() -> None:
    old = matrix.build(sample(), SPEC_OPS)
    new_tests = sample()["tests"]
    new_tests[0] = outcome("ContainerList", "1.40", "pass")  # 1.40 bad-filters: fail -> (removed) pass
    new_tests[1] = outcome("ContainerList", "1.40", "pass", "bad-filters")
    new_tests[4] = outcome("SystemPing", "1.40", "error")  # pass -> error
    new_tests.append(outcome("ImagePrune", "1.41", "fail"))  # never passed before
    upgraded = dict(TARGET, engine_version="25.0.0")  # same engine slot, newer release: still compared
    result = matrix.diff(old, matrix.build(results(new_tests, upgraded), SPEC_OPS))
    assert [(i["operation"], i["version"], i["old"], i["new"]) for i in result["regressions"]] == [
        ("SystemPing", "1.40", "pass", "error")]
    assert [(i["operation"], i["version"]) for i in result["improvements"]] == [("ContainerList", "1.40")]
    assert [(i["operation"], i["old"]) for i in result["new_failures"]] == [("ImagePrune", matrix.NOT_RUN)]


def test_reports_are_redacted() -> None:
    register_secret("s3cr3t-selftest-value")
    tests = sample()["tests"]
    tests[1]["findings"][0]["message"] = "token s3cr3t-selftest-value leaked"
    tests[1]["exchange"]["request"]["body"] = '{"password": "hunter2-selftest"}'
    doc = matrix.build(results(tests), SPEC_OPS)
    for text in (matrix.to_json(doc), render.to_markdown(doc), render.to_html(doc)):
        assert "s3cr3t-selftest-value" not in text
        assert "hunter2-selftest" not in text
        assert "c2VjcmV0" not in text  # the X-Registry-Auth header value


def test_html_is_self_contained_and_lists_failed_cells() -> None:
    page = render.to_html(matrix.build(sample(), SPEC_OPS))
    assert page.startswith("<!DOCTYPE html>")
    for external in ("<link", "src=", "http://", "https://", "@import"):
        assert external not in page
    assert 'data-detail="d0"' in page and 'id="d0"' in page
    assert "ContainerList: expected HTTP 200, got 500" in page
    assert "GET /v1.40/x" in page


# ---------------------------------------------------------------- the CLI


def write(path: Path, doc: Any) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def test_cli_render_merge_and_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write(tmp_path / "a.json", sample())
    assert cli.main(["render", base, "--html", str(tmp_path / "m.html"), "--md", str(tmp_path / "m.md"),
                     "--json", str(tmp_path / "m.json")]) == 0
    assert "## Summary by tag" in (tmp_path / "m.md").read_text()
    rendered = json.loads((tmp_path / "m.json").read_text())
    assert rendered["format"] == matrix.FORMAT
    other = write(tmp_path / "b.json", results([outcome("SystemPing", "1.41", "pass")],
                                                dict(TARGET, kind="podman", address="unix:///p.sock")))
    assert cli.main(["merge", str(tmp_path / "m.json"), other, "-o", str(tmp_path / "merged.json")]) == 0
    assert len(json.loads((tmp_path / "merged.json").read_text())["targets"]) == 2

    worse = sample()
    worse["tests"][4] = outcome("SystemPing", "1.40", "fail")
    capsys.readouterr()
    assert cli.main(["diff", base, write(tmp_path / "worse.json", worse)]) == 1
    assert "SystemPing 1.40" in capsys.readouterr().out
    assert cli.main(["diff", base, base]) == 0


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("{not json", "not JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"format": "something-else"}', "unknown `format`"),
    ('{"format": "docker-api-conformance/matrix", "format_version": 1, "targets": [], "cells": [{}],'
     ' "operations": {}}', "cells[0] lacks"),
])
def test_cli_bad_input_is_one_line_exit_2(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "in.json"
    if content is not None:
        path.write_text(content)
    done = subprocess.run([sys.executable, "-m", "conformance.cli", "diff", str(path), str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_console_script_is_declared() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert 'conformance-matrix = "conformance.cli:main"' in text


def test_suite_tests_without_an_operation_are_never_na() -> None:
    extra = outcome("test_prefix_below_min", "-", "fail")
    doc = matrix.build(results([*sample()["tests"], extra]), SPEC_OPS)
    rows = [c for c in doc["cells"] if c["operation"] == "test_prefix_below_min"]
    assert [(c["version"], c["state"]) for c in rows] == [("-", "fail")]
    assert doc["versions"] == ["1.40", "1.41", "-"]


def test_promises_get_their_own_table_built_merged_and_rendered() -> None:
    tests = [outcome("ContainerList", "1.40", "pass", "promise:list-names", promise="list-names"),
             outcome("ContainerList", "1.41", "fail", "promise:list-names", promise="list-names"),
             outcome("SystemPing", "1.41", "pass", "promise:ping-ok", promise="ping-ok"),
             outcome("SystemPing", "1.40", "pass")]
    doc = matrix.build(results(tests), SPEC_OPS)
    tid = matrix.target_id(TARGET)
    assert doc["promises"] == {"list-names": {"tag": "Container", "operation": "ContainerList"},
                               "ping-ok": {"tag": "System", "operation": "SystemPing"}}
    by = {(c["version"], c["promise"]): c["state"] for c in doc["promise_cells"]}
    assert by == {("1.40", "list-names"): "pass", ("1.41", "list-names"): "fail", ("1.41", "ping-ok"): "pass"}
    # the operation's cell counts its promises too
    assert matrix.index(doc)[(tid, "1.41", "ContainerList")]["state"] == "fail"
    other = matrix.build(results([outcome("SystemPing", "1.41", "fail", "promise:ping-ok", promise="ping-ok")],
                                 target={**TARGET, "address": "tcp://other:2375"}), SPEC_OPS)
    merged = matrix.merge([doc, other])
    assert len(merged["promise_cells"]) == 4 and set(merged["promises"]) == {"list-names", "ping-ok"}
    md = render.to_markdown(merged)
    assert "## Promises" in md and "| list-names | Container |" in md
    assert "- **list-names**" in md and "- **ping-ok**" in md  # the failing promise cells are listed
    html = render.to_html(merged)
    assert 'id="promises"' in html and 'data-promise="ping-ok"' in html
    assert "## Promises" not in render.to_markdown(matrix.build(sample(), SPEC_OPS))  # no promises, no table
