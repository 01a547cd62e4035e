"""Promise checkers: container streams and files, and exec (registered by name in suites/promise_checks/__init__.py).

Data all the way, like generic.answer: a checker gets one answer, or one step of a sequence recorded once per
API version (run.once), makes a document of it (a stream's lines per stdio stream, a path stat, a tar's members)
and judges the promise's `expect` rules on it with generic.judge, plus `{pointer, excludes: value}` (the list
there, if any, lacks the value) and `{pointer, unset: true}` (absent or null).  The documents:

    streams-logs       ContainerLogs of `container` with `query`: {stdout: [lines], stderr: [lines]};
                       `within_run: true` also wants every line's timestamp inside the container's run
    streams-stat       the X-Docker-Container-Path-Stat of `path`: {name, size, mode, mtime, linkTarget};
                       `mtime_within_run: true` wants mtime inside the container's run
    streams-archive    ContainerArchive of `path`: {members: {<tar name>: {type, linkname, mode, data}}}
    streams-export     ContainerExport: {<alias>: the text of that file in the tar} for `files: {alias: path}`
    streams-files      the archive sequence (PUT, GET, PUT into a missing directory, PUT with
                       noOverwriteDirNonDir) on `container`; `step` picks {status, members | stat}
    streams-attach     attach to a new container, start it, follow its logs, feed its stdin; `step`
                       `attach` | `follow`: {status, stdout, stderr, end (eof | done | timeout ...)}
    exec-sequence      one exec on `container` (create, inspect, start, inspect when it ended); `step`
                       create | before | container_before | output | after | container_after; rules
                       may name "{exec.id}" and "{exec.container}"

Member data and file texts are bytes read as latin-1, so YAML's "\\x00".."\\xff" escapes name any byte.
"""

from __future__ import annotations

import io
import itertools
import re
import tarfile
import time
from datetime import datetime, timezone
from typing import Any

from conformance import streams as st
from conformance.exchange import Exchange, expand_path
from conformance.scenarios import render
from conformance.versions import parse
from conformance.wire import Conn, Limits, ReadResult, open_conn, read_body, request
from plugins.fixtures import _quietly, unique_name
from suites.promise_checks.fixtures import PROMISE_LABEL
from suites.promise_checks.generic import judge, nodes
from suites.promise_checks.runtime import PromiseBroken, PromiseRun

# A stream that should end within a second or so; a fault that keeps it open costs this much, once.
STREAM_LIMITS = Limits(max_bytes=1024 * 1024, seconds=3.0)
UPGRADE = {"Connection": "Upgrade", "Upgrade": "tcp"}
RUN_MARGIN = 1.0  # seconds of clock slack around a container's run (whole-second mtimes, rounding)
# The attached container: a line on each stream, then what stdin brings, then one more line on each.
ATTACH_SCRIPT = 'echo o1; echo e1 >&2; read l; echo "o2:$l"; echo e2 >&2'
ATTACH_INPUT = b"x\n"
# The exec: lines on both streams, its user, directory and environment (its own and the container's), exit 2.
EXEC_SCRIPT = ('echo out1; echo err1 >&2; id -u; pwd; echo "env:$DAC_EXEC:$DAC_PROMISE"; echo out2; '
               "echo err2 >&2; exit 2")
EXEC_USER, EXEC_DIR, EXEC_ENV = "65534:65534", "/etc", ["DAC_EXEC=honoured"]
ROUNDTRIP = [("bytes", "file", b"\x00\x01 round trip \xfe\xff\n", 0o604), ("run", "file", b"#!/bin/sh\ntrue\n", 0o750),
             ("sub", "dir", b"", 0o755)]
_tree_numbers = itertools.count(1)
TREE_MTIME = 1_700_000_000
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})")


def epoch(text: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 time with up to nine fraction digits (None if it is not one)."""
    found = _TIME.fullmatch(text.strip())
    if not found:
        return None
    zone = "+00:00" if found[3] == "Z" else found[3]
    base = datetime.fromisoformat(found[1] + zone).astimezone(timezone.utc)
    return base.timestamp() + int((found[2] or "0").ljust(9, "0")) / 1e9


def tar_tree(entries: list[tuple[str, str, bytes, int]], mtime: int = TREE_MTIME) -> bytes:
    """A tar of (name, "dir" | "file" | "symlink", bytes or link target, mode) entries."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as out:
        for name, kind, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime = mode, mtime
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                out.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                out.addfile(info)
            else:
                info.size = len(data)
                out.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# --- shared helpers ------------------------------------------------------------------------

def _params(run: PromiseRun, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The promise's `with`, placeholders filled from its `needs` (and `extra` values of a sequence)."""
    return render(run.params, {**run.context(run.params.get("needs", ())), **(extra or {})})


def _rules(run: PromiseRun, doc: Any, rules: list[dict[str, Any]]) -> None:
    for rule in rules:
        if "unset" in rule:
            found = [(where, value) for where, value in nodes(doc, rule["pointer"]) if value is not None]
            run.expect(not found, f"{rule['pointer']} must be absent or null, found {found[:1]}", rule["pointer"])
        elif "excludes" in rule:
            if not nodes(doc, rule["pointer"]):
                run.broken(f"{rule['pointer']} is missing")
            for where, value in nodes(doc, rule["pointer"]):
                run.expect(not (isinstance(value, list) and rule["excludes"] in value),
                           f"{where} lists {rule['excludes']!r} (among {len(value or [])})", where)
        else:
            judge(run, doc, rule)


def _lines(data: bytes) -> list[str]:
    return [line.decode("utf-8", "replace") for line in st.split_lines(data)]


def _stdio(data: bytes, complete: bool, what: str) -> dict[str, list[str]]:
    """A multiplexed stream's lines per stream (PromiseBroken when it is not frames at all)."""
    parsed = st.parse_mux(data, complete)
    if parsed.error:
        raise PromiseBroken(f"{what} is not a multiplexed stream: {parsed.error}")
    return {"stdout": _lines(parsed.payload(1)), "stderr": _lines(parsed.payload(2))}


def _within(run: PromiseRun, container: dict[str, Any], when: float | None, what: str) -> None:
    low, high = container["started"] - RUN_MARGIN, container["finished"] + RUN_MARGIN
    run.expect(when is not None and low <= when <= high,
               f"{what}: {when!r} is not within the container's run ({container['started']:.3f} .. "
               f"{container['finished']:.3f}, {RUN_MARGIN:.0f} s slack)")


def _members(data: bytes, strip_top: bool = False) -> dict[str, dict[str, Any]]:
    """Tar members by name (below the top directory with strip_top; the top itself is '.')."""
    members, problems, archive = st.tar_members(data)
    if problems or archive is None:
        raise PromiseBroken("; ".join(p.message for p in problems) or "not a tar")
    out = {}
    for name, member in members.items():
        key = (name.partition("/")[2] or ".") if strip_top else name
        kind = "dir" if member.isdir() else "symlink" if member.issym() else "file" if member.isfile() else "other"
        handle = archive.extractfile(member) if member.isfile() else None
        out[key] = {"type": kind, "linkname": member.linkname, "mode": member.mode & 0o7777,
                    "data": handle.read().decode("latin-1") if handle else ""}
    return out


def _stat(ex: Exchange) -> dict[str, Any]:
    stat, problems = st.decode_path_stat(ex.header("X-Docker-Container-Path-Stat"))
    if stat is None:
        raise PromiseBroken("; ".join(p.message for p in problems))
    return stat


def _step(run: PromiseRun, data: dict[str, Any], step: str) -> Any:
    """One recorded step's document (its exchange becomes the promise's), or why it was not reached."""
    if step not in data["docs"]:
        raise PromiseBroken(data.get("broken") or f"the sequence did not reach {step!r}")
    run.last = data["exchanges"].get(step, run.last)
    return data["docs"][step]


# --- one answer each ----------------------------------------------------------------------

def logs(run: PromiseRun) -> None:
    params = _params(run)
    container = params["container"]
    ex = run.send("ContainerLogs", {"id": container["id"]}, query=params["query"])
    doc = _stdio(ex.body, True, "the logs")
    _rules(run, doc, params.get("expect", []))
    if params.get("within_run"):
        for stream in ("stdout", "stderr"):
            for line in doc[stream]:
                _within(run, container, epoch(line.split(" ", 1)[0]), f"{stream} line {line!r}")


def stat(run: PromiseRun) -> None:
    params = _params(run)
    container = params["container"]
    doc = _stat(run.send("ContainerArchiveInfo", {"id": container["id"]}, query={"path": params["path"]}))
    _rules(run, doc, params.get("expect", []))
    if params.get("mtime_within_run"):
        _within(run, container, epoch(str(doc.get("mtime"))), f"mtime of {params['path']}")


def archive(run: PromiseRun) -> None:
    params = _params(run)
    ex = run.send("ContainerArchive", {"id": params["container"]["id"]}, query={"path": params["path"]})
    _rules(run, {"members": _members(ex.body)}, params.get("expect", []))


def export(run: PromiseRun) -> None:
    params = _params(run)
    ex = run.send("ContainerExport", {"id": params["container"]["id"]}, max_bytes=256 * 1024 * 1024,
                  read_seconds=60)
    members = _members(ex.body)
    doc = {alias: members[path]["data"] for alias, path in params["files"].items() if path in members}
    _rules(run, doc, params.get("expect", []))


# --- the archive sequence: PUT a tree, GET it back, two PUTs that must fail --------------------

def _files_sequence(run: PromiseRun, cid: str) -> dict[str, Any]:
    top = f"dac-rt-{next(_tree_numbers)}"  # a fresh tree each time: a fault may have changed the last one
    data: dict[str, Any] = {"docs": {}, "exchanges": {}, "broken": ""}
    tar_type = {"Content-Type": "application/x-tar"}

    def keep(step: str, ex: Exchange, doc: dict[str, Any]) -> None:
        data["docs"][step], data["exchanges"][step] = {"status": ex.status, **doc}, ex

    try:
        tree = tar_tree([(top, "dir", b"", 0o755)] + [(f"{top}/{n}", k, b, m) for n, k, b, m in ROUNDTRIP])
        keep("put", run.send("PutContainerArchive", {"id": cid}, query={"path": "/tmp"}, data=tree,
                             headers=tar_type), {})
        ex = run.send("ContainerArchive", {"id": cid}, query={"path": f"/tmp/{top}"})
        keep("get", ex, {"members": _members(ex.body, strip_top=True)})
        keep("put_missing", run.send("PutContainerArchive", {"id": cid}, query={"path": f"/tmp/{top}/missing/deeper"},
                                     data=tar_tree([("lost", "file", b"lost\n", 0o644)]), headers=tar_type,
                                     expect=()), {})
        ex = run.send("PutContainerArchive", {"id": cid}, query={"path": f"/tmp/{top}", "noOverwriteDirNonDir": True},
                      data=tar_tree([("sub", "file", b"not a directory\n", 0o644)]), headers=tar_type, expect=())
        after = run.send("ContainerArchiveInfo", {"id": cid}, query={"path": f"/tmp/{top}/sub"})
        keep("no_overwrite", ex, {"after": _stat(after)})
    except PromiseBroken as exc:
        data["broken"] = str(exc)
    return data


def files(run: PromiseRun) -> None:
    params = _params(run)
    cid = params["container"]["id"]
    data = run.once(f"streams-files-{cid}", lambda r: _files_sequence(r, cid))
    _rules(run, _step(run, data, params["step"]), params.get("expect", []))


# --- attach to a container that then runs: attach stream, followed logs, stdin ---------------

def _open(run: PromiseRun) -> Conn:
    state = run.engine.state
    return open_conn(state.config, state.url, timeout=min(state.config.timeout, 10.0))


def _path(run: PromiseRun, op_id: str, cid: str, query: str) -> tuple[str, str]:
    op = run.engine.operation(op_id)
    return op.method, f"/v{run.version}{expand_path(op.path, {'id': cid})}{query}"


def _attach_sequence(run: PromiseRun) -> dict[str, Any]:
    state, sdk = run.engine.state, run.sdk
    created = sdk.create_container(state.image, command=["sh", "-c", ATTACH_SCRIPT], stdin_open=True,
                                   name=unique_name(state, "attach"), labels={**state.label, PROMISE_LABEL: "attach"},
                                   environment=state.placement.env() or None)  # stdin_open: StdinOnce too
    cid = created["Id"]
    data: dict[str, Any] = {"docs": {}, "exchanges": {}, "broken": ""}
    conns: list[Conn] = []
    try:
        conns.append(_open(run))
        method, path = _path(run, "ContainerAttach", cid, "?stream=1&stdin=1&stdout=1&stderr=1")
        raw = request(conns[0], "ContainerAttach", run.version, method, path, headers=UPGRADE, limits=STREAM_LIMITS,
                      read_body_too=False)
        status = raw.head.status if raw.head else 0
        if status not in (101, 200):
            raise PromiseBroken(f"ContainerAttach answered {status or 'nothing'}: {raw.body.data[:160]!r}")
        sdk.start(cid)
        first = conns[0].read_until(lambda buf: b"o1" in buf and b"e1" in buf, STREAM_LIMITS)
        conns.append(_open(run))  # the logs are followed while the process waits for its stdin
        method, path = _path(run, "ContainerLogs", cid, "?follow=1&stdout=1&stderr=1")
        logs_raw = request(conns[1], "ContainerLogs", run.version, method, path, limits=STREAM_LIMITS,
                           read_body_too=False)
        conns[0].send(ATTACH_INPUT)
        conns[0].shutdown_write()  # StdinOnce: the end of our input is the end of the process's stdin
        rest = conns[0].read_until(None, STREAM_LIMITS)
        raw.exchange.body = first.data + rest.data
        data["docs"]["attach"] = {"status": status, "end": rest.stop,
                                  **_stdio(raw.exchange.body, rest.stop == "eof", "the attach stream")}
        data["exchanges"]["attach"] = raw.exchange
        logs_status = logs_raw.head.status if logs_raw.head else 0
        followed = read_body(conns[1], logs_raw.head, STREAM_LIMITS) if logs_status == 200 else ReadResult(b"", "error")
        logs_raw.exchange.body = followed.data
        data["docs"]["follow"] = {"status": logs_status, "end": followed.stop,
                                  **_stdio(followed.data, False, "the followed logs")}
        data["exchanges"]["follow"] = logs_raw.exchange
    except PromiseBroken as exc:
        data["broken"] = str(exc)
    finally:
        for conn in conns:
            conn.close()
        _quietly(sdk.remove_container, cid, force=True)
    return data


def attach(run: PromiseRun) -> None:
    params = _params(run)
    data = run.once("streams-attach", _attach_sequence)
    _rules(run, _step(run, data, params["step"]), params.get("expect", []))


# --- one exec, from create to its end ---------------------------------------------------------

def _exec_sequence(run: PromiseRun, cid: str) -> dict[str, Any]:
    body: dict[str, Any] = {"AttachStdout": True, "AttachStderr": True, "Cmd": ["sh", "-c", EXEC_SCRIPT],
                            "User": EXEC_USER, "Env": EXEC_ENV}
    if parse(run.version) >= (1, 35):
        body["WorkingDir"] = EXEC_DIR  # in ExecConfig from 1.35
    data: dict[str, Any] = {"docs": {}, "exchanges": {}, "broken": "", "vars": {"container": cid, "id": ""}}

    def keep(step: str, doc: Any) -> Any:
        data["docs"][step], data["exchanges"][step] = doc, run.last
        return doc

    try:
        created = keep("create", run.json("ContainerExec", {"id": cid}, json_body=body, expect=(201,)))
        eid = data["vars"]["id"] = str(created.get("Id"))
        keep("before", run.json("ExecInspect", {"id": eid}))
        keep("container_before", run.json("ContainerInspect", {"id": cid}))
        ex = run.send("ExecStart", {"id": eid}, json_body={"Detach": False, "Tty": False})
        keep("output", {"status": ex.status, **_stdio(ex.body, True, "the exec's output")})
        # The stream ends when the process's stdio closes; its exit (ExitCode, Running) is recorded a moment later.
        deadline = time.monotonic() + 3.0
        after = run.json("ExecInspect", {"id": eid})
        while after.get("Running") is not False and after.get("ExitCode") is None and time.monotonic() < deadline:
            time.sleep(0.02)
            after = run.json("ExecInspect", {"id": eid})
        keep("after", after)
        keep("container_after", run.json("ContainerInspect", {"id": cid}))
    except PromiseBroken as exc:
        data["broken"] = str(exc)
    return data


def exec_sequence(run: PromiseRun) -> None:
    cid = str(render(run.params["container"], run.context(run.params.get("needs", ()))))
    data = run.once(f"exec-sequence-{cid}", lambda r: _exec_sequence(r, cid))
    params = _params(run, {"exec": data["vars"]})  # the rules may name the exec's and its container's ids
    _rules(run, _step(run, data, params["step"]), params.get("expect", []))


CHECKERS = {
    "streams-logs": logs,
    "streams-stat": stat,
    "streams-archive": archive,
    "streams-export": export,
    "streams-files": files,
    "streams-attach": attach,
    "exec-sequence": exec_sequence,
}
