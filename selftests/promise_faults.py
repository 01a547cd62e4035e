"""Self-test plugin (`-p selftests.promise_faults`): against the embedded fake, each promise test runs with the
fault that breaks that promise (conformance/fake/faults.py `fault_for`), switched on for that test only.

With `--break-promises` every promise test must then fail, on its own promise and on nothing else; without
it the plugin only makes the fake a swarm manager, so the same tests show the fault-free verdicts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.fake.faults import fault_for
from plugins.session import get_state


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--break-promises", action="store_true",
                     help="self-test: run each promise test with the fake's fault that breaks it")


@pytest.fixture(scope="session", autouse=True)
def fake_swarm_manager(request: pytest.FixtureRequest) -> None:
    state = get_state(request.config)
    if state is None or state.fake is None:
        raise pytest.UsageError("selftests.promise_faults needs --target fake")
    if state.sdk.info()["Swarm"].get("LocalNodeState") != "active":
        state.sdk.init_swarm(advertise_addr="127.0.0.1")


@pytest.fixture(autouse=True)
def broken_promise(request: pytest.FixtureRequest) -> Iterator[None]:
    promise = request.node.callspec.params.get("promise") if hasattr(request.node, "callspec") else None
    state = get_state(request.config)
    if promise is None or not request.config.getoption("--break-promises"):
        yield
        return
    for need in promise.params.get("needs", ()):  # the shared objects are made before the fault is on
        request.getfixturevalue(need)
    fault = fault_for(promise.id)
    state.fake.faults.add(fault)
    try:
        yield
    finally:
        state.fake.faults.discard(fault)  # faults given with --fake-fault stay on
