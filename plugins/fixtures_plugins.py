"""Plugin fixtures (installing one is an engine-wide change: the scenarios that need them require
global-changes).

`plugin` has an empty rootfs and cannot be enabled.  `working_plugin` can: its rootfs is the test image's file
system (a container of it, exported), and its entrypoint links the plugin socket the daemon dials to a socket
the suite serves on this machine (conformance/plugin_socket.py), then waits for SIGTERM.  So it needs the
engine on this machine (a unix:// or loopback target; the embedded fake sees the link and dials nothing).
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from conformance import skips
from conformance.plugin_socket import PluginSocket
from conformance.scenarios import tar_bytes
from plugins.fixtures import _quietly, _requires, _state, unique_name
from plugins.session import SuiteState

PLUGIN_CONFIG = {
    "Description": "docker-api-conformance test plugin (never enabled)",
    "Documentation": "https://example.invalid/docker-api-conformance",
    "Interface": {"Types": ["docker.volumedriver/1.0"], "Socket": "dac.sock"},
    "Entrypoint": ["/bin/sh", "-c", "sleep 600"],
    "Network": {"Type": "host"},
    "Env": [{"Name": "DAC_SETTING", "Description": "settable", "Settable": ["value"], "Value": "a"}],
}


def working_config(socket: str) -> dict[str, Any]:
    """PLUGIN_CONFIG for a plugin that enables: its socket is a link to `socket`; SIGTERM ends it at once (a
    shell as PID 1 ignores an untrapped SIGTERM, and the daemon would wait 10 s before SIGKILL)."""
    script = (f"ln -s {socket} /run/docker/plugins/{PLUGIN_CONFIG['Interface']['Socket']} && "  # type: ignore[index]
              "trap 'exit 0' TERM && while sleep 1; do :; done")
    return {**PLUGIN_CONFIG, "Description": "docker-api-conformance test plugin (enabled: the suite serves its socket)",
            "Entrypoint": ["/bin/sh", "-c", script]}


@pytest.fixture
def plugin(request: pytest.FixtureRequest) -> Iterator[str]:
    """An installed, disabled plugin named dac-<run>-<worker>-plugin-N:latest (rootfs: an empty folder)."""
    _requires(request, "global-changes")
    yield from _installed_plugin(_state(request), f"{unique_name(_state(request), 'plugin')}:latest")


@pytest.fixture
def registry_plugin(request: pytest.FixtureRequest, registry: str) -> Iterator[str]:
    """A plugin as `plugin`, named for the open registry: HOST:PORT/dac-<run>-<worker>-plugin-N:latest."""
    _requires(request, "global-changes")
    yield from _installed_plugin(_state(request), f"{registry}/{unique_name(_state(request), 'plugin')}:latest")


def _installed_plugin(state: SuiteState, name: str, config: dict[str, Any] = PLUGIN_CONFIG,
                      rootfs: Callable[[str], None] = os.mkdir) -> Iterator[str]:
    """PluginCreate of `name` from `config` and a rootfs folder `rootfs(path)` fills (default: empty); removed
    (forced) afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        rootfs(os.path.join(folder, "rootfs"))
        with open(os.path.join(folder, "config.json"), "w") as handle:
            json.dump(config, handle)
        state.sdk.create_plugin(name, folder)
    try:
        yield name
    finally:
        _quietly(state.sdk.remove_plugin, name, force=True)


@pytest.fixture
def plugin_tar() -> bytes:
    """A plugin build context (config.json + rootfs/) as a tar, for PluginCreate."""
    return tar_bytes({"config.json": json.dumps(PLUGIN_CONFIG), "rootfs/.keep": ""})


@pytest.fixture(scope="session")
def plugin_socket(request: pytest.FixtureRequest) -> Iterator[str]:
    """The path of the socket the working plugin links to (served by this process for the session)."""
    state = _state(request)
    if not on_this_machine(state.url):
        skips.skip(skips.NEEDS_CAPABILITY, "a plugin that enables needs the engine on this machine (its socket is "
                                           f"served by the suite; target {state.target.address})")
    served = PluginSocket()
    try:
        yield served.path
    finally:
        served.close()


def on_this_machine(url: str) -> bool:
    """Whether the engine at `url` is this machine's: a unix socket, or TCP to a loopback address (the
    embedded fake listens on one)."""
    if url.startswith("unix://"):
        return True
    host = urlparse(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _export_image(state: SuiteState, folder: str) -> None:
    """The test image's file system into `folder`: a created container of it, exported."""
    created = state.sdk.create_container(state.image, command=["true"], labels=state.label,
                                         name=unique_name(state, "prootfs"))
    try:
        data = b"".join(state.sdk.export(created["Id"]))
    finally:
        _quietly(state.sdk.remove_container, created["Id"], force=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(folder, filter="tar")


@pytest.fixture
def working_plugin(request: pytest.FixtureRequest, plugin_socket: str) -> Iterator[str]:
    """An installed, disabled plugin that PluginEnable can enable (see the module's docstring)."""
    _requires(request, "global-changes")
    state = _state(request)
    yield from _installed_plugin(state, f"{unique_name(state, 'wplugin')}:latest", working_config(plugin_socket),
                                 lambda folder: _export_image(state, folder))


@pytest.fixture
def enabled_plugin(request: pytest.FixtureRequest, working_plugin: str) -> str:
    """working_plugin, enabled (removed with force by working_plugin)."""
    _state(request).sdk.enable_plugin(working_plugin)
    return working_plugin
