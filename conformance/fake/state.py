"""All of one engine's state behind one re-entrant lock (plus a condition for waiters/streams).

Resource records live in their model modules (container_model.py, image_store.py, ...); this object just owns
the collections so every handler sees one consistent world.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Any

from .container_model import shutdown_all
from .events import EventLog
from .fs import FS
from .image_store import ImageStore
from .network_model import seed_networks
from .swarm_model import SwarmState
from .util import new_id, now_ns

if TYPE_CHECKING:
    from .container_model import Container
    from .engine import Engine
    from .execs import Exec
    from .network_model import Network
    from .volumes import Volume


HOST_DIRS = ("/etc", "/home", "/mnt", "/opt", "/root", "/run", "/srv", "/tmp", "/usr/local", "/var/lib", "/var/log")


class State:
    def __init__(self, engine: Engine, name: str = "fake-engine") -> None:
        self.engine = engine
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.closing = False
        self.hostname = name or socket.gethostname()
        self.engine_id = new_id()[:12].upper()
        self.started_ns = now_ns()
        self.containers: dict[str, Container] = {}
        self.images: ImageStore = ImageStore(self, engine.registry)
        self.networks: dict[str, Network] = {}
        self.volumes: dict[str, Volume] = {}
        # The host's directories as bind mounts see them: the fake's own tree, never the real host's files
        self.host_fs = FS()
        for path in HOST_DIRS:
            self.host_fs.mkdir(path)
        self.execs: dict[str, Exec] = {}
        self.events = EventLog(self.cond)
        self.swarm: SwarmState = SwarmState(self)
        self.extra: dict[str, Any] = {}
        seed_networks(self)

    def emit(self, type_: str, action: str, actor_id: str, attributes: dict[str, str] | None = None,
             scope: str = "local", extra: dict[str, Any] | None = None) -> None:
        self.events.emit(type_, action, actor_id, attributes or {}, scope, extra or {})

    def wait(self, timeout: float) -> None:
        """Sleep until something changes (or timeout); callers hold no lock."""
        with self.cond:
            if not self.closing:
                self.cond.wait(timeout)

    def notify(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        shutdown_all(self)
