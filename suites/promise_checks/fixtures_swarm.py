"""Shared objects of the swarm promises (a pytest plugin listed in the top-level conftest.py).

One service (with its running task), one secret and one config per session (per xdist worker), made with
the docker SDK, labelled with the run label and removed at the end; and what /info says of this node, the
value the node, task and swarm promises compare their answers with.  Each is a dict the catalogue reads as
"{promise_service.id}", "{promise_swarm_node.hostname}" ...
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from plugins.fixtures import KEEP_ALIVE, _quietly, _requires, _state, unique_name
from suites.promise_checks.fixtures import PROMISE_LABEL

# What promise_service is made with; suites/promises/service.yaml and task.yaml read these values back.
SERVICE_ENV = ["DAC_PROMISE=service"]
SECRET_DATA = b"dac-promise-secret\n"
CONFIG_DATA = b"dac-promise-config\n"
TASK_WAIT = 20.0  # seconds a task of a one-replica busybox service may take to reach `running`


@pytest.fixture(scope="session")
def promise_swarm_node(request: pytest.FixtureRequest) -> dict[str, Any]:
    """This node as /info describes it: {id, hostname, engine, os, arch, cluster}."""
    _requires(request, "swarm-manager")
    info = _state(request).sdk.info()
    swarm = info.get("Swarm") or {}
    return {"id": swarm.get("NodeID", ""), "hostname": info.get("Name", ""), "engine": info.get("ServerVersion", ""),
            "os": info.get("OSType", ""), "arch": info.get("Architecture", ""),
            "cluster": (swarm.get("Cluster") or {}).get("ID", "")}


@pytest.fixture(scope="session")
def promise_service(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A replicated service of one task running `sleep 600` in the test image: {id, name, image, command}."""
    _requires(request, "swarm-manager")
    state = _state(request)
    sdk = state.sdk
    name = unique_name(state, "psvc")
    spec = docker.types.ContainerSpec(state.image, command=KEEP_ALIVE, env=SERVICE_ENV, labels=state.label,
                                      stop_grace_period=1_000_000_000)  # a quick stop when it is removed
    task = docker.types.TaskTemplate(spec, restart_policy=docker.types.RestartPolicy(condition="none"))
    created = sdk.create_service(task, name=name, labels={**state.label, PROMISE_LABEL: "subject"},
                                 mode=docker.types.ServiceMode("replicated", replicas=1))
    try:
        yield {"id": created["ID"], "name": name, "image": state.image, "command": list(KEEP_ALIVE)}
    finally:
        _quietly(sdk.remove_service, created["ID"])


@pytest.fixture(scope="session")
def promise_task(request: pytest.FixtureRequest, promise_service: dict[str, Any]) -> dict[str, Any]:
    """promise_service's task, once it runs (waits up to TASK_WAIT s; a task that never runs is returned as it is,
    for the promises to judge): {id, service, state}."""
    sdk = _state(request).sdk
    deadline = time.monotonic() + TASK_WAIT
    tasks: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        tasks = sdk.tasks(filters={"service": promise_service["id"]})
        running = [t for t in tasks if (t.get("Status") or {}).get("State") == "running"]
        if running:
            tasks = running
            break
        time.sleep(0.1)
    if not tasks:
        pytest.fail(f"precondition: service {promise_service['name']} has no task after {TASK_WAIT:.0f} s")
    return {"id": tasks[0]["ID"], "service": promise_service["id"],
            "state": (tasks[0].get("Status") or {}).get("State", "")}


def _data_object(request: pytest.FixtureRequest, kind: str, data: bytes) -> Iterator[dict[str, Any]]:
    """A labelled secret or config: {id, name, prefix (its name but the last character), data (base64, as the API
    carries it)}."""
    _requires(request, "swarm-manager")
    state = _state(request)
    create, remove = getattr(state.sdk, f"create_{kind}"), getattr(state.sdk, f"remove_{kind}")
    name = unique_name(state, f"p{kind}")
    created = create(name, data, labels={**state.label, PROMISE_LABEL: "subject"})
    try:
        yield {"id": created["ID"], "name": name, "prefix": name[:-1], "data": base64.b64encode(data).decode()}
    finally:
        _quietly(remove, created["ID"])


@pytest.fixture(scope="session")
def promise_secret(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    yield from _data_object(request, "secret", SECRET_DATA)


@pytest.fixture(scope="session")
def promise_config(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    yield from _data_object(request, "config", CONFIG_DATA)
