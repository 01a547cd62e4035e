"""The shell's builtin commands (echo, cat, sleep, sh, ls, grep, ...) and the tables the Shell dispatches on.

Each builtin is `(shell, argv, write, stdin) -> exit status`.  The Shell type is imported only for type
checking, so this module stays below cmdlang.py in the import graph.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .fs import Entry, norm
from .shell_io import ExitShell, Pipe, ProcessIO, Stopped, parse_signal
from .wire import ApiError

if TYPE_CHECKING:
    from .cmdlang import Shell

# Shell is only a forward reference here: cmdlang.py imports this table, not the other way round.
Builtin = Callable[["Shell", list[str], Callable[[int, bytes], None], "Pipe | None"], int]


def _sh(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    args = argv[1:]
    while args and args[0] in ("-e", "-x", "-l", "-i", "-u"):
        args = args[1:]
    # type(shell), not Shell: a same-class sub-shell without importing cmdlang at runtime.
    sub = type(shell)(ProcessIO(write, stdin, shell.io.control, shell.io.fs, shell.env, shell.cwd, shell.io.hostname,
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
    except Stopped as stop:
        code = sub.trapped(stop)
        if code is None:
            raise
        return code


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


def _on_operands(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], refusal: str,
                 act: Callable[[str, str], int], existing_only: bool = False) -> int:
    """`act(name, path)` for each operand (its status; the worst one is the command's).  An operand below a
    read-only mount is refused with busybox's `refusal` + ": Read-only file system" (rm: only one that exists)."""
    status = 0
    for name in argv[1:]:
        if name.startswith("-"):
            continue
        path = norm(name, shell.cwd)
        if (not existing_only or shell.io.fs.exists(path)) and shell.io.fs.read_only(path):
            write(2, f"{refusal.format(name=name)}: Read-only file system\n".encode())
            status = 1
            continue
        status = act(name, path) or status
    return status


def _touch(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    def touch(name: str, path: str) -> int:
        shell.io.fs.touch(path)
        return 0
    return _on_operands(shell, argv, write, "touch: {name}", touch)


def _mkdir(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    def mkdir(name: str, path: str) -> int:
        shell.io.fs.mkdir(path, parents="-p" in argv)
        return 0
    return _on_operands(shell, argv, write, "mkdir: can't create directory '{name}'", mkdir)


def _rm(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-"))

    def rm(name: str, path: str) -> int:
        try:
            shell.io.fs.remove(path, recursive="r" in flags or "R" in flags)
        except ApiError:
            if "f" not in flags:
                write(2, f"rm: can't remove '{name}': No such file or directory\n".encode())
                return 1
        return 0
    return _on_operands(shell, argv, write, "rm: can't remove '{name}'", rm, existing_only=True)


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
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-") and len(a) > 1)
    args = [a for a in argv[1:] if not (a.startswith("-") and len(a) > 1)]
    if not args:
        write(2, b"grep: no pattern\n")
        return 2
    pattern = re.compile(args[0], re.I if "i" in flags else 0)
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
    symlink = argv[0].endswith("ln") and "-s" in argv  # a symlink's target need not exist
    if entry is None and not symlink:
        write(2, f"{argv[0]}: can't stat '{args[0]}': No such file or directory\n".encode())
        return 1
    if fs.is_dir(dest):
        dest = posixpath.join(dest, posixpath.basename(src))
    if fs.read_only(dest):
        write(2, f"{argv[0]}: can't create '{args[1]}': Read-only file system\n".encode())
        return 1
    if argv[0].endswith("ln"):
        fs.entries[fs.resolve(posixpath.dirname(dest)) + "/" + posixpath.basename(dest)] = Entry(
            "symlink", 0o777, time.time(), linkname=args[0]) if symlink or entry is None else entry
        return 0
    if entry is None:  # (only a symlink gets here without one)
        return 1
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


def _trap(shell: Shell, argv: list[str], write: Callable[[int, bytes], None], stdin: Pipe | None) -> int:
    """`trap ACTION SIG...` (`-` resets): the shell runs ACTION when the signal stops it (Shell.run)."""
    if len(argv) < 3:
        return 0
    action = argv[1]
    for name in argv[2:]:
        try:
            number = parse_signal(name)
        except ApiError:
            write(2, f"sh: trap: {name}: bad trap\n".encode())
            return 1
        if action == "-":
            shell.traps.pop(number, None)
            shell.io.control.handled.discard(number)
        else:
            shell.traps[number] = action
            shell.io.control.handled.add(number)
    return 0


SHELL_ONLY: dict[str, Builtin] = {
    "exit": _exit, "export": _export, "cd": _cd, ":": _const(0), "read": _read, "trap": _trap,
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
