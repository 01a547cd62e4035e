"""conformance/alter_proxy.py in front of the real dockerd: a proxy that alters nothing changes no outcome of the
suite, and answers it alters make the suite fail the run, with the finding at the altered place.

Each test runs the suite in a subprocess (as selftests/test_reporting.py does) against the proxy. They need a
real engine: DAC_REAL_DOCKER_HOST (CI sets it; locally `DAC_REAL_DOCKER_HOST=$(cat /tmp/dockerhost)`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.alter_proxy import Alteration, AlterProxy, altering_proxy

ROOT = Path(__file__).resolve().parent.parent
REAL = os.environ.get("DAC_REAL_DOCKER_HOST", "")
PASS_THROUGH_OPERATIONS = "SystemPing or SystemVersion or ContainerList or ContainerInspect"

pytestmark = pytest.mark.skipif(not REAL, reason="needs a real dockerd: set DAC_REAL_DOCKER_HOST to its URL "
                                                 "(locally: DAC_REAL_DOCKER_HOST=$(cat /tmp/dockerhost))")


@pytest.fixture
def socket_path() -> Iterator[str]:
    """A unix socket path short enough for sun_path (pytest's tmp_path can be longer than 108 bytes)."""
    with tempfile.TemporaryDirectory(prefix="dac-alter-") as folder:
        yield os.path.join(folder, "proxy.sock")


def run_suite(target: str, reports: Path, keyword: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    cmd = [sys.executable, "-m", "pytest", "suites/test_operations.py", "-q", "-p", "no:randomly",
           "-p", "no:cacheprovider", "--target", target, "--api-version", "1.41", "-k", keyword,
           f"--reports-dir={reports}"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def output(run: subprocess.CompletedProcess[str]) -> str:
    return f"exit {run.returncode}\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"


def results(reports: Path) -> list[dict[str, Any]]:
    return json.loads((reports / "results.json").read_text())["tests"]


def states(reports: Path) -> dict[tuple[str, str], str]:
    return {(t["operation"], t["scenario"]): t["state"] for t in results(reports)}


def findings(reports: Path, operation: str) -> set[tuple[str, str, str]]:
    """(check, state, pointer) of each finding for `operation`."""
    return {(f["check"], f["state"], f.get("pointer", "")) for t in results(reports) if t["operation"] == operation
            for f in t.get("findings", [])}


def test_a_proxy_that_alters_nothing_changes_no_outcome(tmp_path: Path, socket_path: str) -> None:
    direct = run_suite(REAL, tmp_path / "direct", PASS_THROUGH_OPERATIONS)
    assert direct.returncode in (0, 1), output(direct)
    with altering_proxy(REAL, [], socket_path) as url:
        assert url == f"unix://{socket_path}"
        proxied = run_suite(url, tmp_path / "proxied", PASS_THROUGH_OPERATIONS)
    assert not os.path.exists(socket_path), "the socket outlived the proxy"
    assert proxied.returncode == direct.returncode, output(proxied)
    want = states(tmp_path / "direct")
    assert {operation for operation, _ in want} >= {"SystemPing", "SystemVersion", "ContainerList",
                                                    "ContainerInspect"}, want
    assert states(tmp_path / "proxied") == want


def altered_run(alterations: list[Alteration], socket_path: str, tmp_path: Path, operation: str,
                status: str) -> subprocess.CompletedProcess[str]:
    """The suite for one operation through a proxy that applies `alterations`; they must have applied."""
    proxy = AlterProxy(REAL, alterations, socket_path)
    try:
        run = run_suite(proxy.url, tmp_path / "reports", operation)
    finally:
        proxy.stop()
    assert any(line.endswith(f"-> {status}") for line in proxy.altered), (proxy.altered, proxy.errors)
    return run


def test_a_null_in_a_scalar_field_of_container_inspect_fails_the_run(tmp_path: Path, socket_path: str) -> None:
    """HostConfig.BlkioWeight is an integer without x-nullable: not one of the nil collections dockerd 20.10
    is excused for, so the run fails at that pointer."""
    run = altered_run([Alteration("GET", r"/containers/[^/]+/json", edit={"/HostConfig/BlkioWeight": None})],
                      socket_path, tmp_path, "ContainerInspect", "200")
    assert run.returncode == 1, output(run)
    assert ("body_schema", "fail", "/HostConfig/BlkioWeight") in findings(tmp_path / "reports", "ContainerInspect"), \
        output(run)


def swarm_manager(url: str) -> bool:
    import docker

    swarm = docker.APIClient(base_url=url, version="auto", timeout=30).info().get("Swarm") or {}
    return swarm.get("LocalNodeState") == "active" and bool(swarm.get("ControlAvailable"))


def test_an_empty_body_for_secret_create_on_a_swarm_manager_fails_the_run(tmp_path: Path, socket_path: str) -> None:
    if not swarm_manager(REAL):
        pytest.skip("the engine is not a swarm manager (CI's swarm-mode step makes it one; this test leaves it be)")
    run = altered_run([Alteration("POST", r"/secrets/create", whole_body={})], socket_path, tmp_path, "SecretCreate",
                      "201")
    assert run.returncode == 1, output(run)
    got = findings(tmp_path / "reports", "SecretCreate")
    assert ("body_schema", "fail", "") in got, (got, output(run))  # the required ID is missing at the root
