"""Fixtures of the stream and versioning suites: raw wire access and containers with stdin or a TTY."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import docker.errors
import pytest

from conformance import skips
from conformance.exchange import expand_path
from conformance.scenarios import tar_bytes
from conformance.spec import Operation, Spec
from conformance.wire import Conn, Limits, open_conn
from plugins.calls import EngineCall
from plugins.fixtures import _make_container, _quietly, _state, unique_name
from plugins.session import SuiteState

# Echoes each stdin line to stdout and stderr with a prefix, so one write proves both directions.
ECHO_LOOP = ["sh", "-c", 'while read l; do echo "o:$l"; echo "e:$l" >&2; done']
EVENTS_LABEL = "com.docker-api-conformance.events"


def op_at(spec: Spec, method: str, path: str) -> Operation | None:
    """The operation of `spec` at (method, path): ids changed between versions, the route did not."""
    return next((op for op in spec.operations.values() if op.method == method and op.path == path), None)


def versioned(engine: EngineCall, op: Operation, path_params: dict[str, Any], query: str = "") -> str:
    return f"/v{engine.version}{expand_path(op.path, path_params)}{query}"


@pytest.fixture
def limits(request: pytest.FixtureRequest) -> Limits:
    """Byte and time limits of one stream read (the session's --request-timeout, capped for speed)."""
    return Limits(max_bytes=4 * 1024 * 1024, seconds=min(_state(request).config.timeout, 20.0))


@pytest.fixture
def wire(request: pytest.FixtureRequest) -> Iterator[Callable[[], Conn]]:
    """Opens raw connections to the target (closed at teardown)."""
    state = _state(request)
    opened: list[Conn] = []

    def open_one() -> Conn:
        conn = open_conn(state.config, state.url, timeout=min(state.config.timeout, 10.0))
        opened.append(conn)
        return conn

    yield open_one
    for conn in opened:
        conn.close()


@pytest.fixture
def echo_container(request: pytest.FixtureRequest) -> Iterator[str]:
    """Running ECHO_LOOP with an open stdin, no TTY."""
    yield from _make_container(request, ECHO_LOOP, start=True, stdin_open=True)


@pytest.fixture
def tty_echo_container(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _make_container(request, ECHO_LOOP, start=True, stdin_open=True, tty=True)


@pytest.fixture
def tty_exited_container(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _make_container(request, ["sh", "-c", "echo out; echo err >&2"], start=True, wait=True, tty=True)


@pytest.fixture
def lines_container(request: pytest.FixtureRequest) -> Iterator[str]:
    """Printed line1..line5 and exited."""
    yield from _make_container(request, ["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done"],
                               start=True, wait=True)


@pytest.fixture
def slow_container(request: pytest.FixtureRequest) -> Iterator[str]:
    """Prints `a`, then `b` a moment later, then exits: for following logs to their end."""
    yield from _make_container(request, ["sh", "-c", "echo a; sleep 0.1; echo b"], start=True)


@pytest.fixture(scope="session")
def imported_image(request: pytest.FixtureRequest) -> Iterator[str]:
    """A one-file image of this run (so image save/load never touch images others use)."""
    state = _state(request)
    repo = unique_name(state, "img")
    body = tar_bytes({"dac.txt": b"docker-api-conformance\n"})
    resp = state.sdk.post(state.sdk._url("/images/create"), params={"fromSrc": "-", "repo": repo, "tag": "t"},
                          data=body, headers={"Content-Type": "application/x-tar"})
    state.sdk._raise_for_status(resp)
    ref = f"{repo}:t"
    try:
        yield ref
    finally:
        _quietly(state.sdk.remove_image, ref, force=True)


@pytest.fixture
def image_cleanup(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Image references a test created; removed at teardown."""
    refs: list[str] = []
    yield refs
    sdk = _state(request).sdk
    for ref in refs:
        try:
            sdk.remove_image(ref, force=True)
        except docker.errors.APIError:
            pass


@pytest.fixture(scope="session")
def container_lifecycle(request: pytest.FixtureRequest) -> dict[str, Any]:
    """create/start/die/destroy of one labelled container, with a time window around it."""
    state: SuiteState = _state(request)
    sdk = state.sdk
    marker = unique_name(state, "events")
    since = time.time() - 1
    created = sdk.create_container(state.image, command=["true"], name=marker,
                                   labels={**state.label, EVENTS_LABEL: marker},
                                   environment=state.placement.env() or None)
    cid = created["Id"]
    try:
        sdk.start(cid)
        sdk.wait(cid, timeout=30)
    finally:
        _quietly(sdk.remove_container, cid, force=True)
    return {"id": cid, "name": marker, "label": f"{EVENTS_LABEL}={marker}", "since": since,
            "until": time.time() + 0.05}  # a hair past the destroy event: the window is sent rounded


@pytest.fixture
def target_engine(request: pytest.FixtureRequest) -> EngineCall:
    """An EngineCall at the highest selected version, for checks about the target rather than a version."""
    state = _state(request)
    if not state.selection.run:
        skips.skip(skips.PRECONDITION, "no API version of the target is selected")
    return EngineCall(state, state.selection.run[-1], request.node)
