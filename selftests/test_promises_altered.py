"""On a real engine, answers altered to be wrong but well formed fail the run on the promise they break.

conformance/alter_proxy.py sits in front of the real dockerd and rewrites one operation's answers; the
promise tests that exercise that operation run through it at API 1.41.  Each alteration below is one the
project's issue names; the run must fail, and the named promise must be among the failures.  Needs a real
engine: DAC_REAL_DOCKER_HOST (CI sets it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conformance import edits
from conformance.alter_proxy import Alteration, AlterProxy
from conformance.promises import catalogue
from conformance.spec import SpecCatalog

ROOT = Path(__file__).resolve().parent.parent
REAL = os.environ.get("DAC_REAL_DOCKER_HOST", "")
VERSION = "1.41"

# (what is altered, operation, pointer, edit, the promise that must fail)
ALTERATIONS = [
    ("another container's Id in inspect", "ContainerInspect", "/Id", "other-hex", "container-inspect-id"),
    ("wait StatusCode 0 for a process that exited 3", "ContainerWait", "/StatusCode", "set:0",
     "container-wait-exit-code"),
    ("image Id without sha256:", "ImageInspect", "/Id", "strip-prefix:sha256:", "image-inspect-id-sha256"),
    ("a Names entry without /", "ContainerList", "/*/Names/*", "strip-prefix:/", "container-list-names-slash"),
    ("Titles joined into one string", "ContainerTop", "/Titles", "join", "container-top-titles-columns"),
    ("every system df size 0", "SystemDataUsage", "", "zero", "system-df-sizes"),
    ("exec inspect ExitCode 0 for a command that exited 2", "ExecInspect", "/ExitCode", "set:0",
     "exec-inspect-exit-code"),
    ("container labels missing from inspect", "ContainerInspect", "/Config/Labels", "set:{}",
     "container-inspect-labels"),
]

pytestmark = pytest.mark.skipif(not REAL, reason="needs a real dockerd: set DAC_REAL_DOCKER_HOST to its URL")


def _alteration(operation: str, pointer: str, edit: str, places: list[int]) -> Alteration:
    """The edit as the proxy applies it; `places` gets how many places each rewritten answer had changed."""
    op = SpecCatalog().get(VERSION).operation(operation)
    assert op is not None, operation
    path = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(op.path))

    def rewrite(body: object) -> object:
        new, count = edits.apply(body, pointer, edit)
        places.append(count)
        return new
    return Alteration(op.method, path, edit=rewrite)


def _promises_of(operation: str) -> list[str]:
    return [p.id for p in catalogue().values() if operation in p.operations and p.applies_to(VERSION)]


def _run(url: str, keyword: str, reports: Path) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS", "DAC_RUN_ID")}
    cmd = [sys.executable, "-m", "pytest", "suites/test_promises.py", "-q", "-p", "no:randomly", "--target", url,
           "--api-version", VERSION, "-k", keyword, f"--reports-dir={reports}"]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    results = reports / "results.json"
    return run, json.loads(results.read_text())["tests"] if results.exists() else []


@pytest.fixture(scope="module")
def unaltered(tmp_path_factory) -> dict[str, str]:
    """promise -> state of the named promises on the real engine without the proxy (each must pass there)."""
    run, tests = _run(REAL, " or ".join(a[4] for a in ALTERATIONS), tmp_path_factory.mktemp("unaltered"))
    return {t["promise"]: t["state"] for t in tests if t.get("promise")}


@pytest.mark.parametrize(("what", "operation", "pointer", "edit", "promise"), ALTERATIONS,
                         ids=[a[4] for a in ALTERATIONS])
def test_an_altered_answer_fails_the_run_on_its_promise(tmp_path: Path, unaltered: dict[str, str], what: str,
                                                       operation: str, pointer: str, edit: str, promise: str) -> None:
    assert promise in catalogue(), f"{promise}: not in the catalogue"
    assert unaltered.get(promise) == "pass", f"{promise} must hold on the unaltered engine: {unaltered.get(promise)}"
    keyword = " or ".join(sorted(set(_promises_of(operation)) | {promise}))
    with tempfile.TemporaryDirectory(prefix="dac-alter-") as folder:
        places: list[int] = []
        proxy = AlterProxy(REAL, [_alteration(operation, pointer, edit, places)], os.path.join(folder, "p.sock"))
        try:
            run, tests = _run(proxy.url, keyword, tmp_path)
        finally:
            proxy.stop()
    assert any(places) and not proxy.errors, f"{what}: places changed per answer {places}, errors {proxy.errors[:3]}"
    assert run.returncode == 1, f"{what}: the run did not fail (exit {run.returncode})\n{run.stdout[-3000:]}"
    failed = {f["check"] for t in tests for f in t.get("findings") or [] if f.get("state") == "fail"}
    assert f"promise:{promise}" in failed, f"{what}: failing checks {sorted(failed)}\n{run.stdout[-3000:]}"
