"""Parametrization from data: (API version x scenario) for `scenario` tests, versions for the rest."""

from __future__ import annotations

import pytest

from conformance.scenarios import Scenario
from conformance.spec import SpecCatalog
from plugins.session import SuiteState, get_state


def scenario_params(state: SuiteState) -> list:
    """One param per (version, scenario) whose operation exists at that version; ids `1.41-ContainerList`."""
    params = []
    for version in state.selection.run:
        spec = state.catalog.get(version)
        for op_id in sorted(spec.operations):
            for scenario in state.scenarios.get(op_id, []):
                if scenario.applies_to(version):
                    params.append(pytest.param(version, scenario, id=f"{version}-{scenario.id}"))
    return params


def promise_params(state: SuiteState) -> list:
    """One param per (version, promise) where the promise applies; ids `1.41-container-wait-exit-code`."""
    return [pytest.param(version, p, id=f"{version}-{p.id}")
            for version in state.selection.run for p in state.promises if p.applies_to(version)]


def missing_scenarios(catalog: SpecCatalog, version: str, scenarios: dict[str, list[Scenario]],
                      ineligible: dict[str, str]) -> list[str]:
    """Operations of `version` with neither a scenario nor an ineligible entry."""
    spec = catalog.get(version)
    return sorted(op for op in spec.operations if not scenarios.get(op) and op not in ineligible)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state = get_state(metafunc.config)
    if state is None:
        return
    if "scenario" in metafunc.fixturenames:
        metafunc.parametrize(("api_version", "scenario"), scenario_params(state))
    elif "promise" in metafunc.fixturenames:
        metafunc.parametrize(("api_version", "promise"), promise_params(state))
    elif "api_version" in metafunc.fixturenames:
        metafunc.parametrize("api_version", list(state.selection.run))
