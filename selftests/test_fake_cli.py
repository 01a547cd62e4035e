"""The docker CLI against the fake (skipped when no docker CLI is installed)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conformance.fake import start_fake

DOCKER = shutil.which("docker") or ("/usr/local/bin/docker" if os.path.exists("/usr/local/bin/docker") else None)
pytestmark = pytest.mark.skipif(DOCKER is None, reason="no docker CLI on PATH or at /usr/local/bin/docker")


@pytest.fixture(scope="module", params=["unix", "tcp"])
def host(request):
    listen = f"unix:///tmp/dac-fake-cli-{os.getpid()}.sock" if request.param == "unix" else "tcp://127.0.0.1:0"
    engine = start_fake(listen)
    yield engine.url
    engine.stop()


def docker(host: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update({"DOCKER_HOST": host, "DOCKER_CONFIG": "/tmp/dac-fake-cli-config", "DOCKER_CLI_HINTS": "false"})
    return subprocess.run([DOCKER, *args], input=stdin, capture_output=True, env=env, timeout=20)  # type: ignore[list-item]


def test_run_rm_echo(host) -> None:
    result = docker(host, "run", "--rm", "busybox:latest", "echo", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hi\n"


def test_run_exit_code_and_streams(host) -> None:
    result = docker(host, "run", "--name", "cli-exit", "busybox:latest", "sh", "-c", "echo out; echo err >&2; exit 5")
    assert result.returncode == 5
    assert result.stdout == b"out\n" and result.stderr == b"err\n"
    assert docker(host, "rm", "cli-exit").returncode == 0


def test_run_interactive_stdin(host) -> None:
    result = docker(host, "run", "--rm", "-i", "busybox:latest", "cat", stdin=b"piped\n")
    assert result.returncode == 0 and result.stdout == b"piped\n"


def test_ps_images_exec(host) -> None:
    assert docker(host, "run", "-d", "--name", "cli-bg", "busybox:latest", "top").returncode == 0
    ps = docker(host, "ps", "-a")
    assert ps.returncode == 0 and b"cli-bg" in ps.stdout
    images = docker(host, "images")
    assert images.returncode == 0 and b"busybox" in images.stdout
    exec_result = docker(host, "exec", "cli-bg", "echo", "in-exec")
    assert exec_result.returncode == 0 and exec_result.stdout == b"in-exec\n"
    assert docker(host, "rm", "-f", "cli-bg").returncode == 0
    version = docker(host, "version", "--format", "{{.Server.Version}}")
    assert version.returncode == 0 and b"fake" in version.stdout
