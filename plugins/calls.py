"""The `engine` fixture: send a request at the test's API version, run the checks, record outcomes.

Problems that an erratum or a known deviation explains do not fail the test; when a test's
only problems are explained ones, its report becomes xfail with that reason, so the run shows
"spec erratum" / "known deviation" rather than a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from conformance import skips
from conformance.checks import Problem, merge_problems, run_checks, status_expected
from conformance.differential import record_exchange
from conformance.exchange import EngineClient, Exchange, expand_path
from conformance.recorder import USER_PROPERTY, Finding, classify, outcome_for
from conformance.registry import require
from conformance.spec import Operation, Spec
from plugins.safety import needs_outside_swarm_twin, prune_refusal
from plugins.session import SuiteState, get_state, own_fake

EXPLAINED_KEY = pytest.StashKey[list]()
SHOWN_FAILURES = 12


class SuiteLimit(RuntimeError):
    """A response the suite could not judge because one of its own limits cut it (shown as error)."""


class EngineCall:
    """Requests at one API version for one test, checked and recorded."""

    def __init__(self, state: SuiteState, version: str, item: pytest.Item):
        self.state = state
        self.version = version
        self.spec: Spec = state.catalog.get(version)
        self.item = item
        self.client = EngineClient(state.api, max_bytes=state.max_body_bytes, read_seconds=state.config.timeout)

    def operation(self, op_id: str) -> Operation:
        op = self.spec.operation(op_id)
        if op is None:
            skips.skip(skips.NOT_IN_SPEC, f"{op_id} is not in the API {self.version} spec")
        return op

    def send(self, op_id: str, path_params: dict[str, Any] | None = None, **kwargs: Any) -> tuple[Operation, Exchange]:
        """Send without checking (for preconditions inside a test or for raw follow-ups).

        Every request of the suite passes here, so this is where an unfiltered prune is refused.
        """
        refusal = prune_refusal(op_id, kwargs.get("query") or {}, self.state.run_id, self.state.allow_global_changes)
        if refusal:
            pytest.fail(refusal, pytrace=False)
        op = self.operation(op_id)
        ex = self.client.request(op_id, self.version, op.method, expand_path(op.path, path_params or {}), **kwargs)
        return op, ex

    def call(
        self,
        op_id: str,
        path_params: dict[str, Any] | None = None,
        *,
        expect: Iterable[int] = (200,),
        scenario: str = "ok",
        **kwargs: Any,
    ) -> Exchange:
        """Send, check the response against the spec and the expected statuses, record; fail on problems."""
        op, ex = self.send(op_id, path_params, **kwargs)
        self.check(op, scenario, ex, expect)
        return ex

    def check(self, op: Operation, scenario: str, ex: Exchange, expect: Iterable[int],
              **extra: list[Problem]) -> None:
        """The standard checks, the expected status and a test's own checks, recorded as one outcome."""
        self.record(op, scenario, ex, merge_problems(self.problems(op, ex, expect), extra))

    def problems(self, op: Operation, ex: Exchange, expect: Iterable[int]) -> dict[str, list[Problem]]:
        """The standard checks and the expected status, not recorded yet."""
        return {**run_checks(self.spec, op, ex), "status_expected": status_expected(op, ex, expect)}

    def record(self, op: Operation | str, scenario: str, ex: Exchange | None,
               problems: dict[str, list[Problem]], promise: str = "") -> None:
        """Classify problems against errata/deviations, attach the outcome, fail on unexplained ones."""
        op = self.operation(op) if isinstance(op, str) else op
        for name in problems:
            require(name)  # a check recorded under an undeclared name would match no excuse, silently
        kind = self.state.target.kind

        def explain(problem: Problem) -> Any:
            return self.state.book.explain_problem(kind, self.version, op.id, problem,
                                                   self.state.target.engine_version)

        states, findings = classify(problems, explain)
        if ex is not None and self.item.config.getoption("--record-exchanges"):
            record_exchange(self.state.reports_dir / "exchanges", self.state.worker, self.item.nodeid, scenario, ex)
        outcome = outcome_for(op.id, op.tag, self.version, scenario, ex, states, findings, promise)
        self.item.user_properties.append((USER_PROPERTY, outcome.to_json()))
        failures = [f for f in findings if f.state == "fail"]
        explained = [f for f in findings if f.state in ("known-deviation", "spec-erratum")]
        self.item.stash.setdefault(EXPLAINED_KEY, []).extend(explained)
        limits = [f for f in findings if f.state == "error"]
        if limits:  # the suite could not judge: an error of the suite, not a failure of the target
            raise SuiteLimit("\n".join(f"[{f.check}] {f.message}" for f in limits))
        if failures:
            shown = failures[:SHOWN_FAILURES]  # only the display is capped: every finding was judged and recorded
            more = f"\n(+{len(failures) - len(shown)} more findings in results.json)" if failures[len(shown):] else ""
            pytest.fail("\n".join(f"[{f.check}] {f.message}" for f in shown) + more, pytrace=False)


def _explained_reason(findings: list[Finding]) -> str:
    first = findings[0]
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return f"{first.state}: {first.expectation}: {first.message}{more}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    explained = item.stash.get(EXPLAINED_KEY, [])
    if call.when == "call" and report.passed and explained:
        report.outcome = "skipped"
        report.wasxfail = _explained_reason(explained)
    return report


@pytest.fixture
def engine(request: pytest.FixtureRequest, api_version: str) -> EngineCall:
    state = get_state(request.config)
    if state is None:
        skips.skip(skips.PRECONDITION, "the conformance session is not active")
    scenario = request.node.callspec.params.get("scenario") if hasattr(request.node, "callspec") else None
    if needs_outside_swarm_twin(state, getattr(scenario, "requires", ())):
        state = request.getfixturevalue("fake_outside_swarm")
    return EngineCall(state, api_version, request.node)


@pytest.fixture(scope="session")
def fake_outside_swarm(request: pytest.FixtureRequest) -> Iterator[SuiteState]:
    """The session on a twin of the embedded fake outside swarm mode (for the not-a-manager scenarios)."""
    state = get_state(request.config)
    assert state is not None and state.fake is not None
    twin = own_fake(state)
    yield twin
    twin.fake.stop()
