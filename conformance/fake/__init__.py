"""A stateful fake Docker Engine, in-process (`start_fake`) or standalone (`python -m conformance.fake`).

    fake = start_fake()              # tcp://127.0.0.1:<port>, API 1.25 .. 1.56
    client = docker.DockerClient(base_url=fake.url)
    ...
    fake.faults.add("short-frame")   # inject a catalogued fault (see conformance.fake.faults)
    fake.stop()
"""

from __future__ import annotations

from collections.abc import Iterable

import docker

from .engine import FAKE_VERSION, NULLS, Engine
from .faults import FAULTS
from .server import FakeServer, Handler
from .swarm_classic import SwarmClassicManager

KINDS = ("docker", "swarm-classic")


class FakeEngine:
    """A running fake: `.url` (usable as DOCKER_HOST), `.faults` (mutable set), `.registries`, `.stop()`.

    `.registries` names the fake's own registries (`open`, `auth` with its `user` and `password`): the
    fake stands for them, so push, pull, login and distribution run without a registry of the user's.
    `.lacks` maps a capability the fake does not provide to why, `.provides` names those it stands for
    beyond the session's options (plugins/safety.py capabilities).
    """

    def __init__(self, server: FakeServer, engine: Handler) -> None:
        self._server = server
        self.engine = engine
        self.url = server.url
        self.lacks: dict[str, str] = {}
        # Its registry answers ImageSearch; it keeps the Docker Engine's predefined networks; as a swarm
        # manager it has a twin outside swarm mode for the scenarios that need one (plugins/calls.py engine); a
        # second engine to join swarms with is a fake of its own (plugins/fixtures_peer.py).
        self.provides = ("image-index", "docker-engine", "not-swarm-manager", "swarm-inactive", "swarm-peer")
        self.registries = engine.registry.own_hosts()  # type: ignore[attr-defined]

    def require_login(self, host: str, user: str, password: str) -> None:
        """Make the fake stand for a registry that wants these credentials (e.g. the user's --registry-auth)."""
        self.engine.registry.require_login(host, user, password)  # type: ignore[attr-defined]

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
                kind: str = "docker", nulls: str = "spec") -> Handler:
    """The request handler for a kind; a wrapper kind can build several Engines and sit in front."""
    if kind == "docker":
        return Engine(min_api, max_api, set(faults), nulls=nulls)
    if kind == "swarm-classic":
        return SwarmClassicManager(min_api, max_api, set(faults))
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def start_fake(listen: str = "tcp://127.0.0.1:0", min_api: str = "1.25", max_api: str = "1.56",
               faults: Iterable[str] = (), kind: str = "docker", swarm: str = "inactive",
               nulls: str = "spec") -> FakeEngine:
    """Serve a fake; `swarm="manager"` makes it a single-node swarm manager (through its own SwarmInit,
    before any fault is on); `nulls="engine"` sends the Engine's nulls (Go nil slices, maps, pointers) as
    they are, where the default sends spec-clean bodies (conformance/fake/engine.py `_conform`)."""
    if swarm not in ("manager", "inactive"):
        raise ValueError(f"unknown swarm state {swarm!r}; expected manager or inactive")
    engine = make_engine(min_api, max_api, faults, kind, nulls)
    server = FakeServer(listen, engine)
    server.start()
    fake = FakeEngine(server, engine)
    if swarm == "manager":
        held = set(fake.faults)
        fake.faults.clear()
        try:
            # Its own address (unique among this process's fakes): another fake joins it there (swarm_model.MANAGERS)
            state = getattr(engine, "state", None)
            address = state.swarm.host_addr if state is not None else "127.0.0.1"
            docker.APIClient(base_url=fake.url, version=min_api).init_swarm(advertise_addr=address)
        finally:
            fake.faults.update(held)
    return fake


__all__ = ["FAKE_VERSION", "FAULTS", "KINDS", "NULLS", "Engine", "FakeEngine", "make_engine", "start_fake"]
