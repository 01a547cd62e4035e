"""A second engine for the swarm scenarios that take two nodes: SwarmJoin (the target joins the peer's swarm)
and NodeDelete (the peer joins the target's swarm as a worker, leaves, and the target removes its node).

The peer is --swarm-peer (an engine outside any swarm that the target reaches at --swarm-peer-addr); with the
embedded fake as the target, a fake of its own (plugins.session own_fake: fakes of one process reach each
other's swarms).  Managers are joined where /info says they are (Swarm.RemoteManagers).  Both
fixtures leave the swarms they made or joined, also when the scenario fails.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import docker
import docker.errors
import pytest

from conformance import skips
from plugins.fixtures import _quietly, _requires, _state
from plugins.safety import needs_outside_swarm_twin
from plugins.session import SuiteState, own_fake

PEER_API = "1.25"  # init, join, leave and the node calls exist there; the peer is any Engine from 1.25


@pytest.fixture(scope="session")
def swarm_peer(request: pytest.FixtureRequest) -> Iterator[tuple[docker.APIClient, str | None]]:
    """(a client of the peer engine, the IP the target reaches it at; None: the peer's own choice)."""
    _requires(request, "swarm-peer")
    state = _state(request)
    url = request.config.getoption("--swarm-peer")
    if url:
        host = urlparse(url).hostname if not url.startswith("unix://") else "127.0.0.1"
        yield docker.APIClient(base_url=url, version=PEER_API), request.config.getoption("--swarm-peer-addr") or host
        return
    peer = own_fake(state)  # the embedded fake's own peer (a fake advertises an address of its own)
    try:
        yield peer.api, None
    finally:
        peer.fake.stop()


def _manager_addr(client: docker.APIClient) -> list[str]:
    """Where workers join this manager: /info's Swarm.RemoteManagers (a manager lists itself there)."""
    return [str(m["Addr"]) for m in (client.info()["Swarm"].get("RemoteManagers") or [])]


def _joining_node(request: pytest.FixtureRequest) -> SuiteState:
    """The engine a swarm-inactive scenario is sent to (on the embedded fake: its twin outside swarm mode)."""
    state = _state(request)
    if needs_outside_swarm_twin(state, ("swarm-inactive",)):
        return request.getfixturevalue("fake_outside_swarm")  # type: ignore[no-any-return]
    return state


def _leave(client: docker.APIClient) -> None:
    _quietly(client.leave_swarm, force=True)


@pytest.fixture
def peer_manager(request: pytest.FixtureRequest,
                 swarm_peer: tuple[docker.APIClient, str | None]) -> Iterator[dict[str, Any]]:
    """{peer_manager.addr} (HOST:2377) and {peer_manager.token} (its worker token): the peer as the manager of a
    swarm of its own, for the target (outside any swarm) to join; afterwards the target leaves, then the peer."""
    _requires(request, "swarm-inactive", "global-changes")
    peer, addr = swarm_peer
    joining = _joining_node(request)
    peer.init_swarm(advertise_addr=addr, listen_addr="0.0.0.0:2377")
    try:
        yield {"addr": _manager_addr(peer)[0], "token": peer.inspect_swarm()["JoinTokens"]["Worker"]}
    finally:
        _leave(joining.api)
        _leave(peer)


@pytest.fixture
def departed_worker(request: pytest.FixtureRequest,
                    swarm_peer: tuple[docker.APIClient, str | None]) -> Iterator[str]:
    """The node id of the peer after it joined the target's swarm as a worker and left it again: the target lists
    it as down (waited for, up to 30 s: a manager sees a departed worker down once its heartbeats stop)."""
    _requires(request, "swarm-manager", "global-changes")
    state = _state(request)
    peer, addr = swarm_peer
    token = state.sdk.inspect_swarm()["JoinTokens"]["Worker"]
    peer.join_swarm(_manager_addr(state.sdk), token, listen_addr="0.0.0.0:2377", advertise_addr=addr)
    node_id = str(peer.info()["Swarm"]["NodeID"])
    try:
        peer.leave_swarm()
        deadline = time.monotonic() + 30
        while state.sdk.inspect_node(node_id)["Status"]["State"] != "down":
            if time.monotonic() > deadline:
                skips.skip(skips.PRECONDITION, f"the peer's node {node_id} is not down 30 s after it left")
            time.sleep(0.5)
        yield node_id
    finally:
        _leave(peer)
        _quietly(state.sdk.remove_node, node_id, force=True)
