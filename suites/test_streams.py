"""Streams on the wire: stdio frames, hijacked and websocket attach, JSON streams, tar bodies.

Every test runs at each selected API version; each records its named checks (mux_frames,
raw_stream, upgrade_101, json_lines, json_seq, tar_body, path_stat_header, ...) with engine.record
so they show in the matrix.  Every read is bounded (fixture `limits`).
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from conformance import skips
from conformance import streams as st
from conformance.checks import Problem, merge_problems, run_checks, status_expected
from conformance.exchange import Exchange
from conformance.scenarios import tar_bytes
from conformance.spec import Operation
from conformance.wire import (
    Conn,
    Limits,
    RawExchange,
    ReadResult,
    read_chunked,
    request,
    ws_accept,
    ws_encode,
    ws_frame_size,
    ws_handshake_headers,
    ws_key,
    ws_read_frame,
)
from plugins.calls import EngineCall
from suites.conftest import ECHO_LOOP, op_at, versioned

UPGRADE_TCP = {"Connection": "Upgrade", "Upgrade": "tcp"}
STDIO_QUERY = "?stream=1&stdin=1&stdout=1&stderr=1"


# --- logs -----------------------------------------------------------------------------------

def test_logs_multiplexed(engine: EngineCall, exited_container: str) -> None:
    op, ex = engine.send("ContainerLogs", {"id": exited_container}, query={"stdout": True, "stderr": True})
    engine.check(op, "stdio-frames", ex, (200,),
            mux_frames=st.mux_frames(ex.body, expect={1: b"out\n", 2: b"err\n"}),
            stream_content_type=st.stream_content_type(op.produces, ex.media_type, tty=False))


def test_logs_tty_raw(engine: EngineCall, tty_exited_container: str) -> None:
    op, ex = engine.send("ContainerLogs", {"id": tty_exited_container}, query={"stdout": True, "stderr": True})
    engine.check(op, "tty-raw", ex, (200,), raw_stream=st.raw_stream(ex.body, b"out\n"),
            stream_content_type=st.stream_content_type(op.produces, ex.media_type, tty=True))


def test_logs_timestamps(engine: EngineCall, lines_container: str) -> None:
    op, ex = engine.send("ContainerLogs", {"id": lines_container}, query={"stdout": True, "timestamps": True})
    frames = st.mux_frames(ex.body)
    lines = st.split_lines(st.parse_mux(ex.body).payload(1))
    options = [] if len(lines) == 5 else [Problem("log_options", f"expected 5 lines, got {lines}")]
    engine.check(op, "timestamps", ex, (200,), mux_frames=frames, log_timestamps=st.log_timestamps(lines),
            log_options=options)


def test_logs_tail(engine: EngineCall, lines_container: str) -> None:
    op, ex = engine.send("ContainerLogs", {"id": lines_container}, query={"stdout": True, "tail": "2"})
    lines = st.split_lines(st.parse_mux(ex.body).payload(1))
    options = [] if lines == [b"line4", b"line5"] else [Problem("log_options", f"tail=2 gave {lines}")]
    engine.check(op, "tail", ex, (200,), mux_frames=st.mux_frames(ex.body), log_options=options)


def test_logs_since_until(engine: EngineCall, lines_container: str) -> None:
    """since after the output gives nothing; until (1.35+) before it gives nothing; since=0 gives all."""
    windows: list[tuple[str, dict[str, Any], int]] = [("since-future", {"since": int(time.time()) + 3600}, 0),
                                                      ("since-zero", {"since": 0}, 5)]
    if engine.operation("ContainerLogs").param("query", "until"):
        windows.append(("until-past", {"until": 1}, 0))
    for scenario, window, count in windows:
        op, ex = engine.send("ContainerLogs", {"id": lines_container}, query={"stdout": True, **window})
        lines = st.split_lines(st.parse_mux(ex.body).payload(1))
        options = [] if len(lines) == count else [Problem("log_options", f"{window}: expected {count} lines, "
                                                                         f"got {lines}")]
        engine.check(op, scenario, ex, (200,), mux_frames=st.mux_frames(ex.body), log_options=options)


def test_logs_follow_ends_with_container(engine: EngineCall, wire: Any, limits: Limits, slow_container: str) -> None:
    """follow=1 streams output as it comes and ends when the container exits (within the limit)."""
    op = engine.operation("ContainerLogs")
    path = versioned(engine, op, {"id": slow_container}, "?follow=1&stdout=1&stderr=1")
    raw = request(wire(), op.id, engine.version, "GET", path, limits=limits)
    options = []
    if raw.body.stop != "done" and raw.body.stop != "eof":
        options.append(Problem("log_follow", raw.body.describe("follow=1 on a container that exits")))
    lines = st.split_lines(st.parse_mux(raw.body.data, complete=False).payload(1))
    if lines != [b"a", b"b"]:
        options.append(Problem("log_follow", f"follow=1 gave {lines}, expected [a, b]"))
    engine.check(op, "follow", raw.exchange, (200,), mux_frames=st.mux_frames(raw.body.data), log_follow=options)


# --- hijacked attach and exec -----------------------------------------------------------------

def stdio_roundtrip(conn: Conn, tty: bool, limits: Limits, token: bytes) -> tuple[ReadResult, dict[str, list[Problem]]]:
    """Write a line to stdin; read until the echo comes back on stdout (and stderr without a TTY)."""
    conn.send(token + b"\n")
    out, err = b"o:" + token, b"e:" + token
    if tty:
        result = conn.read_until(lambda buf: out in buf and err in buf, limits)
        problems = {"raw_stream": st.raw_stream(result.data, out)}
    else:
        def echoed(buf: bytes) -> bool:
            parsed = st.parse_mux(buf, complete=False)
            return bool(parsed.error) or (out in parsed.payload(1) and err in parsed.payload(2))

        result = conn.read_until(echoed, limits)
        problems = {"mux_frames": st.mux_frames(result.data, complete=False, expect={1: out, 2: err})}
    problems["stdin_echo"] = [] if result.stop == "done" else [
        Problem("stdin_echo", result.describe(f"stdin {token!r} written, waiting for its echo"))]
    return result, problems


def hijack(engine: EngineCall, conn: Conn, op: Operation, path: str, limits: Limits, upgrade: bool,
           body: bytes | None = None) -> tuple[RawExchange, dict[str, list[Problem]]]:
    headers = dict(UPGRADE_TCP) if upgrade else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    raw = request(conn, op.id, engine.version, "POST", path, headers=headers, body=body, limits=limits,
                  read_body_too=False)
    status = raw.head.status if raw.head else 0
    problems = run_checks(engine.spec, op, raw.exchange, ["status_declared"]) if raw.head else {
        "complete_read": [Problem("complete_read", raw.body.describe("no response head"))]}
    if upgrade:
        problems["upgrade_101"] = st.upgrade_101(status, raw.exchange.headers, "tcp", raw.body.data)
    else:
        problems["status_expected"] = status_expected(op, raw.exchange, (200,))
    return raw, problems


@pytest.mark.parametrize("upgrade", [True, False], ids=["upgrade", "plain"])
@pytest.mark.parametrize("tty", [False, True], ids=["mux", "tty"])
def test_attach_hijack(engine: EngineCall, wire: Any, limits: Limits, request: pytest.FixtureRequest,
                       tty: bool, upgrade: bool) -> None:
    cid = request.getfixturevalue("tty_echo_container" if tty else "echo_container")
    op = engine.operation("ContainerAttach")
    conn = wire()
    raw, problems = hijack(engine, conn, op, versioned(engine, op, {"id": cid}, STDIO_QUERY), limits, upgrade)
    if raw.head and raw.head.status in (101, 200):
        problems["stream_content_type"] = st.stream_content_type(op.produces, raw.head.media_type, tty, upgrade)
        result, more = stdio_roundtrip(conn, tty, limits, b"attach-" + engine.version.encode())
        problems = merge_problems(problems, more)
        raw.exchange.body = result.data
    engine.record(op, f"{'upgrade' if upgrade else 'plain'}-{'tty' if tty else 'mux'}", raw.exchange, problems)


@pytest.mark.parametrize("tty", [False, True], ids=["mux", "tty"])
def test_exec_start_hijack(engine: EngineCall, wire: Any, limits: Limits, sdk: Any, echo_container: str,
                           tty: bool) -> None:
    exec_id = sdk.exec_create(echo_container, ECHO_LOOP, stdin=True, tty=tty)["Id"]
    op = engine.operation("ExecStart")
    conn = wire()
    body = json.dumps({"Detach": False, "Tty": tty}).encode()
    raw, problems = hijack(engine, conn, op, versioned(engine, op, {"id": exec_id}), limits, True, body)
    if raw.head and raw.head.status == 101:
        problems["stream_content_type"] = st.stream_content_type(op.produces, raw.head.media_type, tty)
        result, more = stdio_roundtrip(conn, tty, limits, b"exec-" + engine.version.encode())
        problems = merge_problems(problems, more)
        raw.exchange.body = result.data
        if not tty:
            # Closing our write side is the process's stdin EOF: the loop ends, so must the stream.
            conn.shutdown_write()
            rest = conn.read_until(None, limits)
            raw.exchange.body += rest.data
            problems["stream_end"] = [] if rest.stop == "eof" else [
                Problem("stream_end", rest.describe("stdin closed, the exec's stream should end"))]
            problems["mux_frames"] += st.mux_frames(result.data + rest.data)
    engine.record(op, f"upgrade-{'tty' if tty else 'mux'}", raw.exchange, problems)


def test_exec_start_plain(engine: EngineCall, sdk: Any, running_container: str) -> None:
    """Without upgrade headers: 200 and the exec's output as frames, ending with the process."""
    exec_id = sdk.exec_create(running_container, ["sh", "-c", "echo out; echo err >&2"])["Id"]
    op, ex = engine.send("ExecStart", {"id": exec_id}, json_body={"Detach": False, "Tty": False})
    engine.check(op, "plain-mux", ex, (200,), mux_frames=st.mux_frames(ex.body, expect={1: b"out\n", 2: b"err\n"}),
            stream_content_type=st.stream_content_type(op.produces, ex.media_type, tty=False, upgraded=False))


def test_attach_websocket(engine: EngineCall, wire: Any, limits: Limits, echo_container: str) -> None:
    op = engine.operation("ContainerAttachWebsocket")
    path = versioned(engine, op, {"id": echo_container}, STDIO_QUERY)
    key = ws_key()
    conn = wire()
    raw = request(conn, op.id, engine.version, "GET", path, headers=ws_handshake_headers(key), limits=limits,
                  read_body_too=False)
    status = raw.head.status if raw.head else 0
    problems = {"upgrade_101": st.ws_upgrade(status, raw.exchange.headers, ws_accept(key))}
    if status == 101:
        token = b"ws-" + engine.version.encode()
        conn.send(ws_encode(0x1, token + b"\n"))
        payload, frames, error = b"", [], None
        deadline = time.monotonic() + limits.seconds
        offset = 0
        while b"o:" + token not in payload:
            frame, error = ws_read_frame(conn, deadline, offset)
            if frame is None:
                break
            frames.append(frame)
            offset += ws_frame_size(frame)
            payload += frame.payload if frame.opcode in (0x0, 0x1, 0x2) else b""
        problems["ws_frames"] = [Problem("ws_frames", f"websocket stream: {error} after {len(frames)} frames "
                                                      f"({payload[:80]!r})")] if error else []
        problems["stdin_echo"] = [] if b"o:" + token in payload else [
            Problem("stdin_echo", f"no echo of {token!r} in {len(frames)} websocket frames: {payload[:120]!r}")]
        raw.exchange.body = payload
        conn.send(ws_encode(0x8, b"\x03\xe8"))
    engine.record(op, "websocket", raw.exchange, problems)


# --- session ---------------------------------------------------------------------------------

def test_session_upgrade(engine: EngineCall, wire: Any, limits: Limits) -> None:
    """POST /session with Upgrade: h2c: 101, then the Engine speaks HTTP/2 first (it calls back the client)."""
    op = engine.operation("Session")
    conn = wire()
    headers = {"Connection": "Upgrade", "Upgrade": "h2c", "X-Docker-Expose-Session-Name": "docker-api-conformance",
               # the Engine refuses a session id it already has: one per run, worker and version
               "X-Docker-Expose-Session-Uuid": f"dac-{engine.state.run_id}-{engine.state.worker}-{engine.version}",
               "X-Docker-Expose-Session-Sharedkey": ""}
    raw = request(conn, op.id, engine.version, "POST", versioned(engine, op, {}), headers=headers, limits=limits,
                  read_body_too=False)
    status = raw.head.status if raw.head else 0
    problems = run_checks(engine.spec, op, raw.exchange, ["status_declared"]) if raw.head else {
        "complete_read": [Problem("complete_read", raw.body.describe("no response head"))]}
    problems["upgrade_101"] = st.upgrade_101(status, raw.exchange.headers, "h2c", raw.body.data)
    if status == 101:
        preface = len(st.H2_PREFACE) + 9
        result = conn.read_until(lambda buf: len(buf) >= preface, limits)
        problems["h2c_session"] = st.h2c_session(result.data)
        raw.exchange.body = result.data
    engine.record(op, "upgrade", raw.exchange, problems)


# --- events ---------------------------------------------------------------------------------

EVENT_FILTERS = {
    "type": lambda lc: {"type": ["container"], "label": [lc["label"]]},
    "container": lambda lc: {"container": [lc["id"]]},
    "label": lambda lc: {"label": [lc["label"]]},
    "event": lambda lc: {"event": ["start"], "label": [lc["label"]]},
}


def _events(engine: EngineCall, lifecycle: dict[str, Any], filters: dict[str, list[str]],
            headers: dict[str, str] | None = None) -> tuple[Operation, Exchange]:
    query = {"since": f"{lifecycle['since']:.3f}", "until": f"{lifecycle['until']:.3f}", "filters": filters}
    return engine.send("SystemEvents", query=query, headers=headers)  # the window is closed: no wait needed


@pytest.mark.parametrize("filter_name", list(EVENT_FILTERS))
def test_events_filtered(engine: EngineCall, container_lifecycle: dict[str, Any], filter_name: str) -> None:
    filters = EVENT_FILTERS[filter_name](container_lifecycle)
    op, ex = _events(engine, container_lifecycle, filters)
    records, problems = st.json_lines(ex.body)
    shape = [p for i, e in enumerate(records) for p in st.event_shape(e, i)]
    expected = ["start"] if filter_name == "event" else ["create", "start", "die", "destroy"]
    engine.check(op, f"filter-{filter_name}", ex, (200,), json_lines=problems, event_shape=shape,
            event_filter=st.event_filter(records, filters),
            event_sequence=st.event_sequence(records, container_lifecycle["id"], expected))


NEGOTIATED = {"application/json-seq": st.json_seq, "application/x-ndjson": st.json_lines,
              "application/jsonl": st.json_lines}


@pytest.mark.parametrize("media", list(NEGOTIATED))
def test_events_media_type(engine: EngineCall, container_lifecycle: dict[str, Any], media: str) -> None:
    """Where the spec lists several event media types, Accept picks the framing (json-seq uses RS)."""
    op = engine.operation("SystemEvents")
    if media not in op.produces:
        skips.skip(skips.NOT_IN_SPEC, f"API {engine.version} does not declare {media} for SystemEvents "
                   f"(produces: {op.produces})")
    op, ex = _events(engine, container_lifecycle, {"container": [container_lifecycle["id"]]}, {"Accept": media})
    check = "json_seq" if media == "application/json-seq" else "json_lines"
    records, framing = NEGOTIATED[media](ex.body)
    media_problems = [] if ex.media_type == media else [
        Problem("stream_content_type", f"Accept: {media} answered with Content-Type {ex.media_type or '(none)'!r}")]
    engine.check(op, f"accept-{media.split('/')[1]}", ex, (200,), stream_content_type=media_problems,
            **{check: framing + ([] if records else [Problem(check, "no events in the window")])})


# --- stats ----------------------------------------------------------------------------------

def _read_time(value: Any) -> tuple[datetime, int] | None:
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})", str(value))
    if not match:
        return None
    base = datetime.fromisoformat(match[1] + ("+00:00" if match[3] == "Z" else match[3]))
    return base.astimezone(timezone.utc), int((match[2] or "0").ljust(9, "0"))


def test_stats_single(engine: EngineCall, running_container: str) -> None:
    op, ex = engine.send("ContainerStats", {"id": running_container}, query={"stream": False})
    _, problems = st.single_json_object(ex.body)
    engine.check(op, "stream-false", ex, (200,), single_json_object=problems)
    if op.param("query", "one-shot"):
        op, ex = engine.send("ContainerStats", {"id": running_container}, query={"stream": False, "one-shot": True})
        _, problems = st.single_json_object(ex.body)
        engine.check(op, "one-shot", ex, (200,), single_json_object=problems)


def test_stats_stream(engine: EngineCall, wire: Any, limits: Limits, running_container: str) -> None:
    """stream=1 yields samples, each a JSON object, with `read` increasing; we read two and hang up."""
    op = engine.operation("ContainerStats")
    path = versioned(engine, op, {"id": running_container}, "?stream=1")
    conn = wire()
    raw = request(conn, op.id, engine.version, "GET", path, limits=limits, read_body_too=False)
    samples: list[Any] = []
    problems: dict[str, list[Problem]] = {"stats_samples": []}
    if raw.head and raw.head.status == 200:
        # An endless chunked stream: stop after two records (they come about a second apart).
        body = read_chunked(conn, limits, done=lambda out: out.count(b"\n") >= 2)
        collected = body.data
        raw.exchange.body = collected
        samples, problems["json_lines"] = st.json_lines(collected, complete=False)
        if len(samples) < 2:
            problems["stats_samples"].append(Problem("stats_samples", f"fewer than 2 samples within "
                                                                      f"{limits.seconds:.0f} s: {collected[:120]!r}"))
        reads = [_read_time(s.get("read")) for s in samples[:2]]
        if len(reads) == 2 and (None in reads or not reads[0] < reads[1]):
            problems["stats_samples"].append(Problem("stats_samples", "`read` does not increase: "
                                                     f"{[s.get('read') for s in samples[:2]]}"))
    engine.check(op, "stream-true", raw.exchange, (200,), **problems)


# --- progress streams -----------------------------------------------------------------------

def _progress(engine: EngineCall, op: Operation, scenario: str, ex: Exchange, expect_error: bool) -> None:
    records, problems = st.json_lines(ex.body)
    engine.check(op, scenario, ex, (200,), json_lines=problems,
            progress_stream=st.progress_stream(records, expect_error))


def test_image_import_progress(engine: EngineCall, name: str, image_cleanup: list[str]) -> None:
    body = tar_bytes({"hello.txt": b"hello\n"})
    image_cleanup.append(f"{name}:t")
    op, ex = engine.send("ImageCreate", query={"fromSrc": "-", "repo": name, "tag": "t"}, data=body,
                         headers={"Content-Type": "application/x-tar"})
    _progress(engine, op, "import-tar", ex, expect_error=False)


def test_image_import_not_tar(engine: EngineCall, name: str, image_cleanup: list[str]) -> None:
    """A body that is not a tar is an error: an error status before the stream, or in-stream."""
    image_cleanup.append(f"{name}:t")
    op, ex = engine.send("ImageCreate", query={"fromSrc": "-", "repo": name, "tag": "t"}, data=b"not a tar",
                         headers={"Content-Type": "application/x-tar"})
    if ex.status >= 400:
        engine.check(op, "import-not-tar", ex, (500,))  # the only error status the spec declares for it
    else:
        _progress(engine, op, "import-not-tar", ex, expect_error=True)


def _build(engine: EngineCall, name: str, dockerfile: str, labels: dict[str, str]) -> tuple[Operation, Exchange]:
    context = tar_bytes({"Dockerfile": dockerfile.encode()})
    # nocache: a cached step image may be another test's, which its cleanup removes mid-build
    query = {"t": name, "rm": True, "forcerm": True, "labels": labels, "nocache": True}
    return engine.send("ImageBuild", query=query, data=context, headers={"Content-Type": "application/x-tar"},
                       read_seconds=60)


def test_image_build_progress(engine: EngineCall, name: str, labels: dict[str, str], image: str,
                              image_cleanup: list[str]) -> None:
    image_cleanup.append(name)
    op, ex = _build(engine, name, f"FROM {image}\nLABEL dac.build=ok\n", labels)
    _progress(engine, op, "build", ex, expect_error=False)


def test_image_build_error_in_stream(engine: EngineCall, name: str, labels: dict[str, str], image: str,
                                     image_cleanup: list[str]) -> None:
    image_cleanup.append(name)
    op, ex = _build(engine, name, f"FROM {image}\nRUN exit 1\n", labels)
    _progress(engine, op, "build-run-fails", ex, expect_error=True)


def test_image_load_progress(engine: EngineCall, sdk: Any, imported_image: str) -> None:
    saved = b"".join(sdk.get_image(imported_image))
    op, ex = engine.send("ImageLoad", data=saved, headers={"Content-Type": "application/x-tar"}, read_seconds=60)
    _progress(engine, op, "load", ex, expect_error=False)


def test_image_load_not_tar(engine: EngineCall) -> None:
    op, ex = engine.send("ImageLoad", data=b"not a tar", headers={"Content-Type": "application/x-tar"})
    if ex.status >= 400:
        engine.check(op, "load-not-tar", ex, (500,))  # the only error status the spec declares for it
    else:
        _progress(engine, op, "load-not-tar", ex, expect_error=True)


def test_image_push_pull(engine: EngineCall, sdk: Any, registry_image: dict[str, str]) -> None:
    """Push to and pull from the session's registry (`registry_image` skips, saying why, without one)."""
    repo, tag = registry_image["repo"], registry_image["tag"]
    op, ex = engine.send("ImagePush", {"name": repo}, query={"tag": tag}, headers={"X-Registry-Auth": "e30="},
                         read_seconds=60)
    _progress(engine, op, "push", ex, expect_error=False)
    sdk.remove_image(registry_image["ref"])
    op, ex = engine.send("ImageCreate", query={"fromImage": repo, "tag": tag}, read_seconds=60)
    _progress(engine, op, "pull", ex, expect_error=False)


# --- tar bodies -----------------------------------------------------------------------------

ARCHIVE = "/containers/{id}/archive"


def _archive_op(engine: EngineCall, method: str) -> Operation:
    op = op_at(engine.spec, method, ARCHIVE)
    if op is None:
        skips.skip(skips.NOT_IN_SPEC, f"API {engine.version} has no {method} {ARCHIVE}")
    return op


def _send_op(engine: EngineCall, op: Operation, path_params: dict[str, Any], **kwargs: Any) -> Exchange:
    return engine.send(op.id, path_params, **kwargs)[1]


def test_archive_stat_and_get(engine: EngineCall, exited_container: str) -> None:
    head_op = _archive_op(engine, "HEAD")
    ex = _send_op(engine, head_op, {"id": exited_container}, query={"path": "/etc/passwd"})
    stat, problems = st.decode_path_stat(ex.header("X-Docker-Container-Path-Stat"))
    if stat and (stat.get("name") != "passwd" or stat.get("linkTarget") != ""):
        problems.append(Problem("path_stat_header", f"stat of /etc/passwd says {stat}"))
    engine.check(head_op, "stat", ex, (200,), path_stat_header=problems)

    get_op = _archive_op(engine, "GET")
    ex = _send_op(engine, get_op, {"id": exited_container}, query={"path": "/etc/passwd"})
    members, tar_problems = st.tar_body(ex.body, ["passwd"])
    if stat and "passwd" in members and members["passwd"].size != stat.get("size"):
        tar_problems.append(Problem("tar_body", f"passwd is {members['passwd'].size} bytes in the tar, "
                                                f"{stat.get('size')} in the stat header"))
    _, get_stat = st.decode_path_stat(ex.header("X-Docker-Container-Path-Stat"))
    engine.check(get_op, "get", ex, (200,), tar_body=tar_problems, path_stat_header=get_stat)


def test_archive_put_roundtrip(engine: EngineCall, exited_container: str) -> None:
    put_op = _archive_op(engine, "PUT")
    content = f"put at {engine.version}\n".encode()
    ex = _send_op(engine, put_op, {"id": exited_container}, query={"path": "/tmp"},
                  data=tar_bytes({"dac-put.txt": content}), headers={"Content-Type": "application/x-tar"})
    engine.check(put_op, "put", ex, (200,))
    get_op = _archive_op(engine, "GET")
    ex = _send_op(engine, get_op, {"id": exited_container}, query={"path": "/tmp/dac-put.txt"})
    _, problems = st.tar_body(ex.body, ["dac-put.txt"])
    got = st.tar_file(ex.body, "dac-put.txt")
    if not problems and got != content:
        problems.append(Problem("tar_body", f"dac-put.txt read back as {got!r}, wrote {content!r}"))
    engine.check(get_op, "get-after-put", ex, (200,), tar_body=problems)


def test_container_export(engine: EngineCall, exited_container: str) -> None:
    op, ex = engine.send("ContainerExport", {"id": exited_container}, max_bytes=256 * 1024 * 1024, read_seconds=60)
    _, problems = st.tar_body(ex.body, ["etc/passwd", "bin/sh"])
    engine.check(op, "export", ex, (200,), tar_body=problems)


def test_image_save(engine: EngineCall, imported_image: str) -> None:
    op, ex = engine.send("ImageGet", {"name": imported_image}, max_bytes=64 * 1024 * 1024)
    engine.check(op, "save", ex, (200,), tar_body=st.image_archive(ex.body))
    op, ex = engine.send("ImageGetAll", query={"names": imported_image}, max_bytes=64 * 1024 * 1024)
    engine.check(op, "save-names", ex, (200,), tar_body=st.image_archive(ex.body))
