"""Outcomes: what each check concluded for (target, version, operation, scenario), as plain data.

Outcomes travel on pytest reports (user_properties) so pytest-xdist workers hand them to the
controller, which writes reports/results.json for the matrix and reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from conformance.checks import Problem
from conformance.exchange import Exchange
from conformance.expectations import Expectation

# Check and test states, worst first: a cell shows the worst state of its checks.  "not-observed": a
# documented deviation of the target kind that was looked for and not seen (not the same as "conforms").
STATES = ("error", "fail", "known-deviation", "spec-erratum", "not-observed", "pass", "skip", "n/a")
USER_PROPERTY = "dac_outcome"
SUITE_CHECKS = ("read_limit",)  # findings about the suite's own limits: errors of the suite, never excused


def worst(states: Iterable[str], default: str = "n/a") -> str:
    """The first of STATES (most severe first) among `states`; `default` when there are none."""
    present = set(states)
    return next((s for s in STATES if s in present), default)


@dataclass
class Finding:
    check: str
    message: str
    pointer: str
    state: str  # fail | spec-erratum | known-deviation
    expectation: str = ""  # id of the erratum/deviation that explains it
    reason: str = ""


@dataclass
class Outcome:
    operation: str
    tag: str
    version: str
    scenario: str
    status: int
    checks: dict[str, str]  # check name -> state
    findings: list[Finding] = field(default_factory=list)
    exchange: dict[str, Any] | None = None  # redacted excerpt, kept when something did not pass
    promise: str = ""  # the promise (suites/promises) this outcome judges, if any

    @property
    def state(self) -> str:
        return worst(self.checks.values(), default="pass")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state
        return data


def classify(problems: dict[str, list[Problem]], explain: Any) -> tuple[dict[str, str], list[Finding]]:
    """Per-check states and findings; `explain(problem) -> Expectation | None` marks errata/deviations."""
    states: dict[str, str] = {}
    findings: list[Finding] = []
    for check, found in problems.items():
        if not found:
            states[check] = "pass"
            continue
        check_states = []
        for problem in found:
            known: Expectation | None = None if problem.check in SUITE_CHECKS else explain(problem)
            state = "error" if problem.check in SUITE_CHECKS else known.state_for(problem) if known else "fail"
            check_states.append(state)
            findings.append(Finding(check, problem.message, problem.pointer, state,
                                    known.id if known else "", known.reason if known else ""))
        states[check] = worst(check_states)
    return states, findings


def outcome_for(op_id: str, tag: str, version: str, scenario: str, ex: Exchange | None,
                states: dict[str, str], findings: list[Finding], promise: str = "") -> Outcome:
    outcome = Outcome(op_id, tag, version, scenario, ex.status if ex else 0, states, findings, promise=promise)
    if ex is not None and outcome.state != "pass":
        outcome.exchange = ex.summary()
    return outcome


def results_document(target: dict[str, Any], meta: dict[str, Any], tests: list[dict[str, Any]]) -> dict[str, Any]:
    """results.json's content: the session's raw outcomes; the matrix and reports are derived from it."""
    return {"format": 1, "target": target, "meta": meta, "tests": tests}


def write_results(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)
