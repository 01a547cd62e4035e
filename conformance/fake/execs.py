"""Exec instances: create/start (hijacked like attach)/inspect/resize.

An exec runs the command language against its container's filesystem in its own thread; its
output goes straight to the exec's client, never to the container log.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .cmdlang import CommandNotFound, Control, Pipe, ProcessIO, Shell
from .container_model import env_map, get_container
from .routing import Route, route
from .streams import encode, pump_stdin, send_all, stream_content_type
from .util import new_id
from .wire import ApiError, Conn, Headers, Response, json_response

if TYPE_CHECKING:
    from .container_model import Container
    from .engine import Ctx
    from .state import State

_pids = itertools.count(5000)


@dataclass
class Exec:
    id: str
    container_id: str
    argv: list[str]
    config: dict[str, Any]
    running: bool = False
    started: bool = False
    exit_code: int | None = None
    pid: int = 0
    control: Control | None = None
    stdin: Pipe | None = None
    output: list[tuple[int, bytes]] = field(default_factory=list)
    done: bool = False

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))


def _get(state: State, exec_id: str) -> Exec:
    ex = state.execs.get(exec_id)
    if ex is None:
        raise ApiError(404, f"No such exec instance: {exec_id}")
    return ex


def exec_create(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    cmd = body.get("Cmd") or []
    if isinstance(cmd, str):
        cmd = [cmd]
    state = ctx.state
    with state.lock:
        container = get_container(state, ctx.params["id"])
        if container.status == "paused":
            raise ApiError(409, f"Container {container.id} is paused, unpause the container before exec")
        if not container.running:
            raise ApiError(409, f"Container {container.id} is not running")
        if not cmd:
            raise ApiError(400, "No exec command specified")
        ex = Exec(new_id(), container.id, list(cmd), dict(body))
        state.execs[ex.id] = ex
        container.exec_ids.append(ex.id)
        state.emit("container", f"exec_create: {' '.join(cmd)}", container.id,
                   container.attrs(state, execID=ex.id))
    return json_response({"Id": ex.id}, 201)


def exec_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        ex = _get(ctx.state, ctx.params["id"])
        cfg = ex.config
        process = {"tty": ex.tty, "entrypoint": ex.argv[0], "arguments": ex.argv[1:],
                   "privileged": bool(cfg.get("Privileged"))}
        if cfg.get("User"):
            process["user"] = cfg["User"]
        return json_response({
            "ID": ex.id, "Running": ex.running, "ExitCode": ex.exit_code, "ProcessConfig": process,
            "OpenStdin": bool(cfg.get("AttachStdin")), "OpenStderr": bool(cfg.get("AttachStderr")),
            "OpenStdout": bool(cfg.get("AttachStdout")), "CanRemove": False, "ContainerID": ex.container_id,
            "DetachKeys": cfg.get("DetachKeys") or "", "Pid": ex.pid,
        })


def exec_resize(ctx: Ctx) -> Response:
    with ctx.state.lock:
        ex = _get(ctx.state, ctx.params["id"])
        ctx.qint("h", 0)
        ctx.qint("w", 0)  # both must be integers: 400 otherwise
        if not ex.running:
            raise ApiError(409, f"Exec {ex.id} is not running")
    return Response(200, b"")  # dockerd 20.10: an empty 200, no Content-Type


def _launch(state: State, container: Container, ex: Exec) -> None:
    """Start the exec's process thread (caller holds the lock)."""
    ex.control = Control()
    ex.stdin = Pipe() if ex.config.get("AttachStdin") else None
    ex.running = ex.started = True
    ex.pid = next(_pids)
    env = {**env_map(container.config.get("Env")), **env_map(ex.config.get("Env"))}
    cwd = ex.config.get("WorkingDir") or container.config.get("WorkingDir") or "/"
    tty = ex.tty

    def write(fd: int, data: bytes) -> None:
        if tty:
            fd, data = 1, data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        with state.cond:
            ex.output.append((fd, data))
            state.cond.notify_all()

    def run() -> None:
        io = ProcessIO(write, ex.stdin, ex.control, container.fs, env, cwd,  # type: ignore[arg-type]
                       container.config.get("Hostname") or container.short,
                       ex.config.get("User") or container.config.get("User") or "root")
        try:
            code = Shell(io).run(list(ex.argv))
        except CommandNotFound:
            write(2, f"OCI runtime exec failed: exec failed: unable to start container process: exec: "
                     f"\"{ex.argv[0]}\": executable file not found in $PATH: unknown\r\n".encode())
            code = 126
        except Exception:  # noqa: BLE001
            code = 255
        with state.cond:
            ex.running = False
            ex.exit_code = code
            ex.done = True
            if ex.id in container.exec_ids:  # the container lists its execs until they end (moby monitor.go)
                container.exec_ids.remove(ex.id)
            state.emit("container", "exec_die", container.id, container.attrs(state, execID=ex.id,
                                                                              exitCode=str(code)))
            state.cond.notify_all()

    state.emit("container", f"exec_start: {' '.join(ex.argv)}", container.id, container.attrs(state, execID=ex.id))
    threading.Thread(target=run, name=f"exec-{ex.id[:12]}", daemon=True).start()


def exec_start(ctx: Ctx) -> Response:
    body = ctx.body({}) or {}
    state = ctx.state
    with state.lock:
        ex = _get(state, ctx.params["id"])
        if ex.running:
            raise ApiError(409, f"Error: Exec command {ex.id} is already running")
        if ex.started:
            raise ApiError(409, f"Error: Exec command {ex.id} has already run")
        container = get_container(state, ex.container_id)
        if not container.running:
            raise ApiError(409, f"Container {container.id} is not running")
        if "Tty" in body:
            ex.config["Tty"] = bool(body.get("Tty"))
        _launch(state, container, ex)
    if body.get("Detach"):
        return Response(200, b"", Headers([("Content-Type", "application/json")]))
    tty = ex.tty
    upgrade = ctx.req.wants_upgrade()
    headers = Headers([("Content-Type", stream_content_type(ctx.at_least("1.42") and upgrade, tty))])
    if upgrade:
        headers["Connection"] = "Upgrade"
        headers["Upgrade"] = "tcp"
    wanted = {1: bool(ex.config.get("AttachStdout", True)), 2: bool(ex.config.get("AttachStderr", True))}

    def output() -> Iterator[bytes]:
        index = 0
        while True:
            with state.cond:
                fresh = ex.output[index:]
                index += len(fresh)
                finished = ex.done
                if not fresh and not finished and not state.closing:
                    state.cond.wait(0.25)
                    continue
            for fd, data in fresh:
                if wanted.get(fd, True):
                    yield encode(fd, data, tty)
            if finished or state.closing:
                with state.cond:
                    if len(ex.output) == index:
                        return

    def hijack(conn: Conn) -> None:
        if ex.stdin is not None:
            pump_stdin(conn, ex.stdin.write, ex.stdin.close)
        send_all(conn, output())
    return Response(101 if upgrade else 200, b"", headers, "UPGRADED" if upgrade else "OK", hijack)


# The routes this module serves, in match order (conformance/fake/routes.py builds the router).
ROUTES: tuple[Route, ...] = (
    route("POST", "/containers/{id}/exec", "ContainerExec", exec_create),
    route("GET", "/exec/{id}/json", "ExecInspect", exec_inspect),
    route("POST", "/exec/{id}/resize", "ExecResize", exec_resize),
    route("POST", "/exec/{id}/start", "ExecStart", exec_start),
)
