"""An HTTP proxy in front of a real engine that passes bytes through unchanged (keep-alive, Content-Length and
chunked bodies, streams as they arrive, hijacked and upgraded connections piped raw) except the JSON responses
to requests an `Alteration` matches, which it rewrites. Self-tests use it to show the suite failing a wrong engine."""

from __future__ import annotations

import contextlib
import copy
import http
import json
import os
import re
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import urlsplit

Edit: TypeAlias = "Callable[[Any], Any] | Mapping[str, Any] | Sequence[str] | None"
Headers: TypeAlias = "list[tuple[str, str]]"
VERSION_PREFIX = re.compile(r"^/v\d+\.\d+(?=/)")
BUFFER_LIMIT = 32 << 20  # a matched body larger than this passes through unchanged
IDLE_SECONDS = 2.0  # a matched body that pauses this long is taken for a stream and passes through unchanged
DELETE = object()


@dataclass(frozen=True)
class Alteration:
    """Rewrites the JSON response to `method` requests whose path (no /vX.Y prefix, no query) matches `path_regex`.

    `whole_body` (if not None) replaces the body, then `edit` applies (a function of the body returning the new one,
    {JSON pointer: new value} or a list of JSON pointers to delete), and `status` (if not None) the status code."""

    method: str
    path_regex: str
    edit: Edit = None
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
    if pointer and not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    if not tokens:
        return value
    parent = doc
    for token in tokens[:-1]:
        parent = parent[int(token) if isinstance(parent, list) else token]
    key = int(tokens[-1]) if isinstance(parent, list) else tokens[-1]
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
        """A message head up to its blank line; b"" when the peer closed before sending a byte."""
        while b"\r\n\r\n" not in self.buf:
            if not (data := self.sock.recv(65536)):
                if self.buf:
                    raise ConnectionError("connection closed inside a message head")
                return b""
            self.buf += data
        return self.take(self.buf.index(b"\r\n\r\n") + 4)


def _pieces(src: _Peer, framing: str, length: int) -> Iterator[bytes]:
    """One body's raw bytes as they arrive, framing included; b"" each time the peer pauses (read timeout)."""
    need, chunked, size = (length if framing == "length" else 0), framing == "chunked", -1
    while need > 0 or chunked:
        if not src.buf or (need <= 0 and b"\n" not in src.buf):
            try:
                data = src.sock.recv(65536)
            except TimeoutError:
                yield b""
                continue
            if not data:
                raise ConnectionError("connection closed inside a body")
            src.buf += data
        elif need > 0:
            piece = src.take(need)
            need -= len(piece)
            yield piece
        else:
            yield (line := src.take(src.buf.index(b"\n") + 1))
            if size == 0:  # trailer fields, ended by a blank line
                chunked = bool(line.strip())
            else:
                size = int(line.split(b";")[0], 16)
                need = size + 2 if size else 0  # the chunk's data and its CRLF


def _dechunk(raw: bytes) -> bytes:
    out, i = b"", 0
    while size := int(raw[i:raw.index(b"\n", i)].split(b";")[0], 16):
        i = raw.index(b"\n", i) + 1
        out, i = out + raw[i:i + size], i + size + 2
    return out


def _parse(head: bytes) -> tuple[list[str], Headers]:
    """(start line fields, headers); that of b"" (the peer closed) does not unpack: ValueError."""
    lines = head.decode("latin-1").split("\r\n")
    fields = [line.split(":", 1) for line in lines[1:] if ":" in line]
    return lines[0].split(" ", 2), [(k.strip(), v.strip()) for k, v in fields]


def _get(headers: Headers, name: str) -> str:
    return next((v for k, v in reversed(headers) if k.lower() == name), "").lower()


def _framing(headers: Headers) -> tuple[str, int]:
    if "chunked" in _get(headers, "transfer-encoding"):
        return "chunked", 0
    length = _get(headers, "content-length")
    return ("length", int(length)) if length else ("none", 0)


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
    other = threading.Thread(target=one_way, args=(a, b), daemon=True)
    other.start()
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

        def forward_body(headers: Headers) -> None:
            with contextlib.suppress(OSError, ValueError):  # then the response (Connection: close) tells the client
                for piece in _pieces(client, *_framing(headers)):
                    up.sock.sendall(piece)
        try:
            up.sock.connect(self.upstream.path if unix else (self.upstream.hostname, self.upstream.port or 2375))
            while head := client.head():
                (method, target, *_), headers = _parse(head)
                up.sock.sendall(head)
                # The body goes alongside the response: an engine may answer before it has read all of it.
                body = threading.Thread(target=forward_body, args=(headers,), daemon=True)
                body.start()
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
        while True:
            (version, code, *_), headers = _parse(head := up.head())
            if int(code) == 101 or int(code) >= 200:
                break
            client.sock.sendall(head)  # 100 Continue and other interim answers
        bodiless = method == "HEAD" or int(code) in (204, 304)
        framing, length = ("none", 0) if bodiless else _framing(headers)
        if int(code) == 101 or (framing == "none" and not bodiless):
            client.sock.sendall(head)  # hijacked, upgraded, or a body that ends with the connection
            body.join()
            _pipe(client, up)
            return False
        pieces = _pieces(up, framing, length)
        json_body = "json" in _get(headers, "content-type") and not _get(headers, "content-encoding")
        matched = [a for a in self.alterations if a.matches(method, target)] if json_body else []
        if matched and framing != "none":
            raw = b""
            up.sock.settimeout(IDLE_SECONDS)
            for piece in pieces:
                if not piece or len(raw) > BUFFER_LIMIT:
                    head += raw + piece  # a stream or too big: passes through unchanged
                    break
                raw += piece
            else:
                head = self._rewrite(head, raw, framing, matched, f"{method} {target}")
            up.sock.settimeout(None)
        client.sock.sendall(head)
        for piece in pieces:
            client.sock.sendall(piece)
        body.join()
        return version != "HTTP/1.0" and "close" not in _get(headers, "connection")

    def _rewrite(self, head: bytes, raw: bytes, framing: str, matched: list[Alteration], request: str) -> bytes:
        """The altered response, re-framed with a Content-Length (unchanged when the edit fails)."""
        (version, code, *_), headers = _parse(head)
        status = int(code)
        try:
            doc = json.loads(_dechunk(raw) if framing == "chunked" else raw)
            for alteration in matched:
                doc = alteration.apply(doc)
                status = status if alteration.status is None else alteration.status
            payload = (json.dumps(doc, separators=(",", ":")) + "\n").encode()
        except Exception as exc:  # a broken edit or a body that is not JSON
            self.errors.append(f"{request}: {type(exc).__name__}: {exc}")
            return head + raw
        reason = http.HTTPStatus(status).phrase if status in set(http.HTTPStatus) else "Altered"
        kept = [f"{k}: {v}\r\n" for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
        self.altered.append(f"{request} -> {status}")
        new_head = f"{version} {status} {reason}\r\n{''.join(kept)}Content-Length: {len(payload)}\r\n\r\n"
        return new_head.encode("latin-1") + payload


@contextlib.contextmanager
def altering_proxy(upstream_url: str, alterations: Iterable[Alteration] = (), socket_path: str | int = 0
                   ) -> Iterator[str]:
    """Runs an `AlterProxy` in a background thread; yields its docker URL; stops it (socket removed) on exit."""
    proxy = AlterProxy(upstream_url, alterations, socket_path)
    try:
        yield proxy.url
    finally:
        proxy.stop()
