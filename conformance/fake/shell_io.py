"""The process plumbing below the shell: stdin pipes, signal/pause control, exit exceptions.

Kept apart from cmdlang.py so the builtins (shell_builtins.py) can use these types without importing
the Shell that dispatches to them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .fs import FS
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
        self.handled: set[int] = set()  # signals the process traps (a PID 1 gets only those, and SIGKILL)
        self._event = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def kill(self, signal: int) -> None:
        self.signal = signal
        self._event.set()

    def clear(self) -> None:
        """The signal was handled (a shell trap): the process runs on."""
        self.signal = None
        self._event.clear()

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
