"""A plugin's process: what PluginEnable starts and PluginDisable stops.

As moby's plugin manager (plugin/manager_linux.go enable, pluginPostStart): the entrypoint runs in the plugin's
rootfs, with /run/docker/plugins bound in; the daemon then waits for the plugin's socket there (it dials, 0.5 s
after the start and then every 3 s, four times in all) and gives up with the dial's error.  The fake cannot dial:
the socket "listens" once the entry exists in the rootfs (made by the plugin itself, e.g. a symlink to a socket
served elsewhere).  A stop is SIGTERM, then SIGKILL after 10 s (shutdownPlugin)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from .cmdlang import CommandNotFound, Control, ProcessIO, Shell
from .wire import ApiError

if TYPE_CHECKING:
    from .plugins import Plugin

SOCKET_DIR = "/run/docker/plugins"
DIAL_DEADLINE = 0.5 + 4 * 3.0  # seconds: the first dial, then three more 3 s apart
STOP_GRACE = 10.0


def start(plugin: Plugin) -> None:
    """Run the entrypoint; return once its socket exists (ApiError 500 as the Engine's when it never does)."""
    argv = [*(plugin.config.get("Entrypoint") or []), *((plugin.config.get("Args") or {}).get("Value") or [])]
    plugin.rootfs.mkdir(SOCKET_DIR)
    control = Control()
    env = dict(e.split("=", 1) for e in plugin.env if "=" in e)
    shell = Shell(ProcessIO(lambda fd, data: None, None, control, plugin.rootfs, env,
                            plugin.config.get("WorkDir") or "/", "plugin"))
    entry = argv[0] if argv else ""
    if not argv or shell.lookup(entry) is None:
        raise ApiError(500, "failed to create shim task: OCI runtime create failed: unable to start container "
                            f'process: exec: "{entry}": stat {entry}: no such file or directory: unknown')

    def main() -> None:
        try:
            shell.run(list(argv))
        except CommandNotFound:
            pass

    thread = threading.Thread(target=main, name=f"plugin-{plugin.id[:12]}", daemon=True)
    thread.start()
    socket = f"{SOCKET_DIR}/{(plugin.config.get('Interface') or {}).get('Socket', '')}"
    deadline = time.monotonic() + DIAL_DEADLINE
    while time.monotonic() < deadline and thread.is_alive():
        if plugin.rootfs.get(socket, follow=False) is not None:
            plugin.control, plugin.thread = control, thread
            return
        time.sleep(0.05)
    _end(control, thread)
    raise ApiError(500, f"dial unix {SOCKET_DIR}/{plugin.id}/{socket.rsplit('/', 1)[-1]}: connect: no such file or "
                        "directory")


def stop(plugin: Plugin) -> None:
    if plugin.control is not None and plugin.thread is not None:
        _end(plugin.control, plugin.thread)
    plugin.control = plugin.thread = None


def _end(control: Control, thread: threading.Thread) -> None:
    control.kill(15)
    thread.join(STOP_GRACE)
    if thread.is_alive():
        control.kill(9)
        thread.join(1)
