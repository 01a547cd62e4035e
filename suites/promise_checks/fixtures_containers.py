"""Shared objects of the containers promises (a pytest plugin listed in the top-level conftest.py).

`promise_variant` is the counterpart of promise_container (suites/promise_checks/fixtures.py) for the
filters of ContainerList: made after it, from an image of our own (a commit of the test image), on a
network and with a volume of our own, with a port exposed and published, a healthcheck that stays
"starting" (its first probe is hours away) and a label with no value.  Every filter promise lists one of
the two as the object that must match and the other as the one that must not.  It also carries an
entrypoint and a command of its own for the round trips of those.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker.errors
import pytest

from conformance import skips
from plugins.fixtures import _quietly, _state, unique_name
from suites.promise_checks.fixtures import PROMISE_LABEL

FLAG_LABEL = "com.docker-api-conformance.promise-flag"  # a label with an empty value: label=<key> matches it
# What promise_variant is made with; suites/promises/container.yaml reads these back.
VARIANT = {
    "entrypoint": ["sh", "-c"],
    "cmd": ["sleep 600"],
    "port": "9999/udp",
    "mount": "/data",
    "health_interval_ns": 10 * 3600 * 10**9,  # no probe during the session: Health stays "starting"
}


@pytest.fixture(scope="session")
def promise_variant(request: pytest.FixtureRequest, promise_container: str) -> Iterator[dict[str, Any]]:
    """A running container unlike promise_container (created after it): {id, name, image (ref), image_id,
    network, network_id, volume, published ("<host port>/udp")}."""
    state = _state(request)
    sdk = state.sdk
    name, repo = unique_name(state, "variant"), unique_name(state, "vimg")
    made: dict[str, Any] = {"name": name, "image": f"{repo}:v1"}
    try:
        source = sdk.create_container(state.image, command=["true"], labels=state.label,
                                      name=unique_name(state, "vsrc"), environment=state.placement.env() or None)
        try:
            made["image_id"] = sdk.commit(source["Id"], repository=repo, tag="v1",
                                          conf={"Labels": {**state.label, PROMISE_LABEL: "variant"}})["Id"]
        finally:
            _quietly(sdk.remove_container, source["Id"], force=True)
        network = sdk.create_network(state.placement.scoped_name(unique_name(state, "vnet")), labels=state.label)
        made["network_id"] = network["Id"]
        made["network"] = sdk.inspect_network(network["Id"])["Name"]
        made["volume"] = sdk.create_volume(state.placement.scoped_name(unique_name(state, "vvol")),
                                           labels=state.label)["Name"]
        host_config = sdk.create_host_config(binds={made["volume"]: {"bind": VARIANT["mount"], "mode": "rw"}},
                                             port_bindings={VARIANT["port"]: None}, network_mode=made["network"])
        number, proto = VARIANT["port"].split("/")
        created = sdk.create_container(
            made["image"], entrypoint=VARIANT["entrypoint"], command=VARIANT["cmd"], name=name,
            labels={**state.label, PROMISE_LABEL: "variant", FLAG_LABEL: ""}, ports=[(int(number), proto)],
            healthcheck={"test": ["CMD", "true"], "interval": VARIANT["health_interval_ns"]},
            environment=state.placement.env() or None, host_config=host_config)
        made["id"] = created["Id"]
        sdk.start(made["id"])
        bound = sdk.inspect_container(made["id"])["NetworkSettings"]["Ports"].get(VARIANT["port"]) or [{}]
        made["published"] = f"{bound[0].get('HostPort', '')}/{proto}"
        yield made
    finally:
        if "id" in made:
            _quietly(sdk.remove_container, made["id"], force=True, v=True)
        if "network_id" in made:
            _quietly(sdk.remove_network, made["network_id"])
        if "volume" in made:
            _quietly(sdk.remove_volume, made["volume"], force=True)
        if "image_id" in made:
            _quietly(sdk.remove_image, made["image_id"], force=True)


@pytest.fixture(scope="session")
def promise_cpu_container(request: pytest.FixtureRequest) -> Iterator[str]:
    """A created (never started) container with CpuShares 512: apart from promise_container because a classic
    Swarm manager reads CpuShares as CPUs to reserve, and finds no node for 512 (then its promise is skipped)."""
    state = _state(request)
    sdk = state.sdk
    try:
        created = sdk.create_container(state.image, command=["true"], labels=state.label,
                                       name=unique_name(state, "cpu"), environment=state.placement.env() or None,
                                       host_config=sdk.create_host_config(cpu_shares=512))
    except docker.errors.APIError as exc:
        skips.skip(skips.PRECONDITION, f"the target creates no container with CpuShares 512: {exc}")
    try:
        yield str(created["Id"])
    finally:
        _quietly(sdk.remove_container, created["Id"], force=True)
