"""Every scenario of suites/scenarios/*.yaml, at every selected API version.

Test ids read `test_operation[<version>-<OperationId>[-<scenario>]]`; the scenario data says
what is sent, what must already exist (`needs`), what the session must provide (`requires`)
and which statuses are expected.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks import CHECKS
from conformance.scenarios import Scenario, render, shape_for_version, tar_bytes
from plugins.calls import EngineCall
from plugins.safety import prune_refusal, skip_reason

# Placeholders every scenario may use, whatever its `needs`.
ALWAYS = ("image", "labels", "missing", "name", "clock", "run")
# A response to HEAD has no content (RFC 9110 9.3.2), errors included: body checks do not apply.
HEAD_CHECKS = tuple(name for name in CHECKS if name not in ("content_type", "body_schema", "error_body"))


def _body(scenario: Scenario, context: dict[str, Any],
          request: pytest.FixtureRequest) -> tuple[Any, bytes | None, str | None]:
    """(json body, raw bytes, content type) from the scenario's body fields."""
    if scenario.raw_body is not None:
        return None, scenario.raw_body.encode(), "application/json"
    if scenario.body_tar is not None:
        return None, tar_bytes(render(scenario.body_tar["files"], context)), "application/x-tar"
    if scenario.body_fixture is not None:
        return None, request.getfixturevalue(scenario.body_fixture), "application/x-tar"
    return render(scenario.body, context), None, None


def test_operation(engine: EngineCall, scenario: Scenario, request: pytest.FixtureRequest) -> None:
    reason = skip_reason(request.config, scenario.requires)
    if reason:
        pytest.skip(reason)
    context = {name: request.getfixturevalue(name) for name in (*ALWAYS, *scenario.needs)}
    op = engine.operation(scenario.operation)
    json_body, data, content_type = _body(scenario, context, request)
    query, json_body = shape_for_version(engine.spec, op, render(scenario.query, context), json_body)
    # After shaping: a filter the spec of this version does not declare is gone, and so must the request be.
    refusal = prune_refusal(scenario.operation, query, engine.state.run_id, engine.state.allow_global_changes)
    if refusal:
        pytest.fail(refusal, pytrace=False)
    headers = render(scenario.headers, context)
    if content_type:
        headers.setdefault("Content-Type", content_type)
    engine.call(
        scenario.operation, render(scenario.path, context), expect=scenario.expect, scenario=scenario.name,
        query=query, headers=headers, json_body=json_body, data=data, read_seconds=scenario.read_seconds,
        checks=HEAD_CHECKS if op.method == "HEAD" else None,
    )
