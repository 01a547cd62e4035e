"""Container I/O: logs, attach (hijacked, upgraded or websocket) and the detach keys."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from .container_model import Container, LogEntry, get_container, write_stdin
from .routing import Route, route
from .streams import RAW, WsReader, encode, pump_stdin, send_all, stream_content_type, ws_accept, ws_frame
from .util import detach_keys, parse_time, rfc3339
from .wire import ApiError, Conn, Headers, Response, stream_response

if TYPE_CHECKING:
    from .engine import Ctx
    from .state import State


# --- logs / attach ---------------------------------------------------------------------------
def _follow(state: State, container: Container, start: int, follow: bool, alive, until_ns: int | None = None,
            stop_on_exit: bool = True) -> Iterator[LogEntry]:
    """Log entries from index `start`; with follow, keep going until the container stops."""
    index = start
    while True:
        with state.cond:
            fresh = container.logs[index:]
            index += len(fresh)
            finished = (not container.running and container.status != "created") or container.removed \
                or state.closing
        for entry in fresh:
            if until_ns is not None and entry.ns > until_ns:
                return
            yield entry
        if not follow or (finished and stop_on_exit):
            with state.cond:
                if len(container.logs) == index:
                    return
            continue
        if not alive():
            return
        with state.cond:
            if len(container.logs) == index and not state.closing and (container.running or
                                                                        container.status == "created"):
                state.cond.wait(0.25)


def container_logs(ctx: Ctx) -> Response:
    state = ctx.state
    stdout, stderr = ctx.qbool("stdout"), ctx.qbool("stderr")
    if not (stdout or stderr):
        raise ApiError(400, "Bad parameters: you must choose at least one stream")
    follow, timestamps = ctx.qbool("follow"), ctx.qbool("timestamps")
    since = parse_time(ctx.q("since") or "0") if ctx.q("since") not in (None, "", "0") else None
    until = parse_time(ctx.q("until") or "0") if ctx.q("until") not in (None, "", "0") else None
    tail = ctx.q("tail") or "all"
    with state.lock:
        container = get_container(ctx.state, ctx.params["id"])
        tty = container.tty
        entries = list(container.logs)
        log_type = container.host_config.get("LogConfig", {}).get("Type", "json-file")
    if log_type == "none":
        raise ApiError(501, 'configured logging driver does not support reading')
    wanted = {1: stdout, 2: stderr}
    start = 0
    if tail not in ("all", "") and tail.lstrip("-").isdigit():
        count = int(tail)
        selected = [i for i, e in enumerate(entries) if wanted.get(e.stream)]
        start = selected[-count] if 0 < count <= len(selected) else (len(entries) if count == 0 else 0)
    until_ns = int(until * 1e9) if until is not None else None
    bad_stream = ctx.fault("bad-frame-stream-byte")
    short = ctx.fault("short-frame")

    def gen() -> Iterator[bytes]:
        yield b""
        for entry in _follow(state, container, start, follow, ctx.req.alive, until_ns):
            if not wanted.get(entry.stream):
                continue
            if since is not None and entry.ns < since * 1e9:
                continue
            data = entry.data
            if timestamps:
                # moby writes log times as jsonmessage.RFC3339NanoFixed: always nine fraction digits
                secs, nanos = divmod(entry.ns, 1_000_000_000)
                data = f"{rfc3339(secs * 1_000_000_000)[:-1]}.{nanos:09d}Z ".encode() + data
            if short and not tty:
                yield bytes([entry.stream, 0, 0, 0]) + (len(data) + 64).to_bytes(4, "big") + data
                return
            yield encode(7 if bad_stream else entry.stream, data, tty)

    # As moby 23+ getContainersLogs: raw-stream below 1.42, then multiplexed unless TTY (logs are not hijacked).
    return stream_response(gen(), stream_content_type(ctx.at_least("1.42"), tty))


DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p,ctrl-q, the Engine's default


def attach_keys(ctx: Ctx) -> bytes:
    """The detach sequence a request asks for (the Engine's default when it names none)."""
    text = ctx.q("detachKeys") or ""
    try:
        return detach_keys(text) if text else DEFAULT_DETACH_KEYS
    except ValueError:
        raise ApiError(400, f"Invalid detach keys ({text}) provided") from None


def hijacked_error(exc: ApiError) -> Response:
    """An attach error as moby's postContainersAttach writes it on the hijacked connection: the status line,
    the raw-stream label and the message as text (schemas/deviations/fake.yaml lists it)."""
    return Response(exc.status, f"{exc.message}\r\n".encode(), Headers([("Content-Type", RAW)]),
                    standard_headers="none")


def stdin_writer(state: State, container: Container, keys: bytes,
                 detach: Callable[[], None]) -> Callable[[bytes], None]:
    """Writes client bytes to the container's stdin; with a TTY the detach sequence ends the attach instead
    (moby container/stream/attach.go copyEscapable: a partial match is held back, then flushed on a mismatch)."""
    held = bytearray()

    def write(data: bytes) -> None:
        if not container.tty:
            write_stdin(state, container, data)
            return
        out = bytearray()
        for byte in data:
            if byte == keys[len(held)]:
                held.append(byte)
                if len(held) == len(keys):
                    held.clear()
                    if out:
                        write_stdin(state, container, bytes(out))
                    detach()
                    return
                continue
            out += held
            held.clear()
            if byte == keys[0]:
                held.append(byte)
            else:
                out.append(byte)
        if out:
            write_stdin(state, container, bytes(out))
    return write


def _attach_session(ctx: Ctx, container: Container, conn: Conn, start: int, logs: bool, stream: bool,
                    use_stdin: bool, wanted: dict[int, bool], encoder, keys: bytes) -> None:
    """The hijacked part of attach: optional log replay, live output from `start`, stdin pump."""
    state = ctx.state
    with state.lock:
        stdin_once = bool(container.config.get("StdinOnce"))
    ended = threading.Event()
    if use_stdin and container.config.get("OpenStdin"):
        container.stdin_attached = True

        def on_eof() -> None:
            # Like the Engine: StdinOnce closes the process's stdin, otherwise the attach ends.
            if stdin_once and container.stdin is not None:
                container.stdin.close()
            elif not container.tty or True:
                ended.set()
                state.notify()
        def detach() -> None:
            ended.set()
            state.notify()
        pump_stdin(conn, stdin_writer(state, container, keys, detach), on_eof)

    def output() -> Iterator[bytes]:
        if logs:
            with state.lock:
                past = list(container.logs[:start])
            for entry in past:
                if wanted.get(entry.stream):
                    yield encoder(entry.stream, entry.data)
        if not stream:
            return
        alive = lambda: not conn.hung_up() and not ended.is_set()  # noqa: E731
        for entry in _follow(state, container, start, True, alive):
            if wanted.get(entry.stream):
                yield encoder(entry.stream, entry.data)
            if ended.is_set():
                return

    send_all(conn, output())


def container_attach(ctx: Ctx) -> Response:
    state = ctx.state
    try:
        keys = attach_keys(ctx)
        with state.lock:
            container = get_container(ctx.state, ctx.params["id"])
    except ApiError as exc:
        return hijacked_error(exc)
    with state.lock:
        tty = container.tty
        start = len(container.logs)  # attached from now on, even if output comes before the hijack runs
    logs, stream = ctx.qbool("logs"), ctx.qbool("stream")
    wanted = {1: ctx.qbool("stdout"), 2: ctx.qbool("stderr")}
    use_stdin = ctx.qbool("stdin")
    if not (logs or stream):
        raise ApiError(400, "Bad parameters: you must choose at least one stream")
    state.emit("container", "attach", container.id, container.attrs(state))
    upgrade = ctx.req.wants_upgrade() and not ctx.fault("no-101-on-upgrade")
    content_type = stream_content_type(ctx.at_least("1.42") and upgrade, tty)
    headers = Headers([("Content-Type", content_type)])
    if upgrade:
        headers["Connection"] = "Upgrade"
        headers["Upgrade"] = "tcp"

    def hijack(conn: Conn) -> None:
        _attach_session(ctx, container, conn, start, logs, stream, use_stdin, wanted,
                        lambda s, d: encode(s, d, tty), keys)
    return Response(101 if upgrade else 200, b"", headers, "UPGRADED" if upgrade else "OK", hijack,
                    standard_headers="none")


def container_attach_ws(ctx: Ctx) -> Response:
    state = ctx.state
    keys = attach_keys(ctx)  # refused before the websocket handshake: a JSON error (moby wsContainersAttach)
    with state.lock:
        container = get_container(ctx.state, ctx.params["id"])
        start = len(container.logs)
    key = ctx.req.headers.get("Sec-WebSocket-Key")
    if (ctx.req.headers.get("Upgrade") or "").lower() != "websocket" or not key:
        raise ApiError(400, "Bad Request: not a websocket handshake")
    logs, stream = ctx.qbool("logs"), ctx.qbool("stream")
    wanted = {1: ctx.qbool("stdout"), 2: ctx.qbool("stderr")}
    if not any(wanted.values()) and not ctx.qbool("stdin"):
        wanted = {1: True, 2: True}
    use_stdin = ctx.qbool("stdin")
    state.emit("container", "attach", container.id, container.attrs(state))
    headers = Headers([("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", ws_accept(key))])

    def hijack(conn: Conn) -> None:
        ended = threading.Event()
        if use_stdin and container.config.get("OpenStdin"):
            write = stdin_writer(state, container, keys, ended.set)

            def pump() -> None:
                reader = WsReader(conn)
                while True:
                    item = reader.next()
                    if item is None or item[0] == 0x8:
                        break
                    if item[0] == 0x9:
                        conn.write(ws_frame(item[1], 0xA))
                    elif item[0] in (0x0, 0x1, 0x2):
                        write(item[1])
                if container.config.get("StdinOnce") and container.stdin is not None:
                    container.stdin.close()
                ended.set()
                state.notify()
            threading.Thread(target=pump, daemon=True).start()

        def output() -> Iterator[bytes]:
            with state.lock:
                past = list(container.logs[:start]) if logs else []
            for entry in past:
                if wanted.get(entry.stream):
                    yield ws_frame(entry.data)
            if stream:
                alive = lambda: not conn.hung_up() and not ended.is_set()  # noqa: E731
                for entry in _follow(state, container, start, True, alive):
                    if wanted.get(entry.stream):
                        yield ws_frame(entry.data)
            yield ws_frame(b"\x03\xe8", 0x8)  # close, 1000 normal
        send_all(conn, output())
    return Response(101, b"", headers, "Switching Protocols", hijack, standard_headers="none")


# The routes this module serves, in match order (conformance/fake/routes.py builds the router).
ROUTES: tuple[Route, ...] = (
    route("GET", "/containers/{id}/logs", "ContainerLogs", container_logs),
    route("POST", "/containers/{id}/attach", "ContainerAttach", container_attach),
    route("GET", "/containers/{id}/attach/ws", "ContainerAttachWebsocket", container_attach_ws),
)
