"""An HTTP proxy in front of a real engine that passes bytes through unchanged (keep-alive, Content-Length and
chunked bodies, streams as they arrive, hijacked and upgraded connections piped raw) except the JSON responses
to requests an `Alteration` matches, which it rewrites. Self-tests use it to show the suite failing a wrong engine."""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import re
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.client import responses
from typing import Any
from urllib.parse import urlsplit

VERSION_PREFIX = re.compile(r"^/v\d+\.\d+(?=/)")
BUFFER_LIMIT = 32 << 20  # a matched body larger than this passes through unchanged
IDLE_SECONDS = 2.0  # a matched body that pauses this long is taken for a stream and passes through unchanged
DELETE = object()


@dataclass(frozen=True)
class Alteration:
    """Rewrites the JSON response to `method` requests whose path (no /vX.Y prefix, no query) matches `path_regex`:
    `whole_body` (if not None) replaces the body, then `edit` applies (a function of the body returning the new one,
    {JSON pointer: new value} or a list of JSON pointers to delete), and `status` (if not None) the status code."""

    method: str
    path_regex: str
    edit: Callable[[Any], Any] | Mapping[str, Any] | Sequence[str] | None = None
    status: int | None = None
    whole_body: Any | None = None

    def matches(self, method: str, target: str) -> bool:
        path = VERSION_PREFIX.sub("", target.split("?", 1)[0], count=1)
        return method.upper() == self.method.upper() and re.fullmatch(self.path_regex, path) is not None

    def apply(self, body: Any) -> Any:
        body = body if self.whole_body is None else copy.deepcopy(self.whole_body)
        if callable(self.edit):
            return self.edit(body)
        changes = self.edit.items() if isinstance(self.edit, Mapping) else [(p, DELETE) for p in self.edit or ()]
        for pointer, value in changes:
            body = set_pointer(body, pointer, value if value is DELETE else copy.deepcopy(value))
        return body


def set_pointer(doc: Any, pointer: str, value: Any) -> Any:
    """Sets (with `value=DELETE`: removes) what an RFC 6901 pointer names; returns the document."""
    *path, last = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")]
    if path[0] if path else last:
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    parent = functools.reduce(lambda node, token: node[int(token) if isinstance(node, list) else token], path[1:], doc)
    if not path:
        return value
    key = int(last) if isinstance(parent, list) else last
    if value is DELETE:
        del parent[key]
    else:
        parent[key] = value
    return doc


class _Peer:
    """A socket with a read buffer (bytes read past the end of a message wait there)."""

    def __init__(self, sock: socket.socket):
        self.sock, self.buf = sock, b""

    def take(self, n: int) -> bytes:
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def head(self) -> bytes:
        while b"\r\n\r\n" not in self.buf:
            if not (data := self.sock.recv(65536)):
                return b""  # the peer closed (inside a head too: then the connection just ends)
            self.buf += data
        return self.take(self.buf.index(b"\r\n\r\n") + 4)


def _pieces(src: _Peer, framing: str, length: int) -> Iterator[tuple[bytes, bool]]:
    """One body's raw bytes as they arrive, framing included, as (bytes, is data); (b"", False) on a read timeout."""
    need, chunked, size = (length if framing == "length" else 0), framing == "chunked", -1
    while need > 0 or chunked:
        if not src.buf or (need <= 0 and b"\n" not in src.buf):
            try:
                data = src.sock.recv(65536)
            except TimeoutError:
                yield b"", False
                continue
            if not data:
                raise ConnectionError("connection closed inside a body")
            src.buf += data
        elif need > 0:
            yield (piece := src.take(need)), True
            need -= len(piece)
        else:
            yield (line := src.take(src.buf.index(b"\n") + 1)), False
            if size == 0:  # trailer fields, ended by a blank line
                chunked = bool(line.strip())
            elif line.strip():  # a chunk size (else the CRLF after a chunk's data)
                need = size = int(line.split(b";")[0], 16)


def _parse(head: bytes) -> tuple[list[str], list[tuple[str, str]], dict[str, str], tuple[str, int]]:
    """The start line's first two fields, the headers, {lower-case name: lower-case value}, (body framing, length)."""
    lines = head.decode("latin-1").split("\r\n")
    fields = [(k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)]
    lower = {k.lower(): v.lower() for k, v in fields}
    framing = ("chunked", 0) if "chunked" in lower.get("transfer-encoding", "") else (
        ("length", int(lower["content-length"])) if "content-length" in lower else ("none", 0))
    return lines[0].split(" ", 2)[:2], fields, lower, framing


def _pipe(a: _Peer, b: _Peer) -> None:
    """Raw bytes both ways until both directions ended; an EOF half-closes the other side, an error ends all."""
    def one_way(src: _Peer, dst: _Peer) -> None:
        try:
            while data := src.take(len(src.buf)) or src.sock.recv(65536):
                dst.sock.sendall(data)
            dst.sock.shutdown(socket.SHUT_WR)
        except OSError:
            for sock in (a.sock, b.sock):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
    (other := threading.Thread(target=one_way, args=(a, b), daemon=True)).start()
    one_way(b, a)
    other.join()


class AlterProxy:
    """Serves from construction on a unix socket path (str) or 127.0.0.1 port (int, 0: any) until stop()."""

    def __init__(self, upstream_url: str, alterations: Iterable[Alteration] = (), listen: str | int = 0):
        self.upstream, self.alterations = urlsplit(upstream_url), list(alterations)
        self.altered: list[str] = []  # "METHOD target -> status" of each rewritten response
        self.errors: list[str] = []  # edits that raised (those responses passed through unchanged)
        self.path = "" if isinstance(listen, int) else os.path.abspath(listen)
        if self.path and os.path.lexists(self.path):
            os.unlink(self.path)
        kind = socketserver.ThreadingUnixStreamServer if self.path else socketserver.ThreadingTCPServer
        self._server = kind(self.path or ("127.0.0.1", int(listen)), lambda sock, _addr, _srv: self._serve(sock))
        self._server.daemon_threads = True
        self.url = f"unix://{self.path}" if self.path else f"tcp://127.0.0.1:{self._server.server_address[1]}"
        self._open: set[socket.socket] = set()  # the connections being served, for stop()
        threading.Thread(target=self._server.serve_forever, daemon=True, name=f"alter-proxy {self.url}").start()

    def stop(self) -> None:
        """Stops accepting, ends the connections being served, removes the socket file."""
        self._server.shutdown()
        self._server.server_close()
        for sock in list(self._open):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self.path and os.path.lexists(self.path):
            os.unlink(self.path)

    def _serve(self, client_sock: socket.socket) -> None:
        unix = self.upstream.scheme == "unix"
        socks = [client_sock, socket.socket(socket.AF_UNIX if unix else socket.AF_INET)]
        self._open.update(socks)
        client, up = _Peer(client_sock), _Peer(socks[1])

        def forward_body(framing: tuple[str, int]) -> None:
            try:
                for piece, _ in _pieces(client, *framing):
                    up.sock.sendall(piece)
            except (OSError, ValueError):  # the engine sees the request end there; its answer tells the client
                with contextlib.suppress(OSError):
                    up.sock.shutdown(socket.SHUT_WR)
        try:
            up.sock.connect(self.upstream.path if unix else (self.upstream.hostname, self.upstream.port or 2375))
            while head := client.head():
                (method, target), _, _, framing = _parse(head)
                up.sock.sendall(head)
                body = threading.Thread(target=forward_body, args=(framing,), daemon=True)
                body.start()  # alongside the response: an engine may answer before it has read all of the body
                if not self._respond(method, target, up, client, body):
                    break
        except (OSError, ValueError):
            pass
        finally:
            self._open.difference_update(socks)
            for sock in socks:
                sock.close()

    def _respond(self, method: str, target: str, up: _Peer, client: _Peer, body: threading.Thread) -> bool:
        """Forwards one response (and what follows a hijack); True when the connection may carry another."""
        while re.match(rb"HTTP/1\.\d 1(?!01)\d\d ", head := up.head()):
            client.sock.sendall(head)  # 100 Continue and other interim answers
        (version, code), _, lower, (framing, length) = _parse(head)  # b"" (the engine closed): ValueError
        bodiless = method == "HEAD" or int(code) in (204, 304)
        if int(code) == 101 or (framing == "none" and not bodiless):
            client.sock.sendall(head)  # hijacked, upgraded, or a body that ends with the connection
            body.join()
            _pipe(client, up)
            return False
        pieces = _pieces(up, *(("none", 0) if bodiless else (framing, length)))
        matched = [a for a in self.alterations if a.matches(method, target)]
        if matched and not bodiless and "json" in lower.get("content-type", "") and "content-encoding" not in lower:
            raw = data = b""
            up.sock.settimeout(IDLE_SECONDS)
            for piece, is_data in pieces:
                if not piece or len(raw) > BUFFER_LIMIT:
                    head += raw + piece  # a stream or too big: passes through unchanged
                    break
                raw, data = raw + piece, data + piece if is_data else data
            else:
                head = self._rewrite(head, raw, data, matched, f"{method} {target}")
            up.sock.settimeout(None)
        client.sock.sendall(head)
        for piece, _ in pieces:
            client.sock.sendall(piece)
        body.join()
        return version != "HTTP/1.0" and "close" not in lower.get("connection", "")

    def _rewrite(self, head: bytes, raw: bytes, data: bytes, matched: list[Alteration], request: str) -> bytes:
        """The altered response, re-framed with a Content-Length (unchanged when the edit fails)."""
        (version, code), headers, _, _ = _parse(head)
        try:
            doc, status = json.loads(data), int(code)
            for alteration in matched:
                doc = alteration.apply(doc)
                status = status if alteration.status is None else alteration.status
            payload = (json.dumps(doc, separators=(",", ":")) + "\n").encode()
        except Exception as exc:  # a broken edit or a body that is not JSON
            self.errors.append(f"{request}: {type(exc).__name__}: {exc}")
            return head + raw
        kept = "".join(f"{k}: {v}\r\n" for k, v in headers if k.lower() not in ("content-length", "transfer-encoding"))
        self.altered.append(f"{request} -> {status}")
        start = f"{version} {status} {responses.get(status, 'Altered')}\r\n"
        return f"{start}{kept}Content-Length: {len(payload)}\r\n\r\n".encode("latin-1") + payload


@contextlib.contextmanager
def altering_proxy(upstream_url: str, alterations: Iterable[Alteration], socket_path: str | int) -> Iterator[str]:
    """Runs an `AlterProxy` in a background thread; yields its docker URL; stops it (socket removed) on exit."""
    proxy = AlterProxy(upstream_url, alterations, socket_path)
    try:
        yield proxy.url
    finally:
        proxy.stop()
