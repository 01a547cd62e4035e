"""The docker CLI, driven through a fixed script of everyday commands (selftests/data/docker_cli_script.yaml),
gives the same exit codes and the same normalised output on the embedded fake as on a real dockerd.

Needs the docker CLI on PATH and a real dockerd (DAC_REAL_DOCKER_HOST, as CI sets it); skipped otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conformance.fake import start_fake

SCRIPT = Path(__file__).resolve().parent / "data" / "docker_cli_script.yaml"
REAL = os.environ.get("DAC_REAL_DOCKER_HOST")
pytestmark = pytest.mark.skipif(not REAL or shutil.which("docker") is None,
                                reason="needs the docker CLI and a real dockerd (DAC_REAL_DOCKER_HOST)")
BIND_SOURCE = "/tmp/dac-cli-bind"
IDS = re.compile(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b")


def normalise(text: str) -> str:
    return IDS.sub("<id>", text).strip()


def run_script(host: str, tmp: Path) -> list[tuple[str, int, str]]:
    """(command, exit code, normalised stdout+stderr) of every step, run in order against `host`."""
    env = {**os.environ, "DOCKER_HOST": host, "DOCKER_CONFIG": str(tmp / "config")}
    out = []
    for step in yaml.safe_load(SCRIPT.read_text())["steps"]:
        command = step.format(tmp=tmp) if "{tmp}" in step else step
        done = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, timeout=60)
        out.append((step, done.returncode, normalise(done.stdout + done.stderr)))
    return out


def _cleanup(host: str) -> None:
    env = {**os.environ, "DOCKER_HOST": host}
    for command in ("docker rm -f dac-cli-1 dac-cli-2 dac-cli-3 dac-cli-logd dac-cli-health dac-cli-l1",
                    "docker network rm dac-cli-net", "docker volume rm dac-cli-vol dac-cli-vold",
                    "docker rmi dac-cli-built", "docker rm -f dac-cli-mnt dac-cli-trap",
                    "docker image prune -af --filter label=dac-cli=1"):
        subprocess.run(["sh", "-c", command], env=env, capture_output=True, timeout=60)
    shutil.rmtree(BIND_SOURCE, ignore_errors=True)  # the script's bind mounts made it on the machine (dockerd)


def test_the_cli_script_agrees_on_the_fake_and_on_dockerd(tmp_path: Path) -> None:
    assert REAL is not None
    _cleanup(REAL)
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    try:
        real = run_script(REAL, tmp_path / "real")
    finally:
        _cleanup(REAL)
    with start_fake() as fake:
        on_fake = run_script(fake.url, tmp_path / "fake")
    differ = [f"{step}\n    dockerd: exit {rc_r}: {out_r!r}\n    fake:    exit {rc_f}: {out_f!r}"
              for (step, rc_r, out_r), (_, rc_f, out_f) in zip(real, on_fake, strict=True)
              if (rc_r, out_r) != (rc_f, out_f)]
    assert not differ, f"{len(differ)} of {len(real)} steps differ:\n" + "\n".join(differ)
