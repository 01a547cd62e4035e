"""Raw socket access to the target, for checks that must see the bytes on the wire.

requests/urllib3 hide what these checks are about (the 101 status line, hijacked connections,
frame boundaries), so this module speaks HTTP/1.1 and RFC 6455 itself.  Every read is bounded by
a byte limit and a deadline: a target that hangs gives a ReadResult saying so, never a hung run.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from docker.tls import TLSConfig

from conformance.exchange import Exchange, hijacks
from conformance.target import TargetConfig, TargetError, redact_url

HEAD_LIMIT = 64 * 1024
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WS_OPCODES = {0x0: "continuation", 0x1: "text", 0x2: "binary", 0x8: "close", 0x9: "ping", 0xA: "pong"}


class WireError(RuntimeError):
    """The exchange could not be read as HTTP at all (the message says where it went wrong)."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1024 * 1024
    seconds: float = 10.0


@dataclass
class ReadResult:
    """Bytes read and why reading stopped: done (condition met), eof, timeout or limit."""

    data: bytes
    stop: str
    elapsed: float = 0.0

    @property
    def bounded_out(self) -> bool:
        return self.stop in ("timeout", "limit")

    def describe(self, what: str) -> str:
        if self.stop == "timeout":
            return f"{what}: no end within {self.elapsed:.1f} s ({len(self.data)} bytes read)"
        if self.stop == "limit":
            return f"{what}: byte limit reached ({len(self.data)} bytes) before the expected end"
        return f"{what}: stopped ({self.stop}) after {len(self.data)} bytes"


@dataclass
class ResponseHead:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes = b""

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)

    @property
    def media_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()


# --- connecting -------------------------------------------------------------------------------

def _ssl_context(tls: TLSConfig | bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if isinstance(tls, TLSConfig):
        if tls.ca_cert:
            ctx.load_verify_locations(tls.ca_cert)
        if tls.cert:
            ctx.load_cert_chain(*tls.cert)
        verify = bool(tls.verify)
    else:
        verify = False
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(config: TargetConfig, url: str, timeout: float = 10.0) -> tuple[socket.socket, str]:
    """A connected socket to the target (unix, tcp, TLS as the session's config says) and the Host value."""
    parts = urlsplit(url)
    scheme = parts.scheme or "tcp"
    try:
        if scheme in ("unix", "http+unix"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(parts.path)
            return sock, "docker"
        if scheme not in ("tcp", "http", "https"):
            raise TargetError(f"raw connections to {redact_url(url)} are not supported (scheme {scheme!r})")
        host = parts.hostname or "localhost"
        port = parts.port or (2376 if config.tls or scheme == "https" else 2375)
        sock = socket.create_connection((host, port), timeout=timeout)
        if config.tls or scheme == "https":
            sock = _ssl_context(config.tls).wrap_socket(sock, server_hostname=host)
        return sock, f"{host}:{port}"
    except OSError as exc:
        raise TargetError(f"cannot open a raw connection to {redact_url(url)}: {exc}") from exc


class Conn:
    """A socket with a read buffer; every read has a deadline and a byte limit.

    Once a request on it hijacked or upgraded the connection (`handed_over` says which), `request` refuses
    to send another one: what the connection is after a hijack is up to the target (a classic Swarm manager
    turns it into a raw tunnel to a node's engine), so each such exchange has a connection of its own.
    """

    def __init__(self, sock: socket.socket, host: str = "docker"):
        self.sock = sock
        self.host = host
        self.buffer = b""
        self.closed_by_peer = False
        self.handed_over = ""  # "<METHOD> <path> -> <status>" of the exchange that hijacked it

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def shutdown_write(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _fill(self, deadline: float) -> str | None:
        """Read once into the buffer; returns a stop reason (eof/timeout) or None when data came."""
        if self.closed_by_peer:
            return "eof"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout"
        self.sock.settimeout(min(remaining, 1.0))
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return None if time.monotonic() < deadline else "timeout"
        except ssl.SSLWantReadError:
            return None
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.closed_by_peer = True
            return "eof"
        self.buffer += chunk
        return None

    def read_until(self, done: Callable[[bytes], bool] | None, limits: Limits) -> ReadResult:
        """Read until `done(buffer)` is true, the peer closes, the deadline passes or the limit is hit.

        The whole buffer is returned and consumed.  `done=None` reads to the end of the stream.
        """
        start = time.monotonic()
        deadline = start + limits.seconds
        while True:
            if done is not None and done(self.buffer):
                stop = "done"
                break
            if len(self.buffer) >= limits.max_bytes:
                stop = "limit"
                break
            reason = self._fill(deadline)
            if reason:
                stop = reason
                break
        data, self.buffer = self.buffer[:limits.max_bytes], self.buffer[limits.max_bytes:]
        return ReadResult(data, stop, time.monotonic() - start)

    def read_exact(self, size: int, deadline: float) -> bytes | None:
        """Exactly `size` bytes, or None when the peer closed or the deadline passed first."""
        while len(self.buffer) < size:
            if self._fill(deadline):
                return None
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def open_conn(config: TargetConfig, url: str, timeout: float = 10.0) -> Conn:
    sock, host = connect(config, url, timeout)
    return Conn(sock, host)


# --- HTTP/1.1 ---------------------------------------------------------------------------------

def build_request(method: str, path: str, host: str, headers: dict[str, str] | None = None,
                  body: bytes | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: docker-api-conformance/wire"]
    extra = dict(headers or {})
    if body is not None:
        extra.setdefault("Content-Length", str(len(body)))
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def parse_head(raw: bytes) -> ResponseHead:
    """Status line and headers of one response head (up to and without the blank line)."""
    text = raw.decode("latin-1")
    lines = text.split("\r\n")
    status_line = lines[0]
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise WireError(f"not an HTTP status line: {status_line[:80]!r}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise WireError(f"malformed header line: {line[:80]!r}")
        headers.append((name, value.strip()))
    return ResponseHead(parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", headers, raw)


def read_head(conn: Conn, limits: Limits) -> tuple[ResponseHead | None, ReadResult]:
    """The response head; None (with the ReadResult saying why) when none arrived in time."""
    result = conn.read_until(lambda buf: b"\r\n\r\n" in buf, Limits(min(HEAD_LIMIT, limits.max_bytes) + 4,
                                                                      limits.seconds))
    data = result.data
    end = data.find(b"\r\n\r\n")
    if end < 0:
        conn.buffer = data + conn.buffer
        return None, result
    conn.buffer = data[end + 4:] + conn.buffer
    return parse_head(data[:end]), result


def read_chunked(conn: Conn, limits: Limits, done: Callable[[bytes], bool] | None = None) -> ReadResult:
    """Decode a chunked body strictly (a malformed chunk size raises WireError).

    Stops at the last chunk, or as soon as `done(decoded so far)` holds (for endless streams).
    """
    start = time.monotonic()
    deadline = start + limits.seconds
    out = bytearray()
    while True:
        line = _read_line(conn, deadline)
        if line is None:
            return ReadResult(bytes(out), "timeout" if time.monotonic() >= deadline else "eof",
                              time.monotonic() - start)
        size_text = line.split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise WireError(f"bad chunk size line {line[:40]!r} after {len(out)} body bytes") from None
        if size == 0:
            _read_line(conn, deadline)  # the blank line after the last chunk (trailers ignored)
            return ReadResult(bytes(out), "done", time.monotonic() - start)
        chunk = conn.read_exact(size + 2, deadline)
        if chunk is None:
            return ReadResult(bytes(out), "timeout" if time.monotonic() >= deadline else "eof",
                              time.monotonic() - start)
        if chunk[-2:] != b"\r\n":
            raise WireError(f"chunk of {size} bytes not followed by CRLF after {len(out)} body bytes")
        out += chunk[:-2]
        if done is not None and done(bytes(out)):
            return ReadResult(bytes(out), "done", time.monotonic() - start)
        if len(out) >= limits.max_bytes:
            return ReadResult(bytes(out[:limits.max_bytes]), "limit", time.monotonic() - start)


def _read_line(conn: Conn, deadline: float) -> bytes | None:
    while b"\r\n" not in conn.buffer:
        if len(conn.buffer) > HEAD_LIMIT or conn._fill(deadline):
            return None
    line, _, conn.buffer = conn.buffer.partition(b"\r\n")
    return line


def read_body(conn: Conn, head: ResponseHead, limits: Limits, method: str = "GET") -> ReadResult:
    """The body as framed by the head: none, Content-Length, chunked, or until the peer closes."""
    if method == "HEAD" or head.status in (101, 204, 304) or 100 <= head.status < 200:
        return ReadResult(b"", "done")
    if "chunked" in (head.header("Transfer-Encoding") or "").lower():
        return read_chunked(conn, limits)
    length = head.header("Content-Length")
    if length is not None and length.isdigit():
        want = int(length)
        result = conn.read_until(lambda buf: len(buf) >= want, Limits(min(want, limits.max_bytes), limits.seconds))
        if result.stop == "limit" and want <= limits.max_bytes:
            result.stop = "done"
        return result
    return conn.read_until(None, limits)


@dataclass
class RawExchange:
    """One raw request and what came back; `exchange` is the same in the recorder's form."""

    head: ResponseHead | None
    body: ReadResult
    exchange: Exchange


def to_exchange(op_id: str, version: str, method: str, path: str, headers: dict[str, str],
                body: bytes | None, head: ResponseHead | None, result: ReadResult) -> Exchange:
    ex = Exchange(op_id, version, method, path, dict(headers), body)
    if head is not None:
        ex.status, ex.reason, ex.headers = head.status, head.reason, dict(head.headers)
    ex.body = result.data
    ex.truncated = result.stop == "limit"
    ex.timed_out = result.stop == "timeout"
    ex.elapsed = result.elapsed
    return ex


def request(conn: Conn, op_id: str, version: str, method: str, path: str, *, headers: dict[str, str] | None = None,
            body: bytes | None = None, limits: Limits = Limits(), read_body_too: bool = True) -> RawExchange:
    """Send one request on `conn` and read the head (and the body unless told not to).

    WireError when an earlier request hijacked or upgraded `conn`: open a new connection for this one.
    """
    if conn.handed_over:
        raise WireError(f"refusing {method} {path}: the connection was hijacked by {conn.handed_over}; "
                        "a hijacked or upgraded connection is never reused (open a new one)")
    send_headers = dict(headers or {})
    conn.send(build_request(method, path, conn.host, send_headers, body))
    head, head_read = read_head(conn, limits)
    if hijacks(method, path, send_headers, head.status if head else 0, dict(head.headers) if head else None):
        conn.handed_over = f"{method} {path} -> {head.status if head else 'no answer'}"
    if head is None:
        return RawExchange(None, head_read, to_exchange(op_id, version, method, path, send_headers, body, None,
                                                        head_read))
    result = read_body(conn, head, limits, method) if read_body_too else ReadResult(b"", "done")
    return RawExchange(head, result, to_exchange(op_id, version, method, path, send_headers, body, head, result))


# --- RFC 6455 ---------------------------------------------------------------------------------

def ws_key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


def ws_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


def ws_handshake_headers(key: str, origin: str = "http://localhost") -> dict[str, str]:
    # golang.org/x/net/websocket (the Engine's server) rejects a handshake without Origin.
    return {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": key, "Origin": origin}


def ws_encode(opcode: int, payload: bytes, mask: bool = True, fin: bool = True) -> bytes:
    """One frame; clients must mask (RFC 6455 5.3)."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    mask_bit = 0x80 if mask else 0
    if length < 126:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not mask:
        return header + payload
    key = os.urandom(4)
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


@dataclass(frozen=True)
class WsFrame:
    offset: int
    fin: bool
    opcode: int
    payload: bytes


def ws_read_frame(conn: Conn, deadline: float, offset: int, max_payload: int = 1 << 20
                  ) -> tuple[WsFrame | None, str | None]:
    """One server frame, strictly (no mask, RSV bits 0, known opcode, short control frames).

    Returns (frame, None), or (None, reason) where reason says what was wrong and at which byte
    offset of the stream after the 101, or "timeout"/"eof".
    """
    head = conn.read_exact(2, deadline)
    if head is None:
        return None, "timeout" if time.monotonic() >= deadline else "eof"
    first, second = head
    fin, rsv, opcode = bool(first & 0x80), first & 0x70, first & 0x0F
    masked, length = bool(second & 0x80), second & 0x7F
    if rsv:
        return None, f"frame at byte {offset}: RSV bits set ({rsv >> 4:03b}) without a negotiated extension"
    if opcode not in WS_OPCODES:
        return None, f"frame at byte {offset}: unknown opcode 0x{opcode:x}"
    if masked:
        return None, f"frame at byte {offset}: server frames must not be masked (RFC 6455 5.1)"
    header_len = 2
    if length >= 126:
        size = 2 if length == 126 else 8
        ext = conn.read_exact(size, deadline)
        if ext is None:
            return None, f"frame at byte {offset}: truncated extended length"
        length = struct.unpack("!H" if size == 2 else "!Q", ext)[0]
        header_len += size
    if opcode >= 0x8 and (length > 125 or not fin):
        return None, f"frame at byte {offset}: control frame {WS_OPCODES[opcode]} fragmented or over 125 bytes"
    if length > max_payload:
        return None, f"frame at byte {offset}: payload of {length} bytes is over the {max_payload} byte limit"
    payload = conn.read_exact(length, deadline)
    if payload is None:
        return None, (f"frame at byte {offset}: truncated payload "
                      f"(wanted {length} bytes after a {header_len}-byte header)")
    return WsFrame(offset, fin, opcode, payload), None


def ws_frame_size(frame: WsFrame) -> int:
    length = len(frame.payload)
    return 2 + length + (0 if length < 126 else 2 if length < 65536 else 8)
