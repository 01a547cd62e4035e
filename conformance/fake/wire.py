"""Transport-neutral request/response objects shared by the server, the engine and its wrappers.

The server parses bytes into a `Request`, an engine returns a `Response`.  A response body is
either bytes (sent with Content-Length), an iterator of bytes (sent chunked, flushed per chunk),
or a `hijack` callback that takes over the raw connection after the status line and headers,
which is how the real Engine serves attach, exec start, websockets and sessions.
"""

from __future__ import annotations

import fcntl
import json
import select
import socket
import struct
import termios
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

REASONS = {
    101: "Switching Protocols", 200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 418: "I'm a teapot", 500: "Internal Server Error", 501: "Not Implemented",
    503: "Service Unavailable",
}


class Headers:
    """Case-insensitive, order-keeping header map (canonical names kept for output)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for key, value in items:
            self[key] = value

    def __setitem__(self, key: str, value: str) -> None:
        self._items[key.lower()] = (key, value)

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __delitem__(self, key: str) -> None:
        self._items.pop(key.lower(), None)

    def get(self, key: str, default: str | None = None) -> str | None:
        item = self._items.get(key.lower())
        return item[1] if item else default

    def pop(self, key: str) -> str | None:
        item = self._items.pop(key.lower(), None)
        return item[1] if item else None

    def setdefault(self, key: str, value: str) -> None:
        if key not in self:
            self[key] = value

    def items(self) -> list[tuple[str, str]]:
        return list(self._items.values())

    def copy(self) -> Headers:
        return Headers(self.items())


class Conn:
    """The raw client connection, for hijacked responses and liveness checks of long streams."""

    def __init__(self, sock: socket.socket, rfile: BinaryIO) -> None:
        self.sock = sock
        self.rfile = rfile
        self.write_lock = threading.Lock()
        self.closed = False

    def write(self, data: bytes) -> bool:
        if not data:
            return not self.closed
        with self.write_lock:
            try:
                self.sock.sendall(data)
                return True
            except OSError:
                self.closed = True
                return False

    def settle(self, go_client: bool) -> None:
        """Before streaming after a hijack, let the client finish reading the header.

        Python clients (docker-py) parse the header with a buffered reader and then read the raw
        socket, so body bytes that arrive in the same read would be lost.  The Engine never hits
        this because a process starts slower than that; the fake's processes are instant.  On a
        unix socket SIOCOUTQ tells when the peer has read everything; on TCP a short pause does.
        """
        if go_client:
            return
        deadline = time.monotonic() + 0.1
        if self.sock.family == socket.AF_UNIX:
            while time.monotonic() < deadline:
                try:
                    pending = struct.unpack("i", fcntl.ioctl(self.sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
                except OSError:
                    break
                if pending == 0:
                    return
                time.sleep(0.001)
            return
        time.sleep(0.015)

    def hung_up(self) -> bool:
        """True once the peer is gone for good (POLLHUP/POLLERR), not merely half-closed.

        Hijacked clients half-close when they have no stdin to send (the docker CLI does), and the
        Engine keeps streaming to them, so read-side EOF must not end a hijacked session.
        """
        if self.closed:
            return True
        try:
            poller = select.poll()
            poller.register(self.sock, select.POLLHUP | select.POLLERR)
            return any(ev & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, ev in poller.poll(0))
        except (OSError, ValueError):
            return True

    def read(self, size: int = 65536) -> bytes:
        """Bytes the client sent (blocking); b'' once it half-closed or went away."""
        try:
            return self.rfile.read1(size)  # type: ignore[attr-defined]
        except (OSError, ValueError):
            return b""

    def shutdown_write(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def alive(self) -> bool:
        """False once the peer closed: a readable socket with nothing to read means EOF."""
        if self.closed:
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
            if not readable:
                return True
            return bool(self.sock.recv(1, socket.MSG_PEEK))
        except (OSError, ValueError):
            return False


@dataclass
class Request:
    method: str
    target: str
    headers: Headers
    body: bytes = b""
    conn: Conn | None = None
    # Filled in by the engine: API path without the /vX.Y prefix and the negotiated version.
    path: str = ""
    version: tuple[int, int] = (0, 0)
    versioned: bool = False
    query: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parts = urlsplit(self.target)
        self.path = parts.path or "/"
        self.query = parse_qs(parts.query, keep_blank_values=True)

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def qlist(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def qbool(self, name: str, default: bool = False) -> bool:
        value = self.q(name)
        if value is None:
            return default
        # Go's strconv.ParseBool-ish, as the Engine's httputils.BoolValue: anything but 0/false/no/none.
        return value.strip().lower() not in ("", "0", "false", "no", "off", "none")

    def qint(self, name: str, default: int | None = None) -> int | None:
        value = self.q(name)
        if value in (None, ""):
            return default
        try:
            return int(value)  # type: ignore[arg-type]
        except ValueError:
            raise ApiError(400, f"invalid value for {name}: {value!r}") from None

    def json(self, default: Any = None) -> Any:
        if not self.body.strip():
            return default
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ApiError(400, f"invalid JSON: {exc}") from None

    def wants_upgrade(self) -> bool:
        conn = (self.headers.get("Connection") or "").lower()
        return "upgrade" in conn and bool(self.headers.get("Upgrade"))

    def alive(self) -> bool:
        return self.conn.alive() if self.conn else True


Hijack = Callable[[Conn], None]


@dataclass
class Response:
    status: int
    body: bytes | Iterable[bytes] = b""
    headers: Headers = field(default_factory=Headers)
    reason: str | None = None
    hijack: Hijack | None = None
    operation: str | None = None
    # Which of the Engine's standard headers go out (engine.py _finish): "all"; "no-experimental" (an error of
    # the version middleware, which runs before the experimental one); "none" (the router's own 404, and the
    # hijacked replies attach and session write themselves, as dockerd 20.10 answers them; exec start copies
    # the headers onto its hijacked reply, moby postContainerExecStart).
    standard_headers: str = "all"

    @property
    def streaming(self) -> bool:
        return not isinstance(self.body, (bytes, bytearray))

    def content(self) -> bytes:
        """The whole body (drains a stream: for tests and wrappers, not for endless streams)."""
        if isinstance(self.body, (bytes, bytearray)):
            return bytes(self.body)
        return b"".join(self.body)


class ApiError(Exception):
    """An Engine error: rendered as {"message": ...} with the given status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_bytes(value: Any) -> bytes:
    # Go's encoder: compact separators, HTML-safe escapes off for our purposes, trailing newline.
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, json_bytes(value), Headers([("Content-Type", "application/json")]))


def empty(status: int = 204) -> Response:
    return Response(status, b"")


def text_response(text: str, status: int = 200) -> Response:
    return Response(status, text.encode(), Headers([("Content-Type", "text/plain; charset=utf-8")]))


def error_response(status: int, message: str) -> Response:
    return json_response({"message": message}, status)


def stream_response(chunks: Iterator[bytes], content_type: str | None = "application/json",
                    status: int = 200) -> Response:
    headers = Headers([("Content-Type", content_type)] if content_type else [])
    return Response(status, chunks, headers)


def error_line(message: str) -> bytes:
    """An error inside a JSON progress stream, as moby's jsonmessage writes it (`error` and `errorDetail`)."""
    return json_bytes({"errorDetail": {"message": message}, "error": message})
