"""Every scenario of suites/scenarios/*.yaml, at every selected API version.

Test ids read `test_operation[<version>-<OperationId>[-<scenario>]]`; the scenario data says
what is sent, what must already exist (`needs`) and which statuses are expected.
"""

from __future__ import annotations

import pytest

from conformance.scenarios import Scenario, render, shape_for_version
from plugins.calls import EngineCall

# Capabilities a scenario may require, and how the session knows whether it has them.
REQUIREMENT_SKIPS = {
    "global-changes": lambda state: None if state.allow_global_changes else
    "changes the whole engine: run with --allow-global-changes",
}


def test_operation(engine: EngineCall, scenario: Scenario, request: pytest.FixtureRequest) -> None:
    for need in scenario.requires:
        check = REQUIREMENT_SKIPS.get(need)
        reason = check(engine.state) if check else f"requires {need}, which this session does not provide"
        if reason:
            pytest.skip(reason)
    context = {name: request.getfixturevalue(name) for name in ("image", "labels", "missing", "name", "clock")}
    context.update({name: request.getfixturevalue(name) for name in scenario.needs})
    op = engine.operation(scenario.operation)
    query, body = shape_for_version(engine.spec, op, render(scenario.query, context), render(scenario.body, context))
    data = scenario.raw_body.encode() if scenario.raw_body is not None else None
    headers = render(scenario.headers, context)
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    engine.call(
        scenario.operation, render(scenario.path, context), expect=scenario.expect, scenario=scenario.name,
        query=query, headers=headers, json_body=body, data=data, read_seconds=scenario.read_seconds,
    )
