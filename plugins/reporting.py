"""Reports at the end of a session: compatibility matrix, summary.yaml, and gating on a baseline.

Every process that runs tests puts the test's (operation, API version, tag, scenario, target) on
the item's user_properties at collection, and marks a failure as the suite breaking (`error`) or
the target not conforming (`fail`).  So the controller (also under pytest-xdist) knows about tests
that recorded no outcome: skips, setup errors, crashes.  At session end it adds those to the
outcomes (results.json then lists them), builds the matrix and writes matrix.json/.md/.html and
summary.yaml into --reports-dir; with --baseline the exit status reflects only regressions.
"""

from __future__ import annotations

import os
import shlex
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import about, matrix, render, run_summary
from conformance.accounting import account
from conformance.expectations import load_ineligible
from conformance.recorder import USER_PROPERTY
from conformance.redact import MASK, redact_text, register_secret
from plugins.safety import pair_coverage
from plugins.session import SuiteState, get_state, is_active

TEST_PROPERTY = "dac_test"  # {operation, version, tag, scenario, test, target}
FAILURE_PROPERTY = "dac_failure"  # {kind: fail|error, when, message}
STRUCTURED = {USER_PROPERTY, TEST_PROPERTY, FAILURE_PROPERTY}  # kept out of the JUnit XML
JUNIT_PROPERTIES = (("operation", "operation"), ("version", "api_version"), ("tag", "tag"),
                    ("scenario", "scenario"), ("promise", "promise"), ("target", "target"))
SECRET_OPTION_WORDS = ("password", "passwd", "token", "secret", "auth", "credential")
PLUGIN_NAME = "dac-reporting"
OTHER_TAG = "(suite)"  # tag of tests that are not about one operation
_OPTION_GROUPS: list[Any] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("docker-api-conformance")
    _OPTION_GROUPS.append(group)
    group.addoption("--baseline", default=None, metavar="FILE",
                    help="matrix.json (or results.json) of an earlier run: the exit status then reflects only "
                         "regressions against it (see --fail-on)")
    group.addoption("--fail-on", default=",".join(matrix.REGRESSION_KINDS), type=matrix.parse_fail_on,
                    metavar="KINDS", help="which changes against --baseline are regressions, comma separated: "
                    f"{', '.join(matrix.REGRESSION_KINDS)} (default: all)")
    group.addoption("--matrix", dest="dac_matrix", action="store_true", default=True,
                    help="write matrix.json, matrix.md, matrix.html and summary.yaml into --reports-dir (default)")
    group.addoption("--no-matrix", dest="dac_matrix", action="store_false",
                    help="write only results.json (and JUnit/Allure output when asked for)")


def _is_secret_option(dest: str) -> bool:
    return any(word in dest.lower() for word in SECRET_OPTION_WORDS)


def suite_options(config: pytest.Config) -> dict[str, Any]:
    """The suite's own options with their values; secrets masked, everything else redacted."""
    out: dict[str, Any] = {}
    for group in _OPTION_GROUPS:
        for option in group.options:
            value = config.getoption(option.dest, None)
            if _is_secret_option(option.dest):
                value = MASK if value else value
            elif isinstance(value, str):
                value = redact_text(value)
            elif isinstance(value, list):
                value = [redact_text(str(v)) for v in value]
            out[option.dest] = value
    return out


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # Secrets given as options (passwords, tokens) are masked in everything written from now on.
    for group in _OPTION_GROUPS:
        for option in group.options:
            value = config.getoption(option.dest, None)
            if _is_secret_option(option.dest) and isinstance(value, str):
                register_secret(value)
    if not is_active(config) or config.option.help or hasattr(config, "workerinput"):
        return
    quiet_by_default(config)
    baseline = None
    if config.getoption("--baseline"):
        try:
            baseline = matrix.load(config.getoption("--baseline"))
        except matrix.MatrixError as exc:
            raise pytest.UsageError(f"docker-api-conformance: --baseline {exc}") from None
    config.pluginmanager.register(ReportingPlugin(config, baseline), PLUGIN_NAME)


def _matches(arg: str, flag: str) -> bool:
    if flag.startswith("--"):
        return arg == flag or arg.startswith(flag + "=")
    return arg.startswith(flag) and not arg.startswith("--")  # -ra, -rfE


def _given(config: pytest.Config, *flags: str) -> bool:
    """Whether the user named one of these options (command line, PYTEST_ADDOPTS or the ini's addopts)."""
    args = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
            *config.getini("addopts")]
    return any(_matches(str(arg), flag) for arg in args for flag in flags)


def detailed(config: pytest.Config) -> bool:
    """-v, or an explicit -r: the per-test lines and the long lists are wanted."""
    return config.get_verbosity() > 0 or _given(config, "-r", "--report-chars")


def quiet_by_default(config: pytest.Config) -> None:
    """The progress line, then the suite's one summary: no per-test lines, no tracebacks, unless asked for
    (-v, -r..., --tb=...)."""
    if config.get_verbosity() > 0:
        return
    if not _given(config, "-r", "--report-chars"):
        config.option.reportchars = ""
    if not _given(config, "--tb") and config.option.tbstyle == "auto":
        config.option.tbstyle = "no"


# ---------------------------------------------------------------- every process that runs tests

def item_meta(item: pytest.Item, state: SuiteState) -> dict[str, str]:
    params = item.callspec.params if hasattr(item, "callspec") else {}
    version = str(params.get("api_version") or "")
    scenario = params.get("scenario")
    promise = params.get("promise")  # a catalogue promise: its first operation's cell, its own tag
    operation = str(getattr(scenario, "operation", "") or getattr(promise, "operation", "") or "")
    tag = str(getattr(promise, "tag", "") or "")
    if operation and not tag and version in state.catalog.versions:
        op = state.catalog.get(version).operation(operation)
        tag = op.tag if op else ""
    name = str(getattr(scenario, "name", "") or getattr(promise, "check", ""))
    return {"operation": operation, "version": version, "tag": tag, "scenario": name,
            "promise": str(getattr(promise, "id", "")),
            "test": getattr(item, "originalname", item.name), "target": matrix.target_id(state.target.as_dict())}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = get_state(config)
    if state is None:
        return
    for item in items:
        meta = item_meta(item, state)
        item.user_properties.append((TEST_PROPERTY, meta))
        item.user_properties += [(name, meta[key]) for key, name in JUNIT_PROPERTIES if meta[key]]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed and call.excinfo is not None and get_state(item.config) is not None:
        # Only a failed check or assertion during the test says the target does not conform.
        conforming_failure = isinstance(call.excinfo.value, (AssertionError, pytest.fail.Exception))
        kind = "fail" if call.when == "call" and conforming_failure else "error"
        message = render.one_line(redact_text(call.excinfo.exconly()), 600)
        report.user_properties.append((FAILURE_PROPERTY, {"kind": kind, "when": call.when, "message": message}))
    return report


# ---------------------------------------------------------------- the controller

@dataclass
class RunRecord:
    meta: dict[str, str] = field(default_factory=dict)
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")
    return redact_text(str(text).removeprefix("Skipped: "))


def _entry(meta: dict[str, str], nodeid: str, state: str, reason: str, test_outcome: str) -> dict[str, Any]:
    """An outcome-shaped record for a test that recorded no (conclusive) outcome of its own."""
    findings = [] if state in ("pass", "skip") else [
        {"check": "test", "message": reason, "pointer": "", "state": state, "expectation": "", "reason": ""}]
    return {"operation": meta.get("operation") or meta.get("test") or nodeid, "tag": meta.get("tag") or OTHER_TAG,
            "version": meta.get("version") or "-", "scenario": meta.get("scenario") or "", "status": 0,
            "checks": {"test": state}, "findings": findings, "exchange": None, "state": state, "reason": reason,
            "nodeid": nodeid, "test_outcome": test_outcome, "promise": meta.get("promise") or ""}


def synthesize(records: dict[str, RunRecord], outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries for skips, errors and failures that the recorded outcomes do not already show."""
    recorded: dict[str, set[str]] = {}
    for outcome in outcomes:
        recorded.setdefault(outcome.get("nodeid", ""), set()).add(outcome.get("state", ""))
    out = []
    for nodeid, record in records.items():
        if not record.meta:
            continue
        setup, call, teardown = (record.phases.get(w) for w in ("setup", "call", "teardown"))
        states = recorded.get(nodeid, set())
        if setup and setup["outcome"] == "skipped":
            out.append(_entry(record.meta, nodeid, "skip", setup["skip_reason"], "skipped"))
        elif setup and setup["outcome"] == "failed":
            out.append(_entry(record.meta, nodeid, "error", _failure_text(setup, "setup"), "error"))
        elif call and call["outcome"] == "failed" and not states & {"fail", "error"}:
            kind = (call["failure"] or {}).get("kind", "fail")
            out.append(_entry(record.meta, nodeid, kind, _failure_text(call, "call"), "failed"))
        elif call and call["outcome"] == "skipped" and not call["xfail"]:
            out.append(_entry(record.meta, nodeid, "skip", call["skip_reason"], "skipped"))
        elif call and call["outcome"] == "passed" and not states:
            out.append(_entry(record.meta, nodeid, "pass", "", "passed"))
        if teardown and teardown["outcome"] == "failed":
            out.append(_entry(record.meta, nodeid, "error", _failure_text(teardown, "teardown"), "error"))
    return out


def _failure_text(phase: dict[str, Any], when: str) -> str:
    failure = phase.get("failure") or {}
    return f"{when}: {failure.get('message') or 'failed'}"


def suite_version() -> str:
    """Package version, checkout (git describe, in one) and spec data commit, as one line (conformance/about.py)."""
    return about.suite_version()


class ReportingPlugin:
    """Controller side: gathers test records, writes the reports, gates on --baseline."""

    def __init__(self, config: pytest.Config, baseline: dict[str, Any] | None):
        self.config = config
        self.baseline = baseline
        self.started = time.monotonic()
        self.records: dict[str, RunRecord] = {}
        self.doc: dict[str, Any] | None = None
        self.gate: dict[str, list[dict[str, Any]]] | None = None
        self.excuses: dict[str, Any] = {"matched": {}, "stale": [], "not_exercised": []}
        self.written: list[Path] = []
        self.problems: list[str] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.records.setdefault(report.nodeid, RunRecord())
        failure = None
        for name, value in report.user_properties:
            if name == TEST_PROPERTY:
                record.meta = value
            elif name == FAILURE_PROPERTY:
                failure = value
        record.phases[report.when] = {
            "outcome": report.outcome, "failure": failure, "xfail": getattr(report, "wasxfail", None),
            "skip_reason": _skip_reason(report) if report.skipped else ""}
        if report.when == "teardown":
            # junitxml writes the teardown report's properties: keep them scalar (operation, version, target).
            report.user_properties = [(n, v) for n, v in report.user_properties if n not in STRUCTURED]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        state = get_state(self.config)
        if state is None or self.config.option.collectonly:
            return
        state.outcomes.extend(synthesize(self.records, state.outcomes))  # before results.json is written
        spec_ops = matrix.spec_operations(state.catalog, state.selection.run)
        results = state.results()
        version = suite_version()
        self.doc = matrix.build(results, spec_ops, not_covered(state, spec_ops), version)
        self.excuses = account(state.book.entries, state.outcomes, state.target.kind, state.target.engine_version)
        if self.baseline is not None:
            self.gate = matrix.diff(self.baseline, self.doc, self.config.getoption("--fail-on"))
        if self.config.getoption("dac_matrix"):
            self._write(state, session, version)

    def exit_status(self, current: int) -> int:
        """With a baseline, tests failing does not fail the run; only regressions do."""
        if self.gate is None or current not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            return int(current)
        return int(pytest.ExitCode.TESTS_FAILED if self.gate["regressions"] else pytest.ExitCode.OK)

    def _write(self, state: SuiteState, session: pytest.Session, version: str) -> None:
        out = state.reports_dir
        assert self.doc is not None
        try:
            out.mkdir(parents=True, exist_ok=True)
            matrix.write(self.doc, out / "matrix.json")
            (out / "matrix.md").write_text(render.to_markdown(self.doc))
            (out / "matrix.html").write_text(render.to_html(self.doc))
            self.written = [out / "results.json", out / "matrix.json", out / "matrix.md", out / "matrix.html",
                            out / "summary.yaml"]
            summary = self.summary(state, session, version)
            (out / "summary.yaml").write_text(redact_text(yaml.safe_dump(summary, sort_keys=False, width=200)))
        except OSError as exc:
            self.problems.append(f"could not write the reports into {out}: {exc.strerror or exc}")

    def summary(self, state: SuiteState, session: pytest.Session, version: str) -> dict[str, Any]:
        assert self.doc is not None
        tests: dict[str, int] = {}
        for record in self.records.values():
            outcome = _test_outcome(record)
            tests[outcome] = tests.get(outcome, 0) + 1
        scenarios: dict[str, int] = {}
        for outcome in state.outcomes:
            scenarios[outcome["state"]] = scenarios.get(outcome["state"], 0) + 1
        data: dict[str, Any] = {
            "suite": {**about.details(), "line": version},
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "target": {"id": matrix.target_id(state.target.as_dict()), **state.target.as_dict()},
            "run": {"run_id": state.run_id, "api_versions": list(state.selection.run),
                    "not_applicable": list(state.selection.not_applicable), "image": state.image,
                    "workers": os.environ.get("PYTEST_XDIST_WORKER_COUNT") or _workers(self.config),
                    "duration_seconds": round(time.monotonic() - self.started, 1),
                    "exit_status": self.exit_status(session.exitstatus)},
            "options": suite_options(self.config),
            "counts": {"cells": matrix.counts(self.doc), "scenarios": scenarios, "tests": tests},
            "cells_by_tag": matrix.counts(self.doc, "tag"),
            "skips_by_category": matrix.skip_counts(self.doc),
            "excuses": self.excuses,
            "deviations_not_observed": [e for e in self.excuses["stale"] if e["state"] == "known-deviation"],
            "artefacts": [p.name for p in self.written],
        }
        if self.gate is not None:
            data["baseline"] = {"file": redact_text(str(self.config.getoption("--baseline"))),
                                **{k: v for k, v in self.gate.items() if k != "changes"},
                                "other_changes": len(self.gate["changes"])}
        return data

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.doc is None:
            return
        state = get_state(self.config)
        assert state is not None
        tr = terminalreporter
        full = detailed(self.config)
        tr.write_sep("=", "docker-api-conformance")
        for line in self.summary_lines(state, full):
            tr.write_line(line)
        for line in self.problems:
            tr.write_line(f"WARNING: {line}", yellow=True)
        self._gate_lines(tr)

    def summary_lines(self, state: SuiteState, full: bool) -> list[str]:
        """The default summary (conformance/run_summary.py); `full` lists what the short form counts."""
        tests: dict[str, int] = {}
        skipped: list[str] = []
        for record in self.records.values():
            outcome = _test_outcome(record)
            tests[outcome] = tests.get(outcome, 0) + 1
            if outcome == "skipped":
                skipped.append(next((p["skip_reason"] for p in record.phases.values() if p["skip_reason"]), ""))
        assert self.doc is not None
        cells = ", ".join(f"{n} {s}" for s, n in matrix.counts(self.doc).items())
        lines = [f"{matrix.target_id(state.target.as_dict())}, API {_versions(state.selection.run)}: "
                 f"{run_summary.counts_line(tests)}; matrix cells: {cells}"]
        lines.append(run_summary.coverage_line(pair_coverage(state)))
        lines += run_summary.failure_lines(run_summary.failure_groups(state.outcomes), 50 if full else 10)
        lines += run_summary.skip_lines(run_summary.skip_groups(skipped), 100 if full else 6)
        lines += self._excuse_lines(state, full)
        extra = [p for p in (state.reports_dir / "coverage.json",) if self.written and p.exists()]
        lines.append(run_summary.paths_line([*self.written, *extra]))
        return [line for line in lines if line]

    def _excuse_lines(self, state: SuiteState, full: bool) -> list[str]:
        matched, stale, idle = self.excuses["matched"], self.excuses["stale"], self.excuses["not_exercised"]
        states = {entry.id: entry.state for entry in state.book.entries}
        by_state: dict[str, int] = {}
        for entry_id, count in matched.items():
            by_state[states.get(entry_id, "?")] = by_state.get(states.get(entry_id, "?"), 0) + count
        parts = [f"{sum(matched.values())} findings by {len(matched)} entries"
                 + (f" ({', '.join(f'{n} {s}' for s, n in sorted(by_state.items()))})" if by_state else "")]
        if stale:
            parts.append(f"{len(stale)} stale (exercised, matched nothing: narrow or remove them)")
        if idle:
            parts.append(f"{len(idle)} not exercised")
        lines = [f"excused: {'; '.join(parts)}; summary.yaml lists them"] if matched or stale or idle else []
        if full:
            for item in stale:
                lines.append(f"  stale {item['state']} {item['id']}: {', '.join(item['exercised'][:5])}"
                             f"{' ...' if item['exercised_count'] > 5 else ''}")
        return lines

    def _gate_lines(self, tr: Any) -> None:
        if self.gate is None:
            return
        regressions, improvements = self.gate["regressions"], self.gate["improvements"]
        tr.write_line(f"baseline {self.config.getoption('--baseline')}: {len(regressions)} regressions, "
                      f"{len(improvements)} improvements, {len(self.gate['new_failures'])} failing cells that never "
                      f"passed in the baseline, {len(self.gate['changes'])} other changes",
                      red=bool(regressions), green=not regressions)
        for title, items in (("REGRESSION", regressions), ("improvement", improvements)):
            for item in items[:100]:
                tr.write_line(f"  {title}: {item['operation']} {item['version']}: {item['old']} -> {item['new']}"
                              f"{' - ' + render.one_line(item['reason'], 140) if item.get('reason') else ''}",
                              red=title == "REGRESSION")


def _versions(versions: list[str]) -> str:
    return ", ".join(versions) if len(versions) <= 3 else f"{versions[0]}..{versions[-1]} ({len(versions)} versions)"


def _test_outcome(record: RunRecord) -> str:
    phases = record.phases
    if any(p["outcome"] == "failed" for w, p in phases.items() if w != "call"):
        return "error"
    call = phases.get("call")
    if call is None:
        return "skipped" if any(p["outcome"] == "skipped" for p in phases.values()) else "not run"
    if call["outcome"] == "skipped" and call["xfail"]:
        return "xfailed"
    return str(call["outcome"])


def _workers(config: pytest.Config) -> int | str:
    value = getattr(config.option, "numprocesses", None)
    return value if value else 0


def not_covered(state: SuiteState, spec_ops: dict[str, dict[str, str]]) -> dict[str, str]:
    """Operations of the run's versions that no scenario and no recorded outcome covers, with the reason."""
    try:
        ineligible = load_ineligible()
    except ValueError:
        ineligible = {}
    seen = {t["operation"] for t in state.outcomes}
    every = {op for ops in spec_ops.values() for op in ops}
    return {op: ineligible.get(op, matrix.NOT_COVERED) for op in every if op not in state.scenarios and op not in seen}


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    plugin = session.config.pluginmanager.get_plugin(PLUGIN_NAME)
    if isinstance(plugin, ReportingPlugin):
        session.exitstatus = plugin.exit_status(session.exitstatus)

