"""The tiny, deterministic "process" language containers and execs run.

It understands what the suite's scenarios use: `sh -c "a; b && c || d"`, pipes, `>`/`>>`/`>&2`/
`2>&1`, `$VAR`/`$?`, and builtins (echo, printf, cat, sleep, exit, true, false, env, touch, mkdir,
rm, ls, ...).  A command present in the rootfs but unknown here (top, nginx, ...) idles until the
container is stopped, which is what long-running servers look like from the API.
"""

from __future__ import annotations

import posixpath
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .fs import FS, norm
from .wire import ApiError

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SIGNALS = {"HUP": 1, "INT": 2, "QUIT": 3, "KILL": 9, "USR1": 10, "USR2": 12, "TERM": 15, "STOP": 19}


class Stopped(Exception):
    """The process got a terminating signal; it exits 128+signal."""

    def __init__(self, signal: int) -> None:
        super().__init__(signal)
        self.signal = signal


class ExitShell(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class CommandNotFound(Exception):
    pass


def parse_signal(value: str | int | None, default: int = 9) -> int:
    if value in (None, ""):
        return default
    text = str(value).upper()
    if text.isdigit():
        return int(text)
    text = text.removeprefix("SIG")
    if text not in SIGNALS:
        raise ApiError(400, f"Invalid signal: {value}")
    return SIGNALS[text]


class Pipe:
    """A process's stdin: bytes written by attach/exec clients, EOF once closed."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._closed = False
        self._cond = threading.Condition()

    def write(self, data: bytes) -> None:
        with self._cond:
            if not self._closed:
                self._buf += data
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def readline(self, control: Control) -> bytes | None:
        """One line (with its newline) for `read`; the rest stays buffered.  None at EOF."""
        with self._cond:
            while b"\n" not in self._buf and not self._closed:
                if control.signal is not None:
                    raise Stopped(control.signal)
                self._cond.wait(0.05)
            if not self._buf:
                return None
            index = self._buf.find(b"\n")
            size = index + 1 if index >= 0 else len(self._buf)
            line = bytes(self._buf[:size])
            del self._buf[:size]
            return line

    def read(self, timeout: float) -> bytes | None:
        """Up to everything buffered; b'' on timeout, None at EOF."""
        with self._cond:
            if not self._buf and not self._closed:
                self._cond.wait(timeout)
            if self._buf:
                data = bytes(self._buf)
                self._buf.clear()
                return data
            return None if self._closed else b""


class Control:
    """Signals and pause state shared between a process and the API (stop/kill/pause)."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._event = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def kill(self, signal: int) -> None:
        self.signal = signal
        self._event.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def check(self) -> None:
        if self.signal is not None:
            raise Stopped(self.signal)
        if not self._running.is_set():
            while not self._running.wait(0.05):
                if self.signal is not None:
                    raise Stopped(self.signal)

    def sleep(self, seconds: float | None) -> None:
        """Sleep (None: forever) unless a signal arrives first."""
        self.check()
        if self._event.wait(seconds):
            raise Stopped(self.signal or 15)
        self.check()


@dataclass
class ProcessIO:
    write: Callable[[int, bytes], None]  # (1 stdout | 2 stderr, bytes)
    stdin: Pipe | None
    control: Control
    fs: FS
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "/"
    hostname: str = "localhost"
    user: str = "root"


def _word_segments_expand(segments: list[tuple[str, str]], env: dict[str, str], status: int) -> str:
    out = []
    for kind, text in segments:
        out.append(text if kind == "'" else _expand(text, env, status))
    return "".join(out)


def _expand(text: str, env: dict[str, str], status: int) -> str:
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "$" or i + 1 >= len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "?":
            out.append(str(status))
            i += 2
        elif nxt == "$":
            out.append("1")
            i += 2
        elif nxt == "{":
            end = text.find("}", i)
            name = text[i + 2:end] if end > 0 else ""
            name, _, default = name.partition(":-")
            out.append(env.get(name) or default)
            i = end + 1 if end > 0 else len(text)
        elif nxt.isalnum() or nxt == "_":
            j = i + 1
            while j < len(text) and (text[j].isalnum() or text[j] == "_"):
                j += 1
            out.append(env.get(text[i + 1:j], ""))
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


Token = tuple[str, object]  # ("word", segments) | ("op", str)


def tokenize(script: str) -> list[Token]:
    tokens: list[Token] = []
    segments: list[tuple[str, str]] = []
    current: list[str] = []
    in_word = False
    i = 0

    def flush_text() -> None:
        if current:
            segments.append(("", "".join(current)))
            current.clear()

    def end_word() -> None:
        nonlocal in_word, segments
        flush_text()
        if in_word:
            tokens.append(("word", segments))
        segments = []
        in_word = False

    while i < len(script):
        ch = script[i]
        if ch in " \t":
            end_word()
            i += 1
        elif ch == "#" and not in_word:
            while i < len(script) and script[i] != "\n":
                i += 1
        elif ch == "\\" and i + 1 < len(script):
            if script[i + 1] == "\n":
                i += 2
                continue
            current.append(script[i + 1])
            in_word = True
            i += 2
        elif ch == "'":
            end = script.find("'", i + 1)
            end = len(script) if end < 0 else end
            flush_text()
            segments.append(("'", script[i + 1:end]))
            in_word = True
            i = end + 1
        elif ch == '"':
            j = i + 1
            buf = []
            while j < len(script) and script[j] != '"':
                if script[j] == "\\" and j + 1 < len(script) and script[j + 1] in '"\\$`':
                    buf.append(script[j + 1] if script[j + 1] != "$" else "\\$")
                    j += 2
                    continue
                buf.append(script[j])
                j += 1
            flush_text()
            segments.append(('"', "".join(buf)))
            in_word = True
            i = j + 1
        elif ch in ";\n|&<>":
            # An all-digit word right before a redirection is its fd ("2>&1").
            fd = ""
            if ch in "<>" and in_word and not segments and current and "".join(current).isdigit():
                fd = "".join(current)
                current.clear()
                in_word = False
            end_word()
            for op in ("&&", "||", ">>", ">&", "<<", ";", "\n", "|", "&", "<", ">"):
                if script.startswith(op, i):
                    tokens.append(("op", fd + op))
                    i += len(op)
                    break
        else:
            current.append(ch)
            in_word = True
            i += 1
    end_word()
    return tokens


@dataclass
class Simple:
    words: list[list[tuple[str, str]]] = field(default_factory=list)
    redirs: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)


# Compound commands: ("for", var, words, body) | ("while"/"until", cond, body) | ("if", [(cond, body)], else)
Compound = tuple
Seq = list  # [(connector, pipeline)] where a pipeline is [Simple | Compound]
KEYWORDS = {"for", "while", "until", "if", "then", "elif", "else", "fi", "do", "done", "in", "{", "}"}
_SEPARATORS = (";", "\n", "&", "&&", "||")


def _literal(token: Token) -> str | None:
    """The plain text of an unquoted word token (keywords only count when unquoted)."""
    if token[0] != "word":
        return None
    segments = token[1]
    if len(segments) == 1 and segments[0][0] == "":  # type: ignore[index]
        return str(segments[0][1])  # type: ignore[index]
    return None


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek_literal(self) -> str | None:
        return _literal(self.tokens[self.i]) if self.i < len(self.tokens) else None

    def skip_separators(self) -> None:
        while self.i < len(self.tokens) and self.tokens[self.i] == ("op", ";") or \
                self.i < len(self.tokens) and self.tokens[self.i] == ("op", "\n"):
            self.i += 1

    def expect(self, word: str) -> None:
        self.skip_separators()
        if self.peek_literal() != word:
            raise SyntaxError(f"syntax error: expected {word!r}")
        self.i += 1

    def parse_list(self, terminators: set[str]) -> Seq:
        items: Seq = []
        connector = ";"
        while True:
            self.skip_separators()
            if self.i >= len(self.tokens) or self.peek_literal() in terminators:
                return items
            pipeline = self.parse_pipeline()
            if pipeline:
                items.append((connector, pipeline))
            connector = ";"
            if self.i < len(self.tokens) and self.tokens[self.i][0] == "op" and self.tokens[self.i][1] in _SEPARATORS:
                op = str(self.tokens[self.i][1])
                connector = op if op in ("&&", "||") else ";"
                self.i += 1

    def parse_pipeline(self) -> list[Any]:
        stages = [self.parse_command()]
        while self.i < len(self.tokens) and self.tokens[self.i] == ("op", "|"):
            self.i += 1
            stages.append(self.parse_command())
        return [s for s in stages if s is not None]

    def parse_command(self) -> Any:
        word = self.peek_literal()
        if word == "for":
            self.i += 1
            var = self.peek_literal() or ""
            self.i += 1
            words: list[Any] = []
            if self.peek_literal() == "in":
                self.i += 1
                while self.i < len(self.tokens) and self.tokens[self.i][0] == "word":
                    words.append(self.tokens[self.i][1])
                    self.i += 1
            self.expect("do")
            body = self.parse_list({"done"})
            self.expect("done")
            return ("for", var, words, body)
        if word in ("while", "until"):
            self.i += 1
            cond = self.parse_list({"do"})
            self.expect("do")
            body = self.parse_list({"done"})
            self.expect("done")
            return (word, cond, body)
        if word == "if":
            self.i += 1
            branches = []
            otherwise: Seq = []
            while True:
                cond = self.parse_list({"then"})
                self.expect("then")
                body = self.parse_list({"elif", "else", "fi"})
                branches.append((cond, body))
                self.skip_separators()
                keyword = self.peek_literal()
                self.i += 1
                if keyword == "elif":
                    continue
                if keyword == "else":
                    otherwise = self.parse_list({"fi"})
                    self.expect("fi")
                elif keyword != "fi":
                    raise SyntaxError("syntax error: expected 'fi'")
                return ("if", branches, otherwise)
        if word == "{":
            self.i += 1
            body = self.parse_list({"}"})
            self.expect("}")
            return ("group", body)
        simple = Simple()
        while self.i < len(self.tokens):
            kind, value = self.tokens[self.i]
            if kind == "word":
                simple.words.append(value)  # type: ignore[arg-type]
            elif value in _SEPARATORS or value == "|":
                break
            else:  # redirection: the next word is its target
                target: list[tuple[str, str]] = []
                if self.i + 1 < len(self.tokens) and self.tokens[self.i + 1][0] == "word":
                    target = self.tokens[self.i + 1][1]  # type: ignore[assignment]
                    self.i += 1
                simple.redirs.append((str(value), target))
            self.i += 1
        return simple if simple.words or simple.redirs else None


def parse(script: str) -> Seq:
    """A command list: [(connector, pipeline)], connector being how it joins the previous one."""
    parser = _Parser(tokenize(script))
    seq = parser.parse_list(set())
    if parser.i < len(parser.tokens):
        raise SyntaxError(f"syntax error: unexpected {parser.peek_literal() or parser.tokens[parser.i][1]!r}")
    return seq


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

    # --- entry points --------------------------------------------------------------------
    def run(self, argv: list[str]) -> int:
        """A process's main: returns its exit code (128+n when signalled)."""
        try:
            return self.exec_argv(argv, self.io.write, self.io.stdin)
        except Stopped as stop:
            return 128 + stop.signal
        except ExitShell as done:
            return done.code

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
                text = _word_segments_expand(word, self.env, self.status)
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
        argv = [_word_segments_expand(w, self.env, self.status) for w in simple.words]
        # VAR=value prefixes set variables (only for this shell, which is close enough).
        while argv and "=" in argv[0] and argv[0].split("=", 1)[0].isidentifier():
            key, _, value = argv.pop(0).partition("=")
            self.env[key] = value
        targets = {1: write, 2: write}
        routes = {1: 1, 2: 2}
        files: list[tuple[str, bool, BytesSink]] = []
        for op, target_segments in simple.redirs:
            target = _word_segments_expand(target_segments, self.env, self.status)
            fd = int(op[0]) if op[0].isdigit() else (0 if op.lstrip("0123456789").startswith("<") else 1)
            kind = op.lstrip("0123456789")
            if kind == ">&":
                if target in ("1", "2"):
                    routes[fd] = routes[int(target)]
            elif kind in (">", ">>"):
                if target == "/dev/null":
                    routes[fd] = 0
                else:
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


# --- builtins ---------------------------------------------------------------------------------
Builtin = Callable[[Shell, list[str], Callable[[int, bytes], None], "Pipe | None"], int]


def _sh(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    args = argv[1:]
    while args and args[0] in ("-e", "-x", "-l", "-i", "-u"):
        args = args[1:]
    sub = Shell(ProcessIO(write, stdin, shell.io.control, shell.io.fs, shell.env, shell.cwd, shell.io.hostname,
                          shell.io.user))
    try:
        if args and args[0] == "-c":
            if len(args) < 2:
                write(2, b"sh: -c requires an argument\n")
                return 2
            return sub.run_script(args[1], write, stdin)
        if args:
            entry = shell.io.fs.get(norm(args[0], shell.cwd))
            if entry is None:
                write(2, f"sh: can't open '{args[0]}': No such file or directory\n".encode())
                return 2
            return sub.run_script(entry.data.decode(errors="replace"), write, stdin)
        # Interactive-ish: run each stdin line as it arrives, exit at EOF.
        pending = b""
        for chunk in _stdin_chunks(shell, stdin):
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                sub.run_script(line.decode(errors="replace"), write, None)
        if pending.strip():
            sub.run_script(pending.decode(errors="replace"), write, None)
        return sub.status
    except ExitShell as done:
        return done.code


def _stdin_chunks(shell: Shell, stdin: Pipe | None):
    if stdin is None:
        return
    while True:
        shell.io.control.check()
        data = stdin.read(0.05)
        if data is None:
            return
        if data:
            yield data


def _echo(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    args = argv[1:]
    newline = True
    escapes = False
    while args and args[0] in ("-n", "-e", "-ne", "-en", "-E"):
        newline = newline and "n" not in args[0]
        escapes = escapes or "e" in args[0]
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text = text.encode().decode("unicode_escape")
    write(1, (text + ("\n" if newline else "")).encode())
    return 0


def _printf(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    if len(argv) < 2:
        write(2, b"printf: usage: printf FORMAT [ARGUMENT]...\n")
        return 1
    fmt = argv[1].encode().decode("unicode_escape")
    args = argv[2:]
    out = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            spec = fmt[i + 1]
            if spec == "%":
                out.append("%")
            else:
                value = args.pop(0) if args else ""
                out.append(str(int(value or 0)) if spec == "d" else value)
            i += 2
        else:
            out.append(fmt[i])
            i += 1
    write(1, "".join(out).encode())
    return 0


def _cat(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    files = [a for a in argv[1:] if a != "-"]
    if not files:
        for chunk in _stdin_chunks(shell, stdin):
            write(1, chunk)
        return 0
    status = 0
    for name in files:
        entry = shell.io.fs.get(norm(name, shell.cwd))
        if entry is None or entry.kind == "dir":
            write(2, f"cat: can't open '{name}': No such file or directory\n".encode())
            status = 1
            continue
        write(1, entry.data)
    return status


def _sleep(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    total = 0.0
    for arg in argv[1:] or ["0"]:
        if arg == "infinity":
            shell.io.control.sleep(None)
        try:
            unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(arg[-1:], None)
            total += float(arg[:-1]) * unit if unit else float(arg)
        except ValueError:
            write(2, f"sleep: invalid number '{arg}'\n".encode())
            return 1
    shell.io.control.sleep(total)
    return 0


def _exit(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    try:
        code = int(argv[1]) if len(argv) > 1 else shell.status
    except ValueError:
        code = 2
    raise ExitShell(code & 0xFF)


def _export(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    for arg in argv[1:]:
        key, sep, value = arg.partition("=")
        if sep:
            shell.env[key] = value
    return 0


def _cd(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    target = norm(argv[1] if len(argv) > 1 else "/root", shell.cwd)
    if not shell.io.fs.is_dir(target):
        write(2, f"sh: cd: can't cd to {argv[1]}: No such file or directory\n".encode())
        return 2
    shell.cwd = target
    return 0


def _env(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    if len(argv) > 1 and argv[0].endswith("printenv"):
        value = shell.env.get(argv[1])
        if value is None:
            return 1
        write(1, (value + "\n").encode())
        return 0
    write(1, "".join(f"{k}={v}\n" for k, v in shell.env.items()).encode())
    return 0


def _const(code: int) -> Builtin:
    return lambda shell, argv, write, stdin: code


def _text(text: Callable[[Shell, list[str]], str]) -> Builtin:
    def run(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
        write(1, text(shell, argv).encode())
        return 0
    return run


def _touch(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    for name in argv[1:]:
        if not name.startswith("-"):
            shell.io.fs.touch(norm(name, shell.cwd))
    return 0


def _mkdir(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    parents = "-p" in argv
    for name in argv[1:]:
        if not name.startswith("-"):
            shell.io.fs.mkdir(norm(name, shell.cwd), parents=parents)
    return 0


def _rm(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-"))
    status = 0
    for name in argv[1:]:
        if name.startswith("-"):
            continue
        try:
            shell.io.fs.remove(norm(name, shell.cwd), recursive="r" in flags or "R" in flags)
        except ApiError:
            if "f" not in flags:
                write(2, f"rm: can't remove '{name}': No such file or directory\n".encode())
                status = 1
    return status


def _ls(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    names = [a for a in argv[1:] if not a.startswith("-")] or [shell.cwd]
    status = 0
    for name in names:
        path = norm(name, shell.cwd)
        entry = shell.io.fs.get(path)
        if entry is None:
            write(2, f"ls: {name}: No such file or directory\n".encode())
            status = 1
        elif entry.kind == "dir":
            listing = [posixpath.basename(p) for p in shell.io.fs.children(shell.io.fs.resolve(path))]
            write(1, "".join(n + "\n" for n in listing).encode())
        else:
            write(1, (name + "\n").encode())
    return status


def _seq(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    nums = [int(a) for a in argv[1:]]
    first, last = (1, nums[0]) if len(nums) == 1 else (nums[0], nums[-1]) if nums else (1, 0)
    write(1, "".join(f"{n}\n" for n in range(first, last + 1)).encode())
    return 0


def _head_tail(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    if "-f" in argv or "-F" in argv:
        shell.io.control.sleep(None)
    count = 10
    files = []
    args = argv[1:]
    while args:
        arg = args.pop(0)
        if arg == "-n" and args:
            count = int(args.pop(0).lstrip("+"))
        elif arg.startswith("-") and arg[1:].isdigit():
            count = int(arg[1:])
        else:
            files.append(arg)
    if files:
        entry = shell.io.fs.get(norm(files[0], shell.cwd))
        data = entry.data if entry else b""
    else:
        data = b"".join(_stdin_chunks(shell, stdin))
    lines = data.splitlines(keepends=True)
    chosen = lines[:count] if argv[0].endswith("head") else lines[-count:] if count else []
    write(1, b"".join(chosen))
    return 0


def _wc(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    data = b"".join(_stdin_chunks(shell, stdin))
    lines = data.count(b"\n")
    if "-l" in argv:
        write(1, f"{lines}\n".encode())
    elif "-c" in argv:
        write(1, f"{len(data)}\n".encode())
    else:
        write(1, f"{lines} {len(data.split())} {len(data)}\n".encode())
    return 0


def _test(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    args = argv[1:-1] if argv[0] == "[" else argv[1:]
    if len(args) == 2 and args[0] in ("-e", "-f", "-d"):
        entry = shell.io.fs.get(norm(args[1], shell.cwd))
        ok = entry is not None and (args[0] == "-e" or (entry.kind == "dir") == (args[0] == "-d"))
        return 0 if ok else 1
    if len(args) == 3 and args[1] in ("=", "==", "!="):
        return 0 if (args[0] == args[2]) == (args[1] != "!=") else 1
    if len(args) == 2 and args[0] in ("-n", "-z"):
        return 0 if bool(args[1]) == (args[0] == "-n") else 1
    return 0 if args and args[0] else 1


def _ps(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    write(1, b"PID   USER     TIME  COMMAND\n    1 root      0:00 sh\n")
    return 0


def _date(shell: Shell, argv: list[str]) -> str:
    return time.strftime("%a %b %e %H:%M:%S UTC %Y\n", time.gmtime())


def _busybox(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    if len(argv) < 2:
        write(1, b"BusyBox v1.36.1 (fake) multi-call binary.\n")
        return 0
    return shell.exec_argv(argv[1:], write, stdin)


def _env_exec(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    args = argv[1:]
    while args and "=" in args[0] and not args[0].startswith("-"):
        key, _, value = args.pop(0).partition("=")
        shell.env[key] = value
    if args and argv[0].endswith("env") and not argv[0].endswith("printenv"):
        return shell.exec_argv(args, write, stdin)
    return _env(shell, [argv[0], *args], write, stdin)


def _timeout(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    return shell.exec_argv(args[1:], write, stdin) if len(args) > 1 else 1


def _grep(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    import re as _re
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-") and len(a) > 1)
    args = [a for a in argv[1:] if not (a.startswith("-") and len(a) > 1)]
    if not args:
        write(2, b"grep: no pattern\n")
        return 2
    pattern = _re.compile(args[0], _re.I if "i" in flags else 0)
    if len(args) > 1:
        entry = shell.io.fs.get(norm(args[1], shell.cwd))
        data = entry.data if entry else b""
    else:
        data = b"".join(_stdin_chunks(shell, stdin))
    lines = [line for line in data.decode(errors="replace").splitlines(keepends=True)
             if bool(pattern.search(line)) != ("v" in flags)]
    if "c" in flags:
        write(1, f"{len(lines)}\n".encode())
    elif "q" not in flags:
        write(1, "".join(lines).encode())
    return 0 if lines else 1


def _cp_mv(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    if len(args) != 2:
        write(2, f"{argv[0]}: missing file operand\n".encode())
        return 1
    fs = shell.io.fs
    src, dest = norm(args[0], shell.cwd), norm(args[1], shell.cwd)
    entry = fs.get(src)
    if entry is None:
        write(2, f"{argv[0]}: can't stat '{args[0]}': No such file or directory\n".encode())
        return 1
    if fs.is_dir(dest):
        dest = posixpath.join(dest, posixpath.basename(src))
    if argv[0].endswith("ln"):
        from .fs import Entry
        fs.entries[fs.resolve(posixpath.dirname(dest)) + "/" + posixpath.basename(dest)] = Entry(
            "symlink", 0o777, time.time(), linkname=args[0]) if "-s" in argv else entry
        return 0
    fs.write(dest, entry.data, entry.mode)
    if argv[0].endswith("mv"):
        fs.remove(src, recursive=True)
    return 0


def _id(shell: Shell, argv: list[str]) -> str:
    """`id [-u|-g]` of the process's user: "name", "uid", "name:group" or "uid:gid" (looked up in /etc/passwd)."""
    user, _, group = (shell.io.user or "root").partition(":")
    entry = shell.io.fs.get("/etc/passwd")
    rows = [line.split(":") for line in (entry.data.decode(errors="replace") if entry else "").splitlines()]
    row = next((r for r in rows if len(r) > 3 and user in (r[0], r[2])), None)
    uid = row[2] if row else user if user.isdigit() else "0"
    gid = group if group.isdigit() else row[3] if row else uid
    if "-u" in argv:
        return uid + "\n"
    if "-g" in argv:
        return gid + "\n"
    name = f"({row[0]})" if row else ""
    return f"uid={uid}{name} gid={gid}\n" if uid != "0" else "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n"


def _read(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    names = [a for a in argv[1:] if not a.startswith("-")] or ["REPLY"]
    if stdin is None:
        return 1
    line = stdin.readline(shell.io.control)
    if line is None:
        return 1
    text = line.decode(errors="replace").rstrip("\n").rstrip("\r")
    parts = text.split(None, len(names) - 1) if len(names) > 1 else [text.strip()]
    for index, name in enumerate(names):
        shell.env[name] = parts[index] if index < len(parts) else ""
    return 0


SHELL_ONLY: dict[str, Builtin] = {
    "exit": _exit, "export": _export, "cd": _cd, ":": _const(0), "read": _read,
}

BUILTINS: dict[str, Builtin] = {
    "sh": _sh, "ash": _sh, "bash": _sh,
    "echo": _echo, "printf": _printf, "cat": _cat, "sleep": _sleep,
    "true": _const(0), "false": _const(1),
    "env": _env_exec, "printenv": _env, "busybox": _busybox, "timeout": _timeout, "grep": _grep,
    "cp": _cp_mv, "mv": _cp_mv, "ln": _cp_mv,
    "hostname": _text(lambda s, a: s.io.hostname + "\n"),
    "pwd": _text(lambda s, a: s.cwd + "\n"),
    "id": _text(lambda s, a: _id(s, a)),
    "whoami": _text(lambda s, a: "root\n"),
    "uname": _text(lambda s, a: "Linux\n" if len(a) == 1 else "Linux fake 6.0.0-fake #1 SMP x86_64 GNU/Linux\n"),
    "date": _text(_date),
    "touch": _touch, "mkdir": _mkdir, "rm": _rm, "ls": _ls, "seq": _seq,
    "head": _head_tail, "tail": _head_tail, "wc": _wc,
    "test": _test, "[": _test, "ps": _ps,
    "wget": _const(1), "kill": _const(0),
}
