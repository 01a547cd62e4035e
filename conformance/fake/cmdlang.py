"""The tiny, deterministic "process" language containers and execs run.

It understands what the suite's scenarios use: `sh -c "a; b && c || d"`, pipes, `>`/`>>`/`>&2`/
`2>&1`, `$VAR`/`$?`, and builtins (echo, printf, cat, sleep, exit, true, false, env, touch, mkdir,
rm, ls, ...).  A command present in the rootfs but unknown here (top, nginx, ...) idles until the
container is stopped, which is what long-running servers look like from the API.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from .fs import norm
from .shell_builtins import BUILTINS, SHELL_ONLY
from .shell_io import DEFAULT_PATH, CommandNotFound, Control, ExitShell, Pipe, ProcessIO, Stopped, parse_signal
from .shell_syntax import Compound, Seq, Simple, expand_word, parse
from .wire import ApiError

# The names the Engine modules import from here (container_model, execs, build, swarm_model).
__all__ = ["CommandNotFound", "Control", "Pipe", "ProcessIO", "Shell", "parse_signal"]


class BytesSink:
    def __init__(self) -> None:
        self.data = bytearray()

    def __call__(self, fd: int, data: bytes) -> None:
        self.data += data


class Shell:
    """Runs argv vectors and sh scripts against a ProcessIO."""

    def __init__(self, io: ProcessIO) -> None:
        self.io = io
        self.env = dict(io.env)
        self.env.setdefault("PATH", DEFAULT_PATH)
        self.env.setdefault("HOSTNAME", io.hostname)
        self.env.setdefault("HOME", "/root")
        self.cwd = io.cwd or "/"
        self.status = 0
        self.traps: dict[int, str] = {}  # signal -> action (`trap`); SIGKILL is never trapped

    # --- entry points --------------------------------------------------------------------
    def run(self, argv: list[str]) -> int:
        """A process's main: returns its exit code (128+n when signalled and not trapped)."""
        try:
            return self.exec_argv(argv, self.io.write, self.io.stdin)
        except Stopped as stop:
            code = self.trapped(stop)
            return 128 + stop.signal if code is None else code
        except ExitShell as done:
            return done.code

    def trapped(self, stop: Stopped) -> int | None:
        """The exit code once this shell's trap for the signal ran (None: it traps none).  The trap's action
        ends the process here: the interrupted command does not resume."""
        action = self.traps.get(stop.signal) if stop.signal != 9 else None
        if action is None:
            return None
        self.io.control.clear()
        try:
            self.run_script(action, self.io.write, self.io.stdin)
        except ExitShell as done:
            return done.code
        except Stopped as again:
            return 128 + again.signal
        return 128 + stop.signal

    def lookup(self, name: str) -> str | None:
        if "/" in name:
            path = norm(name, self.cwd)
            return path if self.io.fs.exists(path) and not self.io.fs.is_dir(path) else None
        for folder in self.env.get("PATH", DEFAULT_PATH).split(":"):
            path = posixpath.join(folder or "/", name)
            if self.io.fs.exists(path) and not self.io.fs.is_dir(path):
                return path
        return None

    def exec_argv(self, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
        if not argv:
            return 0
        name = posixpath.basename(argv[0])
        if name in SHELL_ONLY:
            return SHELL_ONLY[name](self, argv, write, stdin)
        if self.lookup(argv[0]) is None:
            raise CommandNotFound(argv[0])
        self.io.control.check()
        builtin = BUILTINS.get(name)
        if builtin is None:
            self.io.control.sleep(None)  # an unknown server process: runs until signalled
            return 0
        return builtin(self, argv, write, stdin)

    def run_script(self, script: str, write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
        try:
            seq = parse(script)
        except SyntaxError as exc:
            write(2, f"sh: {exc.msg}\n".encode())
            self.status = 2
            return 2
        return self.run_seq(seq, write, stdin)

    def run_seq(self, seq: Seq, write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
        for connector, pipeline in seq:
            if connector == "&&" and self.status != 0:
                continue
            if connector == "||" and self.status == 0:
                continue
            self.status = self.run_pipeline(pipeline, write, stdin)
        return self.status

    def run_compound(self, node: Compound, write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
        kind = node[0]
        status = 0
        if kind == "for":
            _, var, words, body = node
            values: list[str] = []
            for word in words:
                text = expand_word(word, self.env, self.status)
                values += text.split() if all(k == "" for k, _ in word) else [text]
            for value in values:
                self.env[var] = value
                status = self.run_seq(body, write, stdin)
            return status
        if kind in ("while", "until"):
            _, cond, body = node
            while True:
                self.io.control.check()
                ok = self.run_seq(cond, write, stdin) == 0
                if ok != (kind == "while"):
                    return status
                status = self.run_seq(body, write, stdin)
        if kind == "if":
            _, branches, otherwise = node
            for cond, body in branches:
                if self.run_seq(cond, write, stdin) == 0:
                    return self.run_seq(body, write, stdin)
            return self.run_seq(otherwise, write, stdin) if otherwise else 0
        if kind == "group":
            return self.run_seq(node[1], write, stdin)
        return 0

    def run_pipeline(self, pipeline: list[Any], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
        status = 0
        feed = stdin
        for index, stage in enumerate(pipeline):
            last = index == len(pipeline) - 1
            sink = None if last else BytesSink()
            out = write if last else _stdout_to(sink, write)  # type: ignore[arg-type]
            if isinstance(stage, Simple):
                status = self.run_simple(stage, out, feed)
            else:
                status = self.run_compound(stage, out, feed)
            if sink is not None:
                feed = Pipe()
                feed.write(bytes(sink.data))
                feed.close()
        return status

    def run_simple(self, simple: Simple, write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
        self.io.control.check()
        argv = [expand_word(w, self.env, self.status) for w in simple.words]
        # VAR=value prefixes set variables (only for this shell, which is close enough).
        while argv and "=" in argv[0] and argv[0].split("=", 1)[0].isidentifier():
            key, _, value = argv.pop(0).partition("=")
            self.env[key] = value
        targets = {1: write, 2: write}
        routes = {1: 1, 2: 2}
        files: list[tuple[str, bool, BytesSink]] = []
        for op, target_segments in simple.redirs:
            target = expand_word(target_segments, self.env, self.status)
            fd = int(op[0]) if op[0].isdigit() else (0 if op.lstrip("0123456789").startswith("<") else 1)
            kind = op.lstrip("0123456789")
            if kind == ">&":
                if target in ("1", "2"):
                    routes[fd] = routes[int(target)]
            elif kind in (">", ">>"):
                if target == "/dev/null":
                    routes[fd] = 0
                else:
                    parent = posixpath.dirname(norm(target, self.cwd)) or "/"
                    if not self.io.fs.is_dir(parent):  # sh opens the file first: the command never runs
                        write(2, f"sh: can't create {target}: nonexistent directory\n".encode())
                        return 1
                    if self.io.fs.read_only(norm(target, self.cwd)):
                        write(2, f"sh: can't create {target}: Read-only file system\n".encode())
                        return 1
                    sink = BytesSink()
                    files.append((target, kind == ">>", sink))
                    routes[fd] = 100 + len(files) - 1
            elif kind == "<":
                entry = self.io.fs.get(norm(target, self.cwd))
                if entry is None:
                    write(2, f"sh: can't open '{target}': No such file or directory\n".encode())
                    return 1
                stdin = Pipe()
                stdin.write(entry.data)
                stdin.close()

        def routed(fd: int, data: bytes) -> None:
            dest = routes.get(fd, fd)
            if dest == 0:
                return
            if dest >= 100:
                files[dest - 100][2](fd, data)
                return
            targets.get(dest, write)(dest, data)

        try:
            if not argv:
                return 0
            try:
                return self.exec_argv(argv, routed, stdin)
            except CommandNotFound:
                routed(2, f"sh: {argv[0]}: not found\n".encode())
                return 127
            except ApiError as exc:  # filesystem errors from builtins
                routed(2, f"{argv[0]}: {exc.message}\n".encode())
                return 1
        finally:
            for path, append, sink in files:
                try:
                    self.io.fs.write(norm(path, self.cwd), bytes(sink.data), append=append)
                except ApiError:
                    write(2, f"sh: can't create {path}: nonexistent directory\n".encode())


def _stdout_to(sink: BytesSink, write: Callable[[int, bytes], None]) -> Callable[[int, bytes], None]:
    def out(fd: int, data: bytes) -> None:
        (sink if fd == 1 else write)(fd, data)
    return out
