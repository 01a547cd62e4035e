"""A volume-driver plugin's API, served by the suite on a unix socket of this machine.

The test plugin the suite enables (plugins/fixtures_plugins.py `working_plugin`) runs a shell that links its socket
(/run/docker/plugins/<socket>) to this one: the daemon dials it (moby plugin/manager_linux.go pluginPostStart)
and may call the volume-driver protocol on it (VolumeDriver.List when volumes are listed).  The answers are
those of a driver with no volumes (docker/go-plugins-helpers volume: {"Volumes": []}, {"Err": ""})."""

from __future__ import annotations

import http.server
import json
import os
import socketserver
import tempfile
import threading
from typing import Any

MEDIA_TYPE = "application/vnd.docker.plugins.v1.2+json"
ANSWERS: dict[str, dict[str, Any]] = {
    "/Plugin.Activate": {"Implements": ["VolumeDriver"]},
    "/VolumeDriver.Capabilities": {"Capabilities": {"Scope": "local"}},
    "/VolumeDriver.List": {"Volumes": [], "Err": ""},
    "/VolumeDriver.Get": {"Err": "no such volume"},
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps(ANSWERS.get(self.path, {"Err": ""})).encode()
        self.send_response(200)
        self.send_header("Content-Type", MEDIA_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:  # a unix socket has no client address
        return "plugin-client"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class PluginSocket:
    """Serves the plugin API on `path` (a fresh folder under the temp dir) until `close()`."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="dac-plugin-")
        os.chmod(self.folder, 0o755)  # the daemon (root) dials it; the suite may run as another user
        self.path = os.path.join(self.folder, "plugin.sock")
        self._server = _Server(self.path, _Handler)
        os.chmod(self.path, 0o777)
        self._thread = threading.Thread(target=self._server.serve_forever, name="dac-plugin-socket", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if os.path.exists(self.path):
            os.unlink(self.path)
        os.rmdir(self.folder)
