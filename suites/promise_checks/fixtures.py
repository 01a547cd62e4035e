"""Objects the promises share: made once per session (per xdist worker), with what the promises read back.

Promises reuse these rather than making their own objects, so the catalogue costs a few requests per
promise and version, not a container each.  Every object carries the run label and is removed at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugins.fixtures import ObjectRef, _quietly, _state, unique_name

PROMISE_LABEL = "com.docker-api-conformance.promise"
# What promise_container is made with; the catalogue reads these values back (suites/promises/container.yaml).
SUBJECT = {
    "env": ["DAC_PROMISE=subject"],
    "cmd": ["sh", "-c", "echo promised; sleep 600"],
    "working_dir": "/tmp",
    "hostname": "dac-promise",
    "domainname": "dac.invalid",
    "stop_signal": "SIGUSR1",
    "ports": [8080],
}


@pytest.fixture(scope="session")
def promise_container(request: pytest.FixtureRequest) -> Iterator[ObjectRef]:
    """A running container whose settings the round-trip promises read back (see SUBJECT)."""
    state = _state(request)
    sdk = state.sdk
    name = unique_name(state, "promise")
    host_config = sdk.create_host_config(restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
                                         dns=["10.0.0.53"], extra_hosts={"dac.invalid": "10.1.2.3"},
                                         cap_add=["NET_ADMIN"])
    # No CpuShares: a classic Swarm manager reads it as a number of CPUs to reserve (so 512 never schedules).
    created = sdk.create_container(
        state.image, command=SUBJECT["cmd"], name=name, labels={**state.label, PROMISE_LABEL: "subject"},
        environment=SUBJECT["env"] + state.placement.env(), working_dir=SUBJECT["working_dir"],
        hostname=SUBJECT["hostname"], domainname=SUBJECT["domainname"], stop_signal=SUBJECT["stop_signal"],
        ports=SUBJECT["ports"], host_config=host_config)
    ref = ObjectRef(created["Id"], name)
    try:
        sdk.start(ref)
        yield ref
    finally:
        _quietly(sdk.remove_container, ref, force=True, v=True)


@pytest.fixture(scope="session")
def promise_other_container(request: pytest.FixtureRequest) -> Iterator[ObjectRef]:
    """An exited container (code 3) that differs from promise_container in name, label value and state."""
    state = _state(request)
    sdk = state.sdk
    name = unique_name(state, "promise-other")
    created = sdk.create_container(state.image, command=["sh", "-c", "exit 3"], name=name,
                                   labels={**state.label, PROMISE_LABEL: "other"},
                                   environment=state.placement.env() or None)
    ref = ObjectRef(created["Id"], name)
    try:
        sdk.start(ref)
        sdk.wait(ref, timeout=30)
        yield ref
    finally:
        _quietly(sdk.remove_container, ref, force=True, v=True)
