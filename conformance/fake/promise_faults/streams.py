"""Promise faults of the fake: container streams and files, and exec (see conformance/fake/promise_faults/__init__.py).

What an edit of a JSON body cannot say: stdio frames swapped or reordered, a stream that stays open, a log
line's timestamp, a query parameter or a body field the handler ignores, a path-stat header, a tar's members.
Each breaks one promise of suites/promises/container-streams.yaml or exec.yaml and keeps every schema.
"""

from __future__ import annotations

import base64
import io
import json
import re
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from conformance import edits

from ..fault_types import Fault, Hook, RequestHook, drop_query, set_query
from ..streams import frame
from ..wire import Conn, Response, json_bytes

if TYPE_CHECKING:
    from ..engine import Ctx

Frames = Callable[[list[tuple[int, bytes]]], list[tuple[int, bytes]]]
HOLD_SECONDS = 5.0  # longer than the checkers wait for a stream to end (STREAM_LIMITS in the checkers)


# --- requests the handler sees differently -----------------------------------------------------

def _body_edit(edit: Callable[[dict[str, Any]], None]) -> RequestHook:
    """The JSON request body as `edit` leaves it (a field dropped or overridden)."""
    def before(ctx: Ctx) -> None:
        try:
            body = json.loads(ctx.req.body or b"{}")
        except ValueError:
            return
        if isinstance(body, dict):
            edit(body)
            ctx.req.body = json.dumps(body).encode()
    return before


# --- stdio frames ------------------------------------------------------------------------------

def _split_frames(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Whole stdcopy frames of `data` and the bytes after them."""
    out, offset = [], 0
    while len(data) - offset >= 8:
        size = int.from_bytes(data[offset + 4:offset + 8], "big")
        if len(data) - offset - 8 < size:
            break
        out.append((data[offset], data[offset + 8:offset + 8 + size]))
        offset += 8 + size
    return out, data[offset:]


def _swap(frames: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    return [({1: 2, 2: 1}.get(s, s), p) for s, p in frames]


def _reverse(frames: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """Every stream's lines in reverse order (each line one frame again)."""
    lines = [(s, line) for s, p in frames for line in p.splitlines(keepends=True)]
    return list(reversed(lines))


def _log_stream(transform: Frames) -> Hook:
    """ContainerLogs (not followed, not TTY): the whole stream's frames through `transform`."""
    def hook(ctx: Ctx, response: Response) -> Response:
        if response.status != 200 or not response.streaming or ctx.req.qbool("follow"):
            return response
        chunks: Iterable[bytes] = response.body  # type: ignore[assignment]

        def body() -> Iterator[bytes]:
            frames, rest = _split_frames(b"".join(chunks))
            yield b"".join(frame(s, p) for s, p in transform(frames)) + rest
        response.body = body()
        return response
    return hook


def _timestamps(rewrite: Callable[[str], str]) -> Frames:
    """Each log line's leading timestamp as `rewrite` writes it."""
    def transform(frames: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        out = []
        for stream, payload in frames:
            stamp, sep, rest = payload.partition(b" ")
            out.append((stream, rewrite(stamp.decode()).encode() + sep + rest))
        return out
    return transform


class _FrameConn:
    """A hijacked connection whose written stdcopy frames pass through `transform` (all at once at the end
    when `whole`, for a transform that reorders)."""

    def __init__(self, conn: Conn, transform: Frames, whole: bool) -> None:
        self.conn, self.transform, self.whole = conn, transform, whole
        self.pending = b""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)

    def write(self, data: bytes) -> bool:
        self.pending += data
        if self.whole:
            return not self.conn.closed
        frames, self.pending = _split_frames(self.pending)
        return self.conn.write(b"".join(frame(s, p) for s, p in self.transform(frames)))

    def flush(self) -> None:
        frames, rest = _split_frames(self.pending)
        self.pending = b""
        self.conn.write(b"".join(frame(s, p) for s, p in self.transform(frames)) + rest)


def _hijack_frames(transform: Frames, whole: bool = False) -> Hook:
    def hook(ctx: Ctx, response: Response) -> Response:
        original = response.hijack
        if original is None:
            return response

        def hijack(conn: Conn) -> None:
            wrapped = _FrameConn(conn, transform, whole)
            try:
                original(wrapped)  # type: ignore[arg-type]
            finally:
                wrapped.flush()
        response.hijack = hijack
        return response
    return hook


class _NoInput:
    """A hijacked connection whose client seems to send nothing (its stdin ends at once)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)

    def read(self, size: int = 65536) -> bytes:
        return b""


def _attach_without_stdin(ctx: Ctx, response: Response) -> Response:
    original = response.hijack
    if original is not None:
        response.hijack = lambda conn: original(_NoInput(conn))  # type: ignore[arg-type]
    return response


def _hold(alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HOLD_SECONDS
    while time.monotonic() < deadline and alive():
        time.sleep(0.05)


def _attach_stays_open(ctx: Ctx, response: Response) -> Response:
    """The attach stream outlives the container: the connection stays open after its output."""
    original = response.hijack
    if original is not None:
        def hijack(conn: Conn) -> None:
            original(conn)
            _hold(lambda: not conn.hung_up())
        response.hijack = hijack
    return response


def _follow_stays_open(ctx: Ctx, response: Response) -> Response:
    """Followed logs that do not end when the container stops."""
    if response.status != 200 or not response.streaming or not ctx.req.qbool("follow"):
        return response
    chunks: Iterable[bytes] = response.body  # type: ignore[assignment]

    def body() -> Iterator[bytes]:
        yield from chunks
        _hold(ctx.req.alive)
    response.body = body()
    return response


# --- path stats and tars -------------------------------------------------------------------------

def _stat_edit(pointer: str, edit: str) -> Hook:
    """X-Docker-Container-Path-Stat with a named edit of its JSON (still base64 JSON of the same fields)."""
    def hook(ctx: Ctx, response: Response) -> Response:
        value = response.headers.get("X-Docker-Container-Path-Stat")
        if response.status != 200 or not value:
            return response
        stat = json.loads(base64.b64decode(value))
        changed = edits.apply(stat, pointer, edit)[0]
        response.headers["X-Docker-Container-Path-Stat"] = base64.b64encode(
            json.dumps(changed, separators=(",", ":")).encode()).decode()
        return response
    return hook


def _tar_edit(edit: Callable[[tarfile.TarInfo, bytes], tuple[tarfile.TarInfo, bytes]]) -> Hook:
    """A tar body rebuilt with every member through `edit` (still a whole tar)."""
    def hook(ctx: Ctx, response: Response) -> Response:
        if response.status != 200 or response.streaming or not response.body:
            return response
        source = tarfile.open(fileobj=io.BytesIO(bytes(response.body)), mode="r:")  # type: ignore[arg-type]
        buf = io.BytesIO()
        with source, tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as out:
            for member in source.getmembers():
                handle = source.extractfile(member) if member.isfile() else None
                info, data = edit(member, handle.read() if handle else b"")
                info.size = len(data) if info.isfile() else 0
                out.addfile(info, io.BytesIO(data) if info.isfile() else None)
        response.body = buf.getvalue()
        return response
    return hook


def _symlink_as_file(info: tarfile.TarInfo, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    if info.issym():
        info.type, info.linkname = tarfile.REGTYPE, ""
    return info, data


def _reversed_bytes(info: tarfile.TarInfo, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return info, data[::-1]


def _mode_0644(info: tarfile.TarInfo, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    if info.isfile():
        info.mode = 0o644
    return info, data


def _emptied(info: tarfile.TarInfo, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return info, b""


def _missing_is_ok(ctx: Ctx, response: Response) -> Response:
    """PUT into a path that does not exist answers as if it had extracted the tar."""
    if response.status == 404:
        response.status, response.reason, response.body = 200, None, b""
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response


# --- exec ----------------------------------------------------------------------------------------

def _ended_execs_listed(ctx: Ctx, response: Response) -> Response:
    """ContainerInspect ExecIDs that keep the container's ended execs."""
    if response.status != 200 or response.streaming:
        return response
    data = json.loads(response.body)  # type: ignore[arg-type]
    with ctx.state.lock:
        ended = [e.id for e in ctx.state.execs.values() if e.container_id == data.get("Id") and e.done]
    data["ExecIDs"] = list(dict.fromkeys([*(data.get("ExecIDs") or []), *ended])) or None
    response.body = json_bytes(data)
    return response


def _fault(description: str, where: str, promise: str, **kwargs: Any) -> Fault:
    return Fault(description, where, catches=f"promise:{promise}", **kwargs)


FAULTS: dict[str, Fault] = {
    # logs
    "streams-logs-swap-streams": _fault("logs: stdout lines in stderr frames and stderr lines in stdout frames",
                                        "ContainerLogs", "container-logs-streams-apart", hook=_log_stream(_swap)),
    "streams-logs-reverse-lines": _fault("logs: the lines of each stream in reverse order", "ContainerLogs",
                                         "container-logs-order", hook=_log_stream(_reverse)),
    "streams-logs-add-stderr": _fault("logs: stderr returned although not asked for", "ContainerLogs",
                                      "container-logs-stdout-only", before=set_query("stderr", "1")),
    "streams-logs-second-timestamps": _fault(
        "logs: timestamps without their fraction of a second", "ContainerLogs", "container-logs-timestamps-format",
        hook=_log_stream(_timestamps(lambda t: re.sub(r"\.\d+(?=Z|[+-]\d\d:\d\d$)", "", t)))),
    "streams-logs-timestamps-2001": _fault(
        "logs: timestamps of another year than the line's", "ContainerLogs", "container-logs-timestamps-when-written",
        hook=_log_stream(_timestamps(lambda t: re.sub(r"^\d{4}", "2001", t)))),
    "streams-logs-ignore-tail": _fault("logs: the tail parameter ignored", "ContainerLogs", "container-logs-tail",
                                       before=drop_query("tail")),
    "streams-logs-ignore-since": _fault("logs: the since parameter ignored", "ContainerLogs", "container-logs-since",
                                        before=drop_query("since")),
    "streams-logs-ignore-until": _fault("logs: the until parameter ignored", "ContainerLogs", "container-logs-until",
                                        before=drop_query("until")),
    "streams-logs-follow-stays-open": _fault("logs: follow=1 stays open after the container stopped",
                                             "ContainerLogs", "container-logs-follow-ends", hook=_follow_stays_open),
    # attach
    "streams-attach-swap-streams": _fault("attach: stdout and stderr frames swapped", "ContainerAttach",
                                          "container-attach-streams-apart", hook=_hijack_frames(_swap)),
    "streams-attach-no-stdin": _fault("attach: what the client sends never reaches the process's stdin",
                                      "ContainerAttach", "container-attach-stdin", hook=_attach_without_stdin),
    "streams-attach-stays-open": _fault("attach: the stream stays open after the container exited",
                                        "ContainerAttach", "container-attach-ends-with-container",
                                        hook=_attach_stays_open),
    # archive, export
    "streams-stat-size-off": _fault("path stat: size one more than the file's", "ContainerArchiveInfo",
                                    "container-archive-stat-file", hook=_stat_edit("/size", "add:1")),
    "streams-stat-mode-0644": _fault("path stat: mode 0644 whatever the file's", "ContainerArchiveInfo",
                                     "container-archive-stat-file-mode", hook=_stat_edit("/mode", "set:420")),
    "streams-stat-dir-mode-plain": _fault("path stat: a directory's mode without the directory bit",
                                          "ContainerArchiveInfo", "container-archive-stat-dir-mode",
                                          hook=_stat_edit("/mode", "set:488")),
    "streams-stat-mtime-2001": _fault("path stat: an mtime that is not the file's", "ContainerArchiveInfo",
                                      "container-archive-stat-mtime",
                                      hook=_stat_edit("/mtime", 'set:"2001-01-01T00:00:00Z"')),
    "streams-stat-no-link-target": _fault("path stat: a symlink without its linkTarget", "ContainerArchiveInfo",
                                          "container-archive-stat-symlink", hook=_stat_edit("/linkTarget", "empty")),
    "streams-archive-symlink-as-file": _fault("archive: a symlink sent as an empty regular file", "ContainerArchive",
                                              "container-archive-get-symlink", hook=_tar_edit(_symlink_as_file)),
    "streams-archive-bytes-reversed": _fault("archive: files' bytes in reverse order", "ContainerArchive",
                                             "container-archive-roundtrip-bytes", hook=_tar_edit(_reversed_bytes)),
    "streams-archive-mode-0644": _fault("archive: every file with mode 0644", "ContainerArchive",
                                        "container-archive-roundtrip-mode", hook=_tar_edit(_mode_0644)),
    "streams-put-missing-ok": _fault("archive PUT into a missing directory answers 200", "PutContainerArchive",
                                     "container-archive-put-missing-404", hook=_missing_is_ok),
    "streams-put-ignore-no-overwrite": _fault("archive PUT ignores noOverwriteDirNonDir", "PutContainerArchive",
                                              "container-archive-no-overwrite-dir-non-dir",
                                              before=drop_query("noOverwriteDirNonDir")),
    "streams-export-empty-files": _fault("export: every file of the tar empty", "ContainerExport",
                                         "container-export-files", hook=_tar_edit(_emptied)),
    # exec
    "exec-output-swap-streams": _fault("exec start: stdout and stderr frames swapped", "ExecStart",
                                       "exec-output-streams-apart", hook=_hijack_frames(_swap)),
    "exec-output-reverse-lines": _fault("exec start: the output's lines in reverse order", "ExecStart",
                                        "exec-output-order", hook=_hijack_frames(_reverse, whole=True)),
    "exec-ignore-user": _fault("exec create: the User field ignored", "ContainerExec", "exec-user-honoured",
                               before=_body_edit(lambda b: b.pop("User", None))),
    "exec-ignore-working-dir": _fault("exec create: the WorkingDir field ignored", "ContainerExec",
                                      "exec-working-dir-honoured",
                                      before=_body_edit(lambda b: b.pop("WorkingDir", None))),
    "exec-ignore-env": _fault("exec create: the Env field ignored", "ContainerExec", "exec-env-honoured",
                              before=_body_edit(lambda b: b.pop("Env", None))),
    "exec-no-container-env": _fault("exec create: the container's environment not passed on (DAC_PROMISE blanked)",
                                    "ContainerExec", "exec-env-inherited",
                                    before=_body_edit(lambda b: b.update(Env=[*(b.get("Env") or []), "DAC_PROMISE="]))),
    "exec-ids-keep-ended": _fault("container inspect: ExecIDs still lists execs that ended", "ContainerInspect",
                                  "exec-not-listed-after-exit", hook=_ended_execs_listed),
}
