"""No request after a hijack on the same connection: the SDK/requests path and the raw wire path.

A classic Swarm manager proxies a plain exec start and then hijacks the connection as well, so that
TCP connection is from then on a raw tunnel to the node's engine (shared/specs/swarm-classic/SOURCE.md,
tag v1.2.9).  The embedded proxy does the same, so these tests can show the hazard with a client that
pools every connection (the old behaviour: later requests reach the node, not the manager) and show that
the suite's clients open a new connection after every hijacked or upgraded exchange.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from conformance.exchange import EngineClient, guard_hijacks, hijacks
from conformance.fake.engine import Engine
from conformance.fake.server import FakeServer
from conformance.fake.swarm_classic import SwarmClassicManager
from conformance.fake.wire import Request, Response
from conformance.target import TargetConfig, open_client
from conformance.wire import Limits, WireError, open_conn, request

VERSION = "1.40"
QUICK = Limits(max_bytes=1 << 20, seconds=5.0)


class Counting:
    """Wraps a handler and notes, per request, which client connection carried it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self._alive: list[Any] = []  # the connections seen stay referenced: a closed one's id() is never reused

    def handle(self, req: Request) -> Response:
        with self.lock:
            self.seen.append((f"{req.method} {req.path}", id(req.conn)))
            self._alive.append(req.conn)
        return self.inner.handle(req)

    def close(self) -> None:
        self.inner.close()

    def conn_of(self, fragment: str) -> int:
        """The connection of the last request whose "METHOD path" contains `fragment`."""
        return next(conn for line, conn in reversed(self.seen) if fragment in line)


# Over TCP, as the issue saw it: requests pools connections per host there (the SDK's unix adapter keeps a
# pool per URL, which hides the hazard for most requests).
def _serve(target: Any) -> Iterator[tuple[str, Counting]]:
    counting = Counting(target)
    server = FakeServer("tcp://127.0.0.1:0", counting)
    server.start()
    try:
        yield server.url, counting
    finally:
        server.stop()


@pytest.fixture
def manager() -> Iterator[tuple[str, Counting]]:
    yield from _serve(SwarmClassicManager())


@pytest.fixture
def engine() -> Iterator[tuple[str, Counting]]:
    yield from _serve(Engine("1.25", VERSION))


def _running_container(api: docker.APIClient) -> str:
    cid = api.create_container("busybox", command=["sleep", "600"])["Id"]
    api.start(cid)
    return cid


def _plain_exec_start(api: docker.APIClient, cid: str) -> int:
    """A detached exec start without Upgrade headers, through the session (its connection pool)."""
    exec_id = api.exec_create(cid, ["true"])["Id"]
    resp = api.post(api._url("/exec/{0}/start", exec_id), json={"Detach": True, "Tty": False})
    resp.content  # noqa: B018 - read to the end, as the SDK does
    return resp.status_code


def test_a_pooling_client_after_a_tunnelled_exec_start_talks_to_the_node(manager: tuple[str, Counting]) -> None:
    """The bug, with the old client behaviour: the pooled connection now reaches the node's engine."""
    url, _ = manager
    api = docker.APIClient(base_url=url, version=VERSION)  # no guard: pools every connection
    cid = _running_container(api)
    assert api.version()["Version"] == "swarm/1.2.9"
    assert _plain_exec_start(api, cid) == 200
    assert not api.version()["Version"].startswith("swarm/")  # the node's engine answered


def test_the_suite_clients_open_a_new_connection_after_a_hijack(manager: tuple[str, Counting]) -> None:
    url, counting = manager
    api = open_client(TargetConfig(url), url, VERSION)  # the suite's SDK client (guarded)
    cid = _running_container(api)
    api.version()
    api.version()
    assert len({conn for line, conn in counting.seen if line.endswith("/version")}) == 1  # pooled as usual
    # The SDK path: a plain exec start through the session.
    assert _plain_exec_start(api, cid) == 200
    assert api.version()["Version"] == "swarm/1.2.9"
    assert counting.conn_of("/version") != counting.conn_of("/start")
    # The SDK's own exec_start (detached, no Upgrade header) and the checked-request path.
    api.exec_start(api.exec_create(cid, ["true"])["Id"], detach=True)
    assert api.version()["Version"] == "swarm/1.2.9"
    client = EngineClient(docker.APIClient(base_url=url, version=VERSION))
    exec_id = api.exec_create(cid, ["true"])["Id"]
    ex = client.request("ExecStart", VERSION, "POST", f"/exec/{exec_id}/start", json_body={"Detach": False})
    assert ex.status == 200 and ex.request_headers.get("Connection") == "close"
    after = client.request("SystemVersion", VERSION, "GET", "/version")
    assert after.json()["Version"] == "swarm/1.2.9"
    assert counting.conn_of("/version") != counting.conn_of(f"/exec/{exec_id}/start")


@pytest.mark.parametrize("upgrade", [False, True], ids=["plain", "upgrade"])
def test_attach_gets_a_connection_of_its_own(engine: tuple[str, Counting], upgrade: bool) -> None:
    url, counting = engine
    client = EngineClient(docker.APIClient(base_url=url, version=VERSION))
    api = client.api
    cid = api.create_container("busybox", command=["sh", "-c", "echo hi"])["Id"]
    api.start(cid)
    client.request("SystemPing", VERSION, "GET", "/_ping")
    headers = {"Connection": "Upgrade", "Upgrade": "tcp"} if upgrade else None
    ex = client.request("ContainerAttach", VERSION, "POST", f"/containers/{cid}/attach",
                        query={"stream": 1, "stdout": 1, "logs": 1}, headers=headers, read_seconds=3)
    assert ex.status == (101 if upgrade else 200)
    client.request("SystemPing", VERSION, "GET", "/_ping")
    assert counting.conn_of("/_ping") != counting.conn_of("/attach")


def test_guard_is_installed_once() -> None:
    api = docker.APIClient(base_url="unix:///nonexistent.sock", version=VERSION)
    guard_hijacks(api)
    guard_hijacks(api)
    assert sum(1 for hook in api.hooks["response"] if getattr(hook, "__name__", "") == "_on_response") == 1


@pytest.mark.parametrize(("method", "path", "kwargs", "expected"), [
    ("POST", "http+docker://localhost/v1.40/exec/abc/start", {}, True),
    ("POST", "/containers/x/attach?stream=1", {}, True),
    ("GET", "/v1.41/containers/x/attach/ws", {}, True),
    ("POST", "/v1.41/session", {}, True),
    ("GET", "/v1.41/containers/x/json", {"status": 101}, True),
    ("GET", "/v1.41/x", {"response_headers": {"Content-Type": "application/vnd.docker.multiplexed-stream"}}, True),
    ("POST", "/v1.41/volumes/create", {}, False),
    ("GET", "/v1.41/version", {"request_headers": {"Accept": "application/json"}}, False),
])
def test_what_counts_as_a_hijack(method: str, path: str, kwargs: dict[str, Any], expected: bool) -> None:
    assert hijacks(method, path, **kwargs) is expected


def _serve_once(listener: socket.socket, reply: bytes) -> None:
    peer, _ = listener.accept()
    with peer:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = peer.recv(4096)
            if not chunk:
                return
            data += chunk
        peer.sendall(reply)
        peer.recv(4096)  # whatever comes next on this connection would be a tunnel's


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n",  # a detached exec start
], ids=["upgraded", "plain-exec-start"])
def test_wire_refuses_a_second_request_on_a_hijacked_connection(tmp_path: Path, reply: bytes) -> None:
    path = str(tmp_path / "raw.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    thread = threading.Thread(target=_serve_once, args=(listener, reply), daemon=True)
    thread.start()
    try:
        with open_conn(TargetConfig(f"unix://{path}"), f"unix://{path}") as conn:
            raw = request(conn, "ExecStart", "1.41", "POST", "/v1.41/exec/abc/start", body=b"{}",
                          headers={"Connection": "Upgrade", "Upgrade": "tcp"} if b"101" in reply else None,
                          limits=QUICK, read_body_too=b"101" not in reply)
            assert raw.head is not None and conn.handed_over.startswith("POST /v1.41/exec/abc/start")
            with pytest.raises(WireError, match="never reused"):
                request(conn, "SystemVersion", "1.41", "GET", "/v1.41/version", limits=QUICK)
    finally:
        listener.close()
        thread.join(timeout=2)
