"""Stream encodings: stdcopy multiplexing, RFC 6455 websocket frames, and the hijacked
attach/exec session (output pump + stdin pump over one raw connection).
"""

from __future__ import annotations

import base64
import hashlib
import struct
import threading
from collections.abc import Callable, Iterator

from .wire import Conn

RAW = "application/vnd.docker.raw-stream"
MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(stream: int, data: bytes) -> bytes:
    """stdcopy frame: stream byte (0 stdin, 1 stdout, 2 stderr), 3 zero bytes, big-endian length."""
    return struct.pack(">BxxxL", stream, len(data)) + data


def encode(stream: int, data: bytes, tty: bool) -> bytes:
    return data if tty else frame(stream, data)


def stream_content_type(multiplexed_allowed: bool, tty: bool) -> str:
    """The Engine labels a hijacked stream raw, except a non-TTY stream upgraded (101) at API 1.42+, which it
    labels multiplexed (moby container_routes.go postContainersAttach / exec.go postContainerExecStart)."""
    if not multiplexed_allowed:
        return RAW
    return RAW if tty else MULTIPLEXED


# --- websocket (server side) -----------------------------------------------------------------
def ws_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """An unmasked server frame (FIN set); x/net/websocket sends text frames by default."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += bytes([126]) + struct.pack(">H", size)
    else:
        head += bytes([127]) + struct.pack(">Q", size)
    return head + payload


class WsReader:
    """Decodes client frames (masked) from a raw connection."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.buf = b""

    def _need(self, size: int) -> bool:
        while len(self.buf) < size:
            data = self.conn.read()
            if not data:
                return False
            self.buf += data
        return True

    def next(self) -> tuple[int, bytes] | None:
        """(opcode, payload) or None at EOF."""
        if not self._need(2):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        opcode, masked, size = b0 & 0x0F, b1 & 0x80, b1 & 0x7F
        offset = 2
        if size == 126:
            if not self._need(4):
                return None
            size = struct.unpack(">H", self.buf[2:4])[0]
            offset = 4
        elif size == 127:
            if not self._need(10):
                return None
            size = struct.unpack(">Q", self.buf[2:10])[0]
            offset = 10
        mask = b""
        if masked:
            if not self._need(offset + 4):
                return None
            mask = self.buf[offset:offset + 4]
            offset += 4
        if not self._need(offset + size):
            return None
        payload = self.buf[offset:offset + size]
        self.buf = self.buf[offset + size:]
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return opcode, payload


# --- hijacked session ------------------------------------------------------------------------
def pump_stdin(conn: Conn, write: Callable[[bytes], None], on_eof: Callable[[], None]) -> threading.Thread:
    """Copy client bytes to a process's stdin until the client half-closes, then call on_eof."""
    def run() -> None:
        while True:
            data = conn.read()
            if not data:
                break
            write(data)
        on_eof()
    thread = threading.Thread(target=run, name="fake-stdin", daemon=True)
    thread.start()
    return thread


def send_all(conn: Conn, chunks: Iterator[bytes]) -> None:
    try:
        for chunk in chunks:
            if chunk and not conn.write(chunk):
                return
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
