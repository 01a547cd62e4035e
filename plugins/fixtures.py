"""Preconditions: objects a scenario needs, made with the docker SDK, labelled and named per run.

Every object carries the run label (com.docker-api-conformance.run=<id>) and a name unique to
the run and the xdist worker; each fixture removes its object, and the session sweeps by label.
Scenario files name these fixtures in `needs:` and use them as "{fixture}" placeholders.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
import pytest

from plugins.session import SuiteState, get_state

_counter = itertools.count(1)
KEEP_ALIVE = ["sleep", "600"]
NOT_FOUND = (docker.errors.NotFound,)


def _state(request: pytest.FixtureRequest) -> SuiteState:
    state = get_state(request.config)
    if state is None:
        pytest.skip("the conformance session is not active")
    return state


class ObjectRef(str):
    """An object's id that also knows its name: "{container}" is the id, "{container.name}" the name."""

    name: str

    def __new__(cls, ident: str, name: str) -> ObjectRef:
        ref = super().__new__(cls, ident)
        ref.name = name
        return ref


def unique_name(state: SuiteState, kind: str) -> str:
    return f"dac-{state.run_id}-{state.worker}-{kind}-{next(_counter)}"


def _quietly(action: Any, *args: Any, **kwargs: Any) -> None:
    try:
        action(*args, **kwargs)
    except docker.errors.APIError:
        pass  # already gone, or the engine refuses: the session sweep tries again


@pytest.fixture(scope="session")
def sdk(request: pytest.FixtureRequest) -> docker.APIClient:
    """The docker SDK's low-level client, for preconditions (at the target's own API version)."""
    return _state(request).sdk


@pytest.fixture(scope="session")
def labels(request: pytest.FixtureRequest) -> dict[str, str]:
    return dict(_state(request).label)


@pytest.fixture(scope="session")
def image(request: pytest.FixtureRequest) -> str:
    return _state(request).image


@pytest.fixture(scope="session")
def image_id(sdk: docker.APIClient, image: str) -> str:
    return sdk.inspect_image(image)["Id"]


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A fresh name for an object the scenario itself creates (its teardown is the label sweep)."""
    return unique_name(_state(request), "new")


@pytest.fixture
def missing(request: pytest.FixtureRequest) -> str:
    """A name or id that no object has."""
    return unique_name(_state(request), "missing")


@pytest.fixture
def clock() -> dict[str, int]:
    now = int(time.time())
    return {"now": now, "past": now - 60, "soon": now + 1}


def _make_container(request: pytest.FixtureRequest, command: list[str], start: bool = False,
                    wait: bool = False, **options: Any) -> Iterator[ObjectRef]:
    state = _state(request)
    sdk = state.sdk
    name = unique_name(state, "ctr")
    created = sdk.create_container(state.image, command=command, labels=state.label, name=name, **options)
    cid = ObjectRef(created["Id"], name)
    try:
        if start:
            sdk.start(cid)
        if wait:
            sdk.wait(cid, timeout=30)
        yield cid
    finally:
        _quietly(sdk.remove_container, cid, force=True, v=True)


@pytest.fixture
def container(request: pytest.FixtureRequest) -> Iterator[str]:
    """Created, never started."""
    yield from _make_container(request, ["sh", "-c", "echo out; echo err >&2"])


@pytest.fixture
def running_container(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _make_container(request, KEEP_ALIVE, start=True)


@pytest.fixture
def exited_container(request: pytest.FixtureRequest) -> Iterator[str]:
    """Ran `echo out; echo err >&2; exit 3` to its end."""
    yield from _make_container(request, ["sh", "-c", "echo out; echo err >&2; exit 3"], start=True, wait=True)


@pytest.fixture
def network(request: pytest.FixtureRequest) -> Iterator[str]:
    state = _state(request)
    name = unique_name(state, "net")
    created = state.sdk.create_network(name, driver="bridge", labels=state.label)
    try:
        yield ObjectRef(created["Id"], name)
    finally:
        _quietly(state.sdk.remove_network, created["Id"])


@pytest.fixture
def volume(request: pytest.FixtureRequest) -> Iterator[str]:
    state = _state(request)
    created = state.sdk.create_volume(unique_name(state, "vol"), labels=state.label)
    try:
        yield created["Name"]
    finally:
        _quietly(state.sdk.remove_volume, created["Name"], force=True)


@pytest.fixture
def exec_instance(request: pytest.FixtureRequest, running_container: str) -> str:
    return _state(request).sdk.exec_create(running_container, ["echo", "exec-out"])["Id"]


def sweep(state: SuiteState) -> dict[str, int]:
    """Remove every object carrying this run's label; returns counts by kind."""
    sdk = state.sdk
    flt = {"label": f"{next(iter(state.label))}={state.run_id}"}
    removed = {"containers": 0, "networks": 0, "volumes": 0}
    try:
        for c in sdk.containers(all=True, filters=flt):
            _quietly(sdk.remove_container, c["Id"], force=True, v=True)
            removed["containers"] += 1
        for n in sdk.networks(filters=flt):
            _quietly(sdk.remove_network, n["Id"])
            removed["networks"] += 1
        for v in (sdk.volumes(filters=flt) or {}).get("Volumes") or []:
            _quietly(sdk.remove_volume, v["Name"], force=True)
            removed["volumes"] += 1
    except (docker.errors.APIError, OSError):
        pass  # the target went away: nothing more to do here
    return removed


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # Runs after failures and after Ctrl-C as well; each worker sweeps what its run created.
    state = get_state(session.config)
    if state is not None:
        sweep(state)
