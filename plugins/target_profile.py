"""Operations the target's kind has no route for, from data: the `unsupported:` list of
schemas/deviations/<kind>.yaml (e.g. swarm mode, plugins and prune on a classic Swarm manager).

A scenario of such an operation is skipped as "[unsupported by target] <reason>" before any of
its fixtures run, so the run shows the gap as a skip rather than as 404 failures.  The classic
Swarm suite checks that those routes really answer 404 (suites/test_swarm_classic.py).
"""

from __future__ import annotations

import pytest

from conformance import skips
from conformance.expectations import kind_profile, profile_label
from conformance.swarm_classic import requires_kind, unsupported_reason
from plugins.session import get_state


def item_operations(item: pytest.Item) -> tuple[str, ...]:
    """The operations a collected test exercises, when its parameters say so (scenario and promise tests)."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec else {}
    scenario, promise = params.get("scenario"), params.get("promise")
    if promise is not None:
        return tuple(promise.operations)
    return (scenario.operation,) if getattr(scenario, "operation", None) else ()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = get_state(item.config)
    if state is not None:
        other_kind = kind_suite_reason(item, state.target.kind)
        if other_kind:
            skips.skip(skips.PRECONDITION, other_kind)
    if state is None:
        return
    for operation in item_operations(item):
        reason = unsupported_by_target(operation, state.target.kind)
        if reason:
            skips.skip(skips.UNSUPPORTED, reason)


def unsupported_by_target(operation: str, kind: str) -> str | None:
    """The skip reason (category: unsupported by target) when the kind's profile lists `operation` as a
    route the target lacks."""
    reason = unsupported_reason(operation, kind_profile(kind))
    return f"{operation}: {reason} ({profile_label(kind)})" if reason else None


def kind_suite_reason(item: pytest.Item, kind: str) -> str | None:
    """Why a kind's own deviation suite does not apply: a profile names the item's module in `suite:`
    (schemas/deviations/<kind>.yaml) and the target is of another kind."""
    module = item.nodeid.split("::", 1)[0]
    owner = requires_kind(module)
    if owner is None or owner == kind:
        return None
    return (f"{module} checks the deviations of target kind {owner} ({profile_label(owner)}: suite); the target "
            f"is of kind {kind} (detected from /version, or --target-kind)")
