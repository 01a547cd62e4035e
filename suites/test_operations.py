"""Every scenario of suites/scenarios/*.yaml, at every selected API version.

Test ids read `test_operation[<version>-<OperationId>[-<scenario>]]`; the scenario data says
what is sent, what must already exist (`needs`), what the session must provide (`requires`)
and which statuses are expected.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from conformance import skips
from conformance.checks import stream_error
from conformance.exchange import Exchange
from conformance.scenarios import Scenario, render, shape_for_version, tar_bytes
from conformance.spec import Operation
from conformance.streams import SCENARIO_CHECKS
from plugins.calls import EngineCall
from plugins.safety import skip_reason

# Placeholders every scenario may use, whatever its `needs`.
ALWAYS = ("image", "labels", "missing", "name", "clock", "run")


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
    missing = skip_reason(request.config, scenario.requires)
    if missing:
        skips.skip(*missing)
    # Preconditions first, so that `clock` is read after the objects (and their events) exist.
    context = {name: request.getfixturevalue(name) for name in (*scenario.needs, *ALWAYS)}
    op = engine.operation(scenario.operation)
    json_body, data, content_type = _body(scenario, context, request)
    query, json_body = shape_for_version(engine.spec, op, render(scenario.query, context), json_body)
    # EngineCall.send refuses a prune whose label filter did not survive shaping for this version.
    headers = render(scenario.headers, context)
    if content_type:
        headers.setdefault("Content-Type", content_type)
    path = render(scenario.path, context)
    kwargs = {"query": query, "headers": headers, "json_body": json_body, "data": data,
              "read_seconds": scenario.read_seconds}
    op, ex = send(engine, scenario, path, kwargs)
    # A scenario that expects success must get it; one that expects an error status judges the status alone.
    succeeds = all(200 <= status < 300 for status in scenario.expect)
    extra = {name: SCENARIO_CHECKS[name](ex) for name in scenario.checks} if succeeds else {}
    engine.check(op, scenario.name, ex, scenario.expect, stream_error=stream_error(engine.spec, op, ex) if succeeds
                 else [], **extra)


def send(engine: EngineCall, scenario: Scenario, path: dict[str, Any],
         kwargs: dict[str, Any]) -> tuple[Operation, Exchange]:
    """Send the scenario's request; again, as its `retry` says, while the answer is a transient state
    (e.g. the Engine's engine-wide 409 "a prune operation is already running" while another run prunes)."""
    retry = scenario.retry
    attempt = 1
    op, ex = engine.send(scenario.operation, path, **kwargs)
    while retry is not None and attempt < retry.attempts and retry.wanted(ex.status, ex.body):
        time.sleep(retry.wait)
        attempt += 1
        op, ex = engine.send(scenario.operation, path, **kwargs)
    return op, ex
