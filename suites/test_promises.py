"""Every promise of the catalogue (suites/promises/*.yaml) at every selected API version where it applies.

Test ids read `test_promise[<version>-<promise id>]`.  The promise's checker (suites/promise_checks)
judges what the answers say; its findings are recorded under the check `promise:<id>`, in the cell of
the promise's first operation, so an erratum or a deviation can excuse them like any other finding.
"""

from __future__ import annotations

import pytest

from conformance import skips
from conformance.promises import Promise
from plugins.calls import EngineCall
from plugins.safety import skip_reason
from suites.promise_checks import CHECKERS
from suites.promise_checks.runtime import PromiseBroken, PromiseRun


def test_promise(engine: EngineCall, promise: Promise, request: pytest.FixtureRequest) -> None:
    missing = skip_reason(request.config, promise.requires)
    if missing:
        skips.skip(*missing)
    for op_id in promise.operations:
        engine.operation(op_id)  # a typed skip when the version lacks one
    run = PromiseRun(engine, promise, request)
    try:
        CHECKERS[promise.test](run)
    except PromiseBroken as exc:
        run.broken(str(exc))
    engine.record(promise.operation, promise.check, run.last, {promise.check: run.problems}, promise=promise.id)
