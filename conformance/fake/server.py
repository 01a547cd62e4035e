"""HTTP/1.1 transport over TCP or a unix socket: one thread per connection, keep-alive, chunked
streams and connection hijacking.  Hand-rolled (not http.server) so hijacked replies can carry the
Engine's exact status lines ("101 UPGRADED") and so no byte of a client's stdin gets buffered away.
"""

from __future__ import annotations

import os
import socket
import socketserver
import threading
import time
from email.utils import formatdate
from typing import Protocol

from .wire import REASONS, Conn, Headers, Request, Response

MAX_HEADER_BYTES = 1 << 20


class Handler(Protocol):
    """What the server needs from an engine (or from a proxy wrapping several engines)."""

    def handle(self, request: Request) -> Response: ...

    def close(self) -> None: ...


class BadRequest(Exception):
    pass


def _read_line(rfile, limit: int = 65536) -> bytes:
    line = rfile.readline(limit + 1)
    if len(line) > limit:
        raise BadRequest("line too long")
    return line


def read_request(rfile, conn: Conn) -> Request | None:
    """Parse one request from the connection; None when the client closed it cleanly."""
    line = _read_line(rfile)
    while line in (b"\r\n", b"\n"):  # tolerate stray CRLF between keep-alive requests
        line = _read_line(rfile)
    if not line:
        return None
    parts = line.decode("latin-1").strip().split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequest(f"malformed request line {line!r}")
    method, target, proto = parts
    headers = Headers()
    total = 0
    while True:
        hline = _read_line(rfile)
        total += len(hline)
        if total > MAX_HEADER_BYTES:
            raise BadRequest("headers too large")
        if hline in (b"\r\n", b"\n", b""):
            break
        key, _, value = hline.decode("latin-1").partition(":")
        headers[key.strip()] = value.strip()
    headers["X-Fake-Proto"] = proto  # lets the writer pick chunked vs close-delimited bodies
    if (headers.get("Expect") or "").lower() == "100-continue":
        conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = b""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        body = _read_chunked(rfile)
    elif headers.get("Content-Length"):
        length = int(headers["Content-Length"])
        body = rfile.read(length) if length > 0 else b""
        if len(body) != length:
            return None
    return Request(method.upper(), target, headers, body, conn)


def _read_chunked(rfile) -> bytes:
    out = bytearray()
    while True:
        size_line = _read_line(rfile).split(b";", 1)[0].strip()
        if not size_line:
            raise BadRequest("truncated chunked body")
        size = int(size_line, 16)
        if size == 0:
            while _read_line(rfile) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(out)
        out += rfile.read(size)
        rfile.readline()


def _head(status: int, reason: str | None, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason or REASONS.get(status, 'Unknown')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def write_response(conn: Conn, request: Request, response: Response) -> bool:
    """Send the response; True when the connection can serve another request."""
    proto = request.headers.get("X-Fake-Proto", "HTTP/1.1")
    client_close = (request.headers.get("Connection") or "").lower() == "close" or proto == "HTTP/1.0"
    # Go writes handler headers sorted, then the server's own (Date, Content-Length, ...).
    headers = sorted(response.headers.items(), key=lambda kv: kv[0])
    if response.hijack is not None:
        if not conn.write(_head(response.status, response.reason, headers)):
            return False
        agent = request.headers.get("User-Agent") or ""
        conn.settle(agent.startswith(("Docker-Client/", "Go-http-client/")))
        try:
            response.hijack(conn)
        finally:
            conn.shutdown_write()
        return False
    headers.append(("Date", formatdate(usegmt=True)))
    no_body = response.status in (101, 204, 304) or 100 <= response.status < 200
    if not response.streaming:
        body = bytes(response.body)  # type: ignore[arg-type]
        if request.method == "HEAD":
            if "Content-Length" in response.headers:
                headers = [h for h in headers if h[0].lower() != "content-length"]
                headers.append(("Content-Length", response.headers["Content-Length"]))
            body = b""
        elif not no_body:
            headers = [h for h in headers if h[0].lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        else:
            body = b""
        if client_close:
            headers.append(("Connection", "close"))
        ok = conn.write(_head(response.status, response.reason, headers) + body)
        return ok and not client_close
    chunked = proto != "HTTP/1.0"
    if client_close or not chunked:
        headers.append(("Connection", "close"))
    if chunked:
        headers.append(("Transfer-Encoding", "chunked"))
    iterator = iter(response.body)  # type: ignore[arg-type]
    try:
        if not conn.write(_head(response.status, response.reason, headers)):
            return False
        if request.method == "HEAD":
            return not client_close
        for chunk in iterator:
            if not chunk:
                continue
            data = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
            if not conn.write(data):
                return False
        if chunked and not conn.write(b"0\r\n\r\n"):
            return False
    finally:
        close = getattr(iterator, "close", None)
        if close:
            close()
    return chunked and not client_close


class _ConnHandler(socketserver.BaseRequestHandler):
    server: _ServerMixin

    def handle(self) -> None:
        sock: socket.socket = self.request
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small frames, no Nagle stalls
        rfile = sock.makefile("rb", buffering=65536)
        conn = Conn(sock, rfile)
        self.server.track(conn, True)
        try:
            while not self.server.stopping:
                try:
                    request = read_request(rfile, conn)
                except (BadRequest, ValueError):
                    conn.write(_head(400, None, [("Content-Type", "text/plain; charset=utf-8"),
                                                 ("Connection", "close")]) + b"400 Bad Request")
                    return
                except OSError:
                    return
                if request is None:
                    return
                try:
                    response = self.server.engine.handle(request)
                except Exception as exc:  # noqa: BLE001 - a fake must answer, never drop the socket
                    response = Response(500, f'{{"message":"fake engine error: {type(exc).__name__}"}}\n'.encode(),
                                        Headers([("Content-Type", "application/json")]))
                if not write_response(conn, request, response):
                    return
        finally:
            self.server.track(conn, False)
            try:
                rfile.close()
            except OSError:
                pass


class _ServerMixin:
    engine: Handler
    stopping = False

    def init_tracking(self) -> None:
        self._conns: set[Conn] = set()
        self._conns_lock = threading.Lock()

    def track(self, conn: Conn, add: bool) -> None:
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class TCPServer(_ServerMixin, socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class UnixServer(_ServerMixin, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 128


def parse_listen(listen: str) -> tuple[str, str | tuple[str, int]]:
    if listen.startswith("unix://"):
        return "unix", listen[len("unix://"):]
    if listen.startswith("tcp://"):
        hostport = listen[len("tcp://"):].rstrip("/")
        host, _, port = hostport.rpartition(":")
        return "tcp", (host.strip("[]") or "127.0.0.1", int(port or 0))
    raise ValueError(f"unsupported listen address {listen!r} (use unix:///path or tcp://host:port)")


class FakeServer:
    """A listening socket serving one engine (or wrapper) in a daemon thread."""

    def __init__(self, listen: str, engine: Handler) -> None:
        kind, address = parse_listen(listen)
        self.engine = engine
        self._socket_path: str | None = None
        server: _ServerMixin
        if kind == "unix":
            path = str(address)
            if os.path.exists(path):
                os.unlink(path)
            server = UnixServer(path, _ConnHandler)
            self._socket_path = path
            self.url = f"unix://{path}"
        else:
            server = TCPServer(address, _ConnHandler)  # type: ignore[arg-type]
            host, port = server.server_address[:2]  # type: ignore[misc]
            self.url = f"tcp://{host}:{port}"
        server.engine = engine
        server.init_tracking()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="fake-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        server = self._server
        if server.stopping:
            return
        server.stopping = True
        server.shutdown()  # type: ignore[attr-defined]
        self.engine.close()
        server.close_connections()
        server.server_close()  # type: ignore[attr-defined]
        if self._socket_path and os.path.exists(self._socket_path):
            try:
                os.unlink(self._socket_path)
            except OSError:
                pass
        time.sleep(0)  # let handler threads notice
