"""The suite catches every fault of the fake's catalogue, on the operation the fault affects and by the check
the catalogue names for it.

Runs the suite once without faults and once per fault (about a minute in all), so the verdicts
come from the real plugin, checks and reports, not from a model of them.
"""

from __future__ import annotations

import pytest

from conformance.fake.faults import FAULTS
from conformance.mutation import SUITE_FAULTS, FaultResult, score


@pytest.fixture(scope="module")
def mutation() -> tuple[dict[str, FaultResult], dict[str, int]]:
    results, baseline = score("1.56")
    return {r.fault: r for r in results}, dict(baseline)


def test_fault_free_run_has_no_failures(mutation) -> None:
    _, baseline = mutation
    assert baseline.get("fail", 0) == 0 and baseline.get("error", 0) == 0, baseline


@pytest.mark.parametrize("fault", SUITE_FAULTS)
def test_fault_is_caught_on_its_operation_and_nothing_else(mutation, fault: str) -> None:
    result = mutation[0][fault]
    assert result.caught, (f"{fault} ({FAULTS[fault].description}) was not caught by {FAULTS[fault].catches}; "
                           f"failing checks: {sorted(set(result.other_checks))}")
    assert result.exit_status == 1, "a caught fault must fail the pytest run"
    if FAULTS[fault].where != "*":
        assert result.contained, f"{fault} also failed unrelated operations: {result.outside}"


def test_mutation_score_is_printed(mutation, capsys) -> None:
    results = mutation[0]
    caught = sum(r.caught for r in results.values())
    with capsys.disabled():
        print(f"\nmutation score: {caught}/{len(results)} catalogued faults caught")
    assert caught == len(results)
