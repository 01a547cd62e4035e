"""Shared objects of the network, volume and plugin promises (a pytest plugin listed in the top-level conftest.py).

Made once per session (per xdist worker) with the settings the catalogue reads back (suites/promises/network.yaml,
volume.yaml, plugin.yaml): a network with every setting the promises name and a plain one; a volume with
options and a plain one; one running container that uses the first network (with an alias) and the first
volume; with --allow-global-changes, two disabled plugins of different capabilities.

Names: a pinned target (a classic Swarm manager, conformance/placement.py) gets networks and volumes created as
"<node>/<name>".  That prefix only places the object: the engine gets the bare name and the create answer shows
it, "<node>/<vol>" inside Binds or Mounts reaches the engine unchanged (so a container names the object by its
bare name), and the manager's lists show local objects as "<node>/<name>" (shared/specs/swarm-classic/SOURCE.md).
So each of these fixtures gives `name` (the object's own name) and `listed` (how NetworkList and VolumeList name
it); on an Engine both are the name asked for.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
import pytest

from plugins.fixtures import _quietly, _requires, _state, unique_name
from plugins.session import SuiteState
from suites.promise_checks.fixtures import PROMISE_LABEL

# What promise_net is made with (read back by network.yaml).
NETWORK = {"driver": "bridge", "internal": True, "attachable": True,
           "options": {"com.docker.network.bridge.enable_icc": "false"}}
ALIAS = "dac-promise-alias"  # promise_net_vol_user's alias on promise_net
CONNECT_ALIAS = "dac-connect-alias"  # its alias when the connect sequence attaches it to promise_net_other
# What promise_vol is made with (read back by volume.yaml): a tmpfs, so the container's mount costs no disk.
VOLUME_OPTIONS = {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
MOUNT_AT = "/data"
# The plugins (read back by plugin.yaml): an empty rootfs, never enabled.
PLUGIN_BASE: dict[str, Any] = {
    "Documentation": "https://example.invalid/docker-api-conformance",
    "Entrypoint": ["/bin/sh", "-c", "sleep 600"],
    "Network": {"Type": "host"},
    "Env": [{"Name": "DAC_SETTING", "Description": "settable", "Settable": ["value"], "Value": "a"}],
}
PLUGINS = {
    "volume": {**PLUGIN_BASE, "Description": "docker-api-conformance promise plugin (volume driver)",
               "Interface": {"Types": ["docker.volumedriver/1.0"], "Socket": "dac-volume.sock"}},
    "network": {**PLUGIN_BASE, "Description": "docker-api-conformance promise plugin (network driver)",
                "Interface": {"Types": ["docker.networkdriver/1.0"], "Socket": "dac-network.sock"}},
}


def _labels(state: SuiteState, role: str) -> dict[str, str]:
    return {**state.label, PROMISE_LABEL: role}


def _create_subject_network(state: SuiteState, name: str) -> tuple[dict[str, Any], str]:
    """Create promise_net with an IPAM pool of its own: 10.203.N.0/24, N from the run and worker, the next N
    when the pool overlaps another network's (other workers and runs make networks on the same engine)."""
    sdk = state.sdk
    start = int(hashlib.sha256(f"{state.run_id}-{state.worker}".encode()).hexdigest(), 16) % 250
    last: Exception | None = None
    for step in range(12):
        third = (start + step * 17) % 250 + 2
        ipam = {"Subnet": f"10.203.{third}.0/24", "Gateway": f"10.203.{third}.1", "IPRange": f"10.203.{third}.128/25"}
        pool = docker.types.IPAMPool(subnet=ipam["Subnet"], gateway=ipam["Gateway"], iprange=ipam["IPRange"])
        try:
            created = sdk.create_network(name, driver=NETWORK["driver"], internal=NETWORK["internal"],
                                         attachable=NETWORK["attachable"], options=NETWORK["options"],
                                         labels=_labels(state, "subject"), enable_ipv6=False,
                                         ipam=docker.types.IPAMConfig(pool_configs=[pool]))
            return ipam, created["Id"]
        except docker.errors.APIError as exc:
            if "overlap" not in str(exc).lower():
                raise
            last = exc
    raise RuntimeError(f"no free 10.203.x.0/24 pool for the promise network: {last}")


@pytest.fixture(scope="session")
def promise_net(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """{id, name, listed, subnet, gateway, ip_range, in_range}: a bridge network with the settings of NETWORK and
    its own pool (in_range: a regular expression for an address of ip_range)."""
    state = _state(request)
    name = unique_name(state, "pnet")
    ipam, ident = _create_subject_network(state, state.placement.scoped_name(name))
    try:
        third = ipam["Subnet"].split(".")[2]
        yield {"id": ident, "name": name, "listed": state.placement.scoped_name(name),
               "subnet": ipam["Subnet"], "gateway": ipam["Gateway"],
               "ip_range": ipam["IPRange"],
               # an address of IPRange (x.y.z.128/25), as a regular expression for the catalogue
               "in_range": rf"10\.203\.{third}\.(12[89]|1[3-9][0-9]|2[0-5][0-9])"}
    finally:
        _quietly(state.sdk.remove_network, ident)


@pytest.fixture(scope="session")
def promise_net_other(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """{id, name, listed}: a plain bridge network labelled "other", used by no container (except during the
    connect sequence of suites/promise_checks/networks.py, which leaves it as it found it)."""
    state = _state(request)
    name = unique_name(state, "pnet-other")
    created = state.sdk.create_network(state.placement.scoped_name(name), driver="bridge",
                                       labels=_labels(state, "other"))
    try:
        yield {"id": created["Id"], "name": name, "listed": state.placement.scoped_name(name)}
    finally:
        _quietly(state.sdk.remove_network, created["Id"])


@pytest.fixture(scope="session")
def promise_vol(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """{name, listed, mountpoint}: a local volume with VOLUME_OPTIONS, labelled "subject"."""
    state = _state(request)
    name = unique_name(state, "pvol")
    scoped = state.placement.scoped_name(name)
    created = state.sdk.create_volume(scoped, driver="local", driver_opts=VOLUME_OPTIONS,
                                      labels=_labels(state, "subject"))
    try:
        yield {"name": name, "listed": scoped, "mountpoint": created["Mountpoint"]}
    finally:
        _quietly(state.sdk.remove_volume, scoped, force=True)


@pytest.fixture(scope="session")
def promise_vol_other(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """{name, listed}: a plain local volume labelled "other", mounted by no container."""
    state = _state(request)
    name = unique_name(state, "pvol-other")
    scoped = state.placement.scoped_name(name)
    state.sdk.create_volume(scoped, driver="local", labels=_labels(state, "other"))
    try:
        yield {"name": name, "listed": scoped}
    finally:
        _quietly(state.sdk.remove_volume, scoped, force=True)


@pytest.fixture(scope="session")
def promise_net_vol_user(request: pytest.FixtureRequest, promise_net: dict[str, Any],
                         promise_vol: dict[str, str]) -> Iterator[dict[str, str]]:
    """{id, name}: a running container on promise_net (alias ALIAS) with promise_vol mounted at MOUNT_AT."""
    state = _state(request)
    sdk = state.sdk
    name = unique_name(state, "pnetvol")
    host_config = sdk.create_host_config(binds={promise_vol["name"]: {"bind": MOUNT_AT, "mode": "rw"}},
                                         network_mode=promise_net["name"])
    networking = sdk.create_networking_config({promise_net["name"]: sdk.create_endpoint_config(aliases=[ALIAS])})
    created = sdk.create_container(state.image, command=["sleep", "600"], name=name, labels=_labels(state, "user"),
                                   environment=state.placement.env() or None, host_config=host_config,
                                   networking_config=networking)
    try:
        sdk.start(created["Id"])
        yield {"id": created["Id"], "name": name}
    finally:
        _quietly(sdk.remove_container, created["Id"], force=True, v=False)


@pytest.fixture(scope="session")
def promise_plugins(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """{volume, network, volume_bare}: the full names (name:latest) of two disabled plugins made from PLUGINS,
    and the volume one's name without its tag."""
    _requires(request, "global-changes")
    state = _state(request)
    made: dict[str, str] = {}
    try:
        for kind, config in PLUGINS.items():
            bare = unique_name(state, f"plugin-{kind}")
            with tempfile.TemporaryDirectory() as folder:
                os.mkdir(os.path.join(folder, "rootfs"))
                with open(os.path.join(folder, "config.json"), "w") as handle:
                    json.dump(config, handle)
                state.sdk.create_plugin(f"{bare}:latest", folder)
            made[kind] = f"{bare}:latest"
            made[f"{kind}_bare"] = bare
        yield made
    finally:
        for kind in PLUGINS:
            if kind in made:
                _quietly(state.sdk.remove_plugin, made[kind], force=True)
