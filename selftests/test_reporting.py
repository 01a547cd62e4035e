"""plugins/reporting.py and plugins/allure_labels.py: synthesized entries, gating, secrets in artefacts.

The session tests run the real plugins in a subprocess against the embedded fake engine, with a
probe test module (written to a tmp dir) that records a pass or a forced failure for SystemPing
and sends credentials in a request.  They skip cleanly when the fake engine cannot start.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import matrix, run_summary
from conformance.accounting import account
from conformance.expectations import Expectation
from plugins.reporting import ReportingPlugin, RunRecord, detailed, quiet_by_default, synthesize

ROOT = Path(__file__).resolve().parent.parent
SECRET = "Sup3r-S3cret-selftest-7f2c"
PROBE = '''
import base64, json, os
from conformance.checks import Problem

SECRET = os.environ["DAC_SELFTEST_SECRET"]


def test_dac_selftest_probe(engine):
    failing = os.environ.get("DAC_SELFTEST_MODE") == "fail"
    problems = [Problem("status_expected", "forced failure")] if failing else []
    engine.record("SystemPing", "selftest", None, {"status_expected": problems})


def test_dac_selftest_secret(engine):
    auth = base64.urlsafe_b64encode(json.dumps({"username": "u", "password": SECRET}).encode()).decode()
    engine.call("SystemAuth", json_body={"username": "u", "password": SECRET, "serveraddress": "r.example"},
                headers={"X-Registry-Auth": auth}, query={"note": SECRET}, expect=[599])
'''


def phase(outcome: str, failure: dict[str, Any] | None = None, xfail: str | None = None,
          skip_reason: str = "") -> dict[str, Any]:
    return {"outcome": outcome, "failure": failure, "xfail": xfail, "skip_reason": skip_reason}


META = {"operation": "ContainerList", "version": "1.41", "tag": "Container", "scenario": "ok",
        "test": "test_operation", "target": "docker 20 @ unix:///x"}


def test_synthesize_skips_errors_and_failures_without_outcomes() -> None:
    ok = {"setup": phase("passed"), "teardown": phase("passed")}
    records = {
        "skipped-in-setup": RunRecord(META, {"setup": phase("skipped", skip_reason="needs a registry")}),
        "broke-in-setup": RunRecord(META, {"setup": phase("failed", {"kind": "error", "message": "APIError"})}),
        "crashed": RunRecord(META, {**ok, "call": phase("failed", {"kind": "error", "message": "KeyError: 'x'"})}),
        "asserted": RunRecord(META, {**ok, "call": phase("failed", {"kind": "fail", "message": "assert 1 == 2"})}),
        "checked": RunRecord(META, {**ok, "call": phase("failed", {"kind": "fail", "message": "[x] y"})}),
        "explained": RunRecord(META, {**ok, "call": phase("skipped", xfail="known-deviation: d")}),
        "opted-out": RunRecord(META, {**ok, "call": phase("skipped", skip_reason="run with --allow-global-changes")}),
        "teardown": RunRecord(META, {"setup": phase("passed"), "call": phase("passed"),
                                     "teardown": phase("failed", {"kind": "error", "message": "cleanup"})}),
        "not-ours": RunRecord({}, {"setup": phase("failed")}),
    }
    outcomes = [{"nodeid": "checked", "state": "fail"}, {"nodeid": "explained", "state": "known-deviation"},
                {"nodeid": "teardown", "state": "pass"}]
    got = {(e["nodeid"], e["state"]) for e in synthesize(records, outcomes)}
    assert got == {("skipped-in-setup", "skip"), ("broke-in-setup", "error"), ("crashed", "error"),
                   ("asserted", "fail"), ("opted-out", "skip"), ("teardown", "error")}
    entry = next(e for e in synthesize(records, outcomes) if e["nodeid"] == "crashed")
    assert (entry["operation"], entry["version"], entry["findings"][0]["message"]) == (
        "ContainerList", "1.41", "call: KeyError: 'x'")


def gate(regressions: int) -> dict[str, list[dict[str, Any]]]:
    return {"regressions": [{}] * regressions, "improvements": [], "new_failures": [], "changes": []}


@pytest.mark.parametrize("current, regressions, expected", [
    (pytest.ExitCode.TESTS_FAILED, 0, 0), (pytest.ExitCode.TESTS_FAILED, 1, 1), (pytest.ExitCode.OK, 1, 1),
    (pytest.ExitCode.INTERRUPTED, 0, 2), (pytest.ExitCode.INTERNAL_ERROR, 0, 3),
])
def test_exit_status_with_a_baseline(current: int, regressions: int, expected: int) -> None:
    plugin = ReportingPlugin.__new__(ReportingPlugin)
    plugin.gate = gate(regressions)
    assert plugin.exit_status(current) == expected
    plugin.gate = None
    assert plugin.exit_status(current) == int(current)


def deviation(id_: str, ops: tuple[str, ...], engine: str = "") -> Expectation:
    return Expectation(id=id_, state="known-deviation", operations=ops, check="status_expected",
                       versions=("1.25", "1.41"), targets=(), pointers=(), message="", reason="r",
                       engine_versions=engine)


def test_excuses_are_accounted_for() -> None:
    """matched (explained a finding), stale (its check ran on what it covers, nothing matched: exercised and
    not seen), not exercised (nothing it covers was checked: no evidence either way)."""
    entries = [deviation("seen", ("ContainerList",)), deviation("fixed", ("ImageList", "ImageInspect")),
               deviation("other-release", ("ImageList",), "19"), deviation("never-ran", ("SwarmInit",)),
               deviation("only-skipped", ("VolumeCreate",)), deviation("failing-too", ("NetworkList",))]
    passing = {"status_expected": "pass"}
    tests = [{"operation": "ContainerList", "version": "1.41", "state": "known-deviation",
              "checks": {"status_expected": "known-deviation"},
              "findings": [{"expectation": "seen", "state": "known-deviation"}]},
             {"operation": "ImageList", "version": "1.41", "state": "pass", "checks": passing, "findings": []},
             {"operation": "VolumeCreate", "version": "1.41", "state": "skip", "checks": {"test": "skip"}},
             {"operation": "NetworkList", "version": "1.41", "state": "fail", "checks": {"status_expected": "fail"},
              "findings": [{"expectation": "", "state": "fail"}]}]
    got = account(entries, tests, "docker", "20.10.24")
    assert got["matched"] == {"seen": 1}
    assert [(e["id"], e["exercised"]) for e in got["stale"]] == [("fixed", ["ImageList 1.41"]),
                                                                ("failing-too", ["NetworkList 1.41"])]
    assert [e["id"] for e in got["not_exercised"]] == ["other-release", "never-ran", "only-skipped"]


# ---------------------------------------------------------------- sessions against the embedded fake


def run_session(tmp_path: Path, out: str, mode: str, *extra: str) -> subprocess.CompletedProcess[str]:
    probe = tmp_path / "probe" / "test_dac_probe.py"
    probe.parent.mkdir(exist_ok=True)
    probe.write_text(PROBE)
    env = {**os.environ, "DAC_SELFTEST_SECRET": SECRET, "DAC_SELFTEST_MODE": mode}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    # suites/test_operations.py makes the conformance session active; -k keeps only the probe tests.
    cmd = [sys.executable, "-m", "pytest", "suites/test_operations.py", str(probe), "-k", "dac_selftest",
           "--target", "fake", "--api-version", "1.41", f"--reports-dir={tmp_path / out}", "-q",
           "-p", "no:cacheprovider", "-p", "no:randomly", *extra]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


def cell_state(path: Path, operation: str) -> str:
    doc = json.loads(path.read_text())
    return next(c["state"] for c in doc["cells"] if c["operation"] == operation)


def test_baseline_gating_and_allure_history(tmp_path: Path) -> None:
    first = run_session(tmp_path, "base", "pass", f"--alluredir={tmp_path / 'base' / 'allure'}")
    assert cell_state(tmp_path / "base" / "matrix.json", "SystemPing") == "pass", first.stdout[-2000:]
    assert first.returncode == 1  # the SystemAuth probe fails on purpose, no baseline: a plain failure

    regressed = run_session(tmp_path, "run2", "fail", f"--baseline={tmp_path / 'base' / 'matrix.json'}",
                            f"--alluredir={tmp_path / 'run2' / 'allure'}")
    assert regressed.returncode == 1, regressed.stdout[-3000:]
    assert "REGRESSION: SystemPing 1.41: pass -> fail" in regressed.stdout
    summary = yaml.safe_load((tmp_path / "run2" / "summary.yaml").read_text())
    assert [r["operation"] for r in summary["baseline"]["regressions"]] == ["SystemPing"]
    assert summary["run"]["exit_status"] == 1
    # Allure: labels, and the same history for the same (operation, version, target) whatever the outcome.
    assert allure_probe(tmp_path / "base" / "allure") == allure_probe(tmp_path / "run2" / "allure")

    # The same failing run against a baseline where it already failed: nothing regressed.
    known = run_session(tmp_path, "run3", "fail", f"--baseline={tmp_path / 'run2' / 'matrix.json'}")
    assert known.returncode == 0, known.stdout[-3000:]
    assert "0 regressions" in known.stdout


def test_bad_baseline_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{nope")
    for path in (tmp_path / "missing.json", tmp_path / "bad.json"):
        done = subprocess.run([sys.executable, "-m", "pytest", "suites/test_operations.py", "--collect-only",
                               "-q", "-p", "no:cacheprovider", "--target", "fake", f"--baseline={path}"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == pytest.ExitCode.USAGE_ERROR
        errors = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(errors) == 1 and "--baseline" in errors[0] and "Traceback" not in done.stderr, done.stderr


def test_no_artefact_carries_a_secret(tmp_path: Path) -> None:
    done = run_session(tmp_path, "out", "pass", "-n", "2", f"--junitxml={tmp_path / 'out' / 'junit.xml'}",
                       f"--alluredir={tmp_path / 'out' / 'allure'}", f"--registry-password={SECRET}")
    out = tmp_path / "out"
    assert (out / "matrix.html").exists() and (out / "junit.xml").exists(), done.stdout[-3000:]
    assert cell_state(out / "matrix.json", "SystemAuth") == "fail"  # the exchange with credentials is kept
    header = base64.urlsafe_b64encode(json.dumps({"username": "u", "password": SECRET}).encode()).decode()
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {"results.json", "matrix.json", "matrix.md", "matrix.html", "summary.yaml", "junit.xml",
            "environment.properties", "categories.json"} <= {p.name for p in files}
    assert any(p.name.endswith("-attachment.json") for p in files)  # the redacted exchange
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        assert SECRET not in text, path
        assert header not in text, path
    junit = (out / "junit.xml").read_text()
    assert 'name="api_version" value="1.41"' in junit and 'name="target" value="fake ' in junit
    assert "dac_outcome" not in junit and "dac_test" not in junit


def allure_probe(allure_dir: Path) -> tuple[str, str]:
    """Labels of the probe test's Allure result; its (historyId, testCaseId)."""
    results = [json.loads(p.read_text()) for p in allure_dir.glob("*-result.json")]
    probe = next(r for r in results if r["name"].startswith("test_dac_selftest_probe"))
    labels = {(label["name"], label.get("value")) for label in probe["labels"]}
    assert {("suite", "API 1.41"), ("feature", "System"), ("story", "SystemPing")} <= labels
    assert any(name == "parentSuite" and str(value).startswith("fake ") for name, value in labels)
    other = next(r for r in results if r["name"].startswith("test_dac_selftest_secret"))
    assert other["historyId"] != probe["historyId"]
    categories = json.loads((allure_dir / "categories.json").read_text())
    assert {"Known engine deviation", "Spec erratum"} <= {c["name"] for c in categories}
    assert "target=" in (allure_dir / "environment.properties").read_text()
    return probe["historyId"], probe["testCaseId"]


def test_matrix_module_accepts_its_own_results(tmp_path: Path) -> None:
    doc = {"format": 1, "target": {"kind": "fake"}, "meta": {"api_versions": ["1.41"]},
           "tests": [{"operation": "SystemPing", "version": "1.41", "state": "pass", "tag": "System"}]}
    (tmp_path / "results.json").write_text(json.dumps(doc))
    assert matrix.load(tmp_path / "results.json")["cells"][0]["state"] == "pass"


def test_an_error_answer_does_not_exercise_a_body_pointer_excuse() -> None:
    nil = Expectation(id="nil", state="known-deviation", operations=("SwarmInspect",), check="body_schema",
                      versions=("1.25", "1.41"), targets=(), pointers=("/DefaultAddrPool",), message="", reason="r")
    checked = {"operation": "SwarmInspect", "version": "1.41", "checks": {"body_schema": "pass"}, "findings": []}
    assert [e["id"] for e in account([nil], [{**checked, "status": 503}], "docker", "20.10.24")["not_exercised"]] \
        == ["nil"]
    assert [e["id"] for e in account([nil], [{**checked, "status": 200}], "docker", "20.10.24")["stale"]] == ["nil"]


def test_skips_are_grouped_by_reason_with_what_lifts_them() -> None:
    reasons = ["[precondition missing] needs a swarm manager (this node's swarm state: inactive)"] * 3 + [
        "[needs capability] needs a registry the engine can reach: pass --registry HOST:PORT (scripts/registry-up)",
        "[not opted in] changes the whole engine (swarm, plugins, unfiltered prune): run with --allow-global-changes",
        "Skipped: [not in spec version] ContainerFoo is not in the API 1.25 spec", "an untyped skip"]
    groups = run_summary.skip_groups(reasons)
    assert [(g.count, g.category) for g in groups][:1] == [(3, "precondition missing")]
    lifts = {g.reason: g.lift for g in groups}
    assert lifts["needs a registry the engine can reach"] == "--registry HOST:PORT (scripts/registry-up)"
    assert lifts["changes the whole engine (swarm, plugins, unfiltered prune)"] == "--allow-global-changes"
    assert "docker swarm init" in lifts["needs a swarm manager (this node's swarm state: inactive)"]
    assert lifts["ContainerFoo is not in the API 1.25 spec"] == "another --api-version"
    lines = run_summary.skip_lines(groups, limit=2)
    assert lines[0] == "skipped 7 tests, by reason (-> what lifts it):"
    assert lines[-1].endswith("for 3 other reasons (-ra lists every skipped test)") and len(lines) == 4


def test_failures_are_grouped_by_check_and_operation() -> None:
    def outcome(version: str, state: str, *findings: tuple[str, str, str]) -> dict[str, Any]:
        return {"operation": "ContainerList", "version": version, "state": state, "nodeid": f"t[{version}]",
                "findings": [{"check": c, "message": m, "state": s} for c, m, s in findings]}

    groups = run_summary.failure_groups([
        outcome("1.41", "fail", ("status_expected", "expected 200, got 500", "fail"),
                ("body_schema", "excused", "spec-erratum")),
        outcome("1.44", "fail", ("status_expected", "expected 200, got 501", "fail")),
        outcome("1.44", "pass"),
        {"operation": "SystemPing", "version": "1.41", "state": "error", "nodeid": "p", "findings": [],
         "reason": "setup: boom"}])
    assert [(g.check, g.operation, g.count, sorted(g.versions), g.first) for g in groups] == [
        ("status_expected", "ContainerList", 2, ["1.41", "1.44"], "expected 200, got 500"),
        ("test", "SystemPing", 1, ["1.41"], "setup: boom")]
    assert groups[1].state == "error" and groups[0].lines()[1].strip() == "t[1.41]"


def test_coverage_fits_one_line() -> None:
    row = {"exercised": 9, "declared": 10, "ratio": 0.9}
    assert run_summary.coverage_line({"versions": {"1.41": row}}) == \
        "(operation, status) pairs exercised: API 1.41 9/10 (90.0%)"
    many = {f"1.{v}": {**row, "ratio": v / 100} for v in range(25, 57)}
    line = run_summary.coverage_line({"versions": many})
    assert "over 32 versions" in line and "lowest API 1.25" in line and "highest API 1.56" in line


def test_quiet_by_default_and_detailed_on_request() -> None:
    def config(*args: str, verbose: int = 0) -> Any:
        option = type("O", (), {"reportchars": "fE", "tbstyle": "auto"})()
        return type("C", (), {"option": option, "invocation_params": type("I", (), {"args": args})(),
                              "getini": lambda self, name: [], "get_verbosity": lambda self: verbose})()

    quiet = config()
    quiet_by_default(quiet)
    assert (quiet.option.reportchars, quiet.option.tbstyle) == ("", "no") and not detailed(quiet)
    asked = config("-ra", "--tb=short")
    quiet_by_default(asked)
    assert (asked.option.reportchars, asked.option.tbstyle) == ("fE", "auto") and detailed(asked)  # as given
    assert detailed(config(verbose=1)) and not detailed(config("--rootdir=x"))


def test_a_plain_green_run_prints_at_most_40_lines(tmp_path: Path) -> None:
    """`pytest` in the repository: the progress lines, then one summary (issue 14); -ra brings per-test lines."""
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "PYTEST_ADDOPTS")}
    done = subprocess.run([sys.executable, "-m", "pytest", f"--reports-dir={tmp_path}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env=env)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout[-4000:]
    assert len(lines) <= 40, done.stdout
    assert not [line for line in lines if line.startswith(("SKIPPED", "XFAIL"))], done.stdout
    assert any("pairs exercised" in line for line in lines) and (tmp_path / "matrix.html").is_file()
