"""The raw wire client against tiny local servers that hang, flood, or send corrupt frames.

Every read must stop within its limit with a message saying why; no test here may hang.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from websocket import ABNF
from websocket._abnf import frame_buffer

from conformance import streams as st
from conformance.target import TargetConfig
from conformance.wire import (
    Limits,
    WireError,
    open_conn,
    read_chunked,
    request,
    ws_accept,
    ws_encode,
    ws_read_frame,
)

Handler = Callable[[socket.socket], None]
QUICK = Limits(max_bytes=64 * 1024, seconds=0.6)


def _serve(listener: socket.socket, handler: Handler, stop: threading.Event) -> None:
    listener.settimeout(0.05)
    while not stop.is_set():
        try:
            peer, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        with peer:
            try:
                handler(peer)
            except OSError:
                pass


def _read_request(peer: socket.socket) -> bytes:
    data = b""
    peer.settimeout(2)
    while b"\r\n\r\n" not in data:
        chunk = peer.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Callable[[Handler, str], str]]:
    """Starts a one-handler server on 127.0.0.1 ("tcp") or a unix socket in tmp ("unix"); returns its URL."""
    stops: list[tuple[threading.Event, socket.socket, threading.Thread]] = []

    def start(handler: Handler, family: str = "tcp") -> str:
        if family == "unix":
            path = str(tmp_path / f"s{len(stops)}.sock")
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            url = f"unix://{path}"
        else:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            url = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        listener.listen(4)
        stop = threading.Event()
        thread = threading.Thread(target=_serve, args=(listener, handler, stop), daemon=True)
        thread.start()
        stops.append((stop, listener, thread))
        return url

    yield start
    for stop, listener, thread in stops:
        stop.set()
        listener.close()
        thread.join(timeout=3)


def connect(url: str):
    return open_conn(TargetConfig(url), url, timeout=2)


def until_client_closes(peer: socket.socket) -> None:
    peer.settimeout(5)
    while peer.recv(4096):
        pass


def hang(peer: socket.socket) -> None:
    _read_request(peer)
    until_client_closes(peer)


def head_then_hang(peer: socket.socket) -> None:
    _read_request(peer)
    peer.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
    until_client_closes(peer)


def drip(peer: socket.socket) -> None:
    _read_request(peer)
    peer.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    for _ in range(40):
        peer.sendall(b".")
        time.sleep(0.05)


def flood(peer: socket.socket) -> None:
    _read_request(peer)
    peer.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    for _ in range(100):
        peer.sendall(b"x" * 65536)


def corrupt_frames_after_101(peer: socket.socket) -> None:
    _read_request(peer)
    peer.sendall(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                 b"Content-Type: application/vnd.docker.raw-stream\r\n\r\n")
    peer.sendall(bytes([1, 0, 0, 0, 0, 0, 0, 3]) + b"ok\n" + bytes([7, 0, 0, 0, 0, 0, 0, 2]) + b"xx")
    until_client_closes(peer)


def no_upgrade(peer: socket.socket) -> None:
    _read_request(peer)
    peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n")
    until_client_closes(peer)


@pytest.mark.parametrize("family", ["tcp", "unix"])
def test_hanging_server_times_out(server, family: str) -> None:
    url = server(hang, family)
    start = time.monotonic()
    with connect(url) as conn:
        raw = request(conn, "SystemPing", "1.41", "GET", "/v1.41/_ping", limits=QUICK)
    assert raw.head is None and raw.body.stop == "timeout"
    assert time.monotonic() - start < 2.5
    assert "no end within" in raw.body.describe("response head")
    assert raw.exchange.timed_out


def test_endless_chunked_body_times_out(server) -> None:
    with connect(server(head_then_hang)) as conn:
        raw = request(conn, "ContainerLogs", "1.41", "GET", "/v1.41/containers/x/logs?follow=1", limits=QUICK)
    assert raw.head.status == 200 and raw.body.stop == "timeout" and raw.body.data == b"hello"


def test_dripping_server_is_cut_at_the_deadline(server) -> None:
    start = time.monotonic()
    with connect(server(drip)) as conn:
        raw = request(conn, "ContainerLogs", "1.41", "GET", "/x", limits=QUICK)
    assert raw.body.stop == "timeout" and 0 < len(raw.body.data) < 40
    assert time.monotonic() - start < 2.0


def test_flood_is_cut_at_the_byte_limit(server) -> None:
    with connect(server(flood)) as conn:
        raw = request(conn, "ContainerExport", "1.41", "GET", "/x", limits=Limits(100_000, 5))
    assert raw.body.stop == "limit" and len(raw.body.data) == 100_000
    assert "byte limit reached" in raw.body.describe("export")


def test_corrupt_frames_after_101(server) -> None:
    with connect(server(corrupt_frames_after_101)) as conn:
        raw = request(conn, "ContainerAttach", "1.41", "POST", "/x", headers={"Connection": "Upgrade",
                                                                          "Upgrade": "tcp"},
                      limits=QUICK, read_body_too=False)
        assert st.upgrade_101(raw.head.status, raw.exchange.headers, "tcp") == []
        result = conn.read_until(None, QUICK)
    problems = st.mux_frames(result.data)
    assert problems and "bad stream byte 7 at byte 11" in problems[0].message


def test_missing_101_is_named(server) -> None:
    with connect(server(no_upgrade)) as conn:
        raw = request(conn, "ContainerAttach", "1.41", "POST", "/x", headers={"Connection": "Upgrade",
                                                                          "Upgrade": "tcp"},
                      limits=QUICK, read_body_too=False)
    problems = st.upgrade_101(raw.head.status, raw.exchange.headers, "tcp")
    assert "expected 101 Switching Protocols for Upgrade: tcp, got 200" in problems[0].message


def test_chunked_decoding(server) -> None:
    def chunked(peer: socket.socket) -> None:
        _read_request(peer)
        peer.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n")

    with connect(server(chunked)) as conn:
        raw = request(conn, "X", "1.41", "GET", "/x", limits=QUICK)
    assert (raw.body.data, raw.body.stop) == (b"abcde", "done")


def test_bad_chunk_size_raises(server) -> None:
    def bad(peer: socket.socket) -> None:
        _read_request(peer)
        peer.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n")

    with connect(server(bad)) as conn, pytest.raises(WireError, match="bad chunk size"):
        request(conn, "X", "1.41", "GET", "/x", limits=QUICK)


def test_read_chunked_stops_when_done(server) -> None:
    def endless(peer: socket.socket) -> None:
        _read_request(peer)
        peer.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for index in range(20):
            record = b'{"n":%d}\n' % index
            peer.sendall(b"%x\r\n%s\r\n" % (len(record), record))
            time.sleep(0.02)

    with connect(server(endless)) as conn:
        raw = request(conn, "ContainerStats", "1.41", "GET", "/x", limits=QUICK, read_body_too=False)
        body = read_chunked(conn, QUICK, done=lambda out: out.count(b"\n") >= 2)
    assert body.stop == "done" and st.json_lines(body.data, complete=False)[0][:2] == [{"n": 0}, {"n": 1}]
    assert raw.head.status == 200


def test_not_http_is_an_error(server) -> None:
    def garbage(peer: socket.socket) -> None:
        _read_request(peer)
        peer.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

    with connect(server(garbage)) as conn, pytest.raises(WireError, match="not an HTTP status line"):
        request(conn, "X", "1.41", "GET", "/x", limits=QUICK)


# --- websocket framing, with websocket-client's ABNF as the independent peer ---------------------

def test_ws_accept_rfc_example() -> None:
    assert ws_accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 section 1.3


@pytest.mark.parametrize("size", [5, 300, 70000])
def test_ws_encode_is_read_by_websocket_client(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    data = ws_encode(0x2, payload)
    buffer = [data]

    def recv(n: int) -> bytes:
        chunk, buffer[0] = buffer[0][:n], buffer[0][n:]
        return chunk

    frame = frame_buffer(recv, skip_utf8_validation=True).recv_frame()
    assert frame.mask_value == 1 and frame.opcode == 0x2 and frame.data == payload


def _ws_server(frames: bytes) -> Handler:
    def handler(peer: socket.socket) -> None:
        _read_request(peer)
        peer.sendall(b"HTTP/1.1 101 Switching Protocols\r\n\r\n" + frames)
        until_client_closes(peer)
    return handler


def _ws_frames(server, frames: bytes) -> tuple[list, str | None]:
    with connect(server(_ws_server(frames))) as conn:
        request(conn, "X", "1.41", "GET", "/ws", limits=QUICK, read_body_too=False)
        got, error, offset = [], None, 0
        deadline = time.monotonic() + 0.6
        while True:
            item, error = ws_read_frame(conn, deadline, offset)
            if item is None:
                return got, error
            got.append(item)
            offset += len(item.payload) + 2


def test_ws_reads_server_frames(server) -> None:
    frames = ABNF.create_frame(b"hello", ABNF.OPCODE_TEXT)
    frames.mask_value = 0
    got, error = _ws_frames(server, frames.format())
    assert [f.payload for f in got] == [b"hello"] and error == "timeout"


def test_ws_rejects_masked_server_frame(server) -> None:
    masked = ABNF.create_frame(b"hi", ABNF.OPCODE_TEXT).format()  # websocket-client masks by default
    _, error = _ws_frames(server, masked)
    assert "frame at byte 0: server frames must not be masked" in error


def test_ws_rejects_rsv_bits_and_bad_opcodes(server) -> None:
    _, error = _ws_frames(server, bytes([0x81 | 0x40, 2]) + b"hi")
    assert "RSV bits set" in error
    _, error = _ws_frames(server, bytes([0x83, 0]))
    assert "unknown opcode 0x3" in error


def test_ws_truncated_payload(server) -> None:
    _, error = _ws_frames(server, bytes([0x81, 10]) + b"short")
    assert "truncated payload (wanted 10 bytes" in error
