"""A stateful fake Docker Engine, in-process (`start_fake`) or standalone (`python -m conformance.fake`).

    fake = start_fake()              # tcp://127.0.0.1:<port>, API 1.25 .. 1.56
    client = docker.DockerClient(base_url=fake.url)
    ...
    fake.faults.add("short-frame")   # inject a catalogued fault (see conformance.fake.faults)
    fake.stop()
"""

from __future__ import annotations

from collections.abc import Iterable

from .engine import FAKE_VERSION, Engine
from .faults import FAULTS
from .server import FakeServer, Handler

KINDS = ("docker", "swarm-classic")


# What the embedded fake does not provide, whatever kind it plays: capability (a `requires:` name of
# suites/scenarios) -> why.  plugins/safety.py skips the scenarios that require one ("needs capability").
LACKS = {"registry-auth": "the embedded fake does not check registry credentials (no registry stands behind it)"}


class FakeEngine:
    """A running fake: `.url` (usable as DOCKER_HOST), `.faults` (mutable set), `.lacks`, `.stop()`."""

    def __init__(self, server: FakeServer, engine: Handler) -> None:
        self._server = server
        self.engine = engine
        self.url = server.url
        self.lacks = dict(LACKS)  # capabilities this target declares it lacks (plugins/safety.py target_lacks)

    @property
    def faults(self) -> set[str]:
        return self.engine.faults  # type: ignore[attr-defined,no-any-return]

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_engine(min_api: str = "1.25", max_api: str = "1.56", faults: Iterable[str] = (),
                kind: str = "docker") -> Handler:
    """The request handler for a kind; a wrapper kind can build several Engines and sit in front."""
    if kind == "docker":
        return Engine(min_api, max_api, set(faults))
    if kind == "swarm-classic":
        from .swarm_classic import SwarmClassicManager
        return SwarmClassicManager(min_api, max_api, set(faults))
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def start_fake(listen: str = "tcp://127.0.0.1:0", min_api: str = "1.25", max_api: str = "1.56",
               faults: Iterable[str] = (), kind: str = "docker") -> FakeEngine:
    engine = make_engine(min_api, max_api, faults, kind)
    server = FakeServer(listen, engine)
    server.start()
    return FakeEngine(server, engine)


__all__ = ["FAKE_VERSION", "FAULTS", "KINDS", "Engine", "FakeEngine", "make_engine", "start_fake"]
