"""Every promise can fail: with the fake's fault that breaks it (schema kept), its test fails on that promise
and on nothing else; without faults, every promise holds on the fake.

Two suite runs of suites/test_promises.py against the embedded fake (made a swarm manager), without and with
the faults, each at API 1.25, 1.41 and 1.56, so that each promise runs where it applies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.fake.faults import FAULTS, fault_for
from conformance.promises import catalogue

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ("1.25", "1.41", "1.56")


def _run(tmp: Path, *extra: str) -> list[dict]:
    tests: list[dict] = []
    for version in VERSIONS:
        reports = tmp / version
        cmd = [sys.executable, "-m", "pytest", "-q", "suites/test_promises.py", "--target", "fake",
               "--api-version", version, "--allow-global-changes", f"--reports-dir={reports}", "--no-matrix",
               "-p", "selftests.promise_faults", "-p", "no:randomly", *extra]
        # The fake keeps its own registry behind any address: this one is never dialled.
        cmd += ["--registry", "127.0.0.1:5999"]
        env = {k: v for k, v in os.environ.items()
               if k not in ("DOCKER_HOST", "PYTEST_XDIST_WORKER", "DAC_RUN_ID") and not k.startswith("DAC_REGISTRY")}
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        results = reports / "results.json"
        assert results.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
        tests += json.loads(results.read_text())["tests"]
    return tests


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> list[dict]:
    return _run(tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> list[dict]:
    return _run(tmp_path_factory.mktemp("broken"), "--break-promises")


def _by_promise(tests: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for test in tests:
        if test.get("promise"):
            out.setdefault(test["promise"], []).append(test)
    return out


def test_every_promise_has_a_fault_that_names_it() -> None:
    for pid, promise in catalogue().items():
        fault = FAULTS.get(fault_for(pid))
        assert fault is not None, f"{pid}: no fault {fault_for(pid)!r} in the fake's catalogue"
        assert fault.catches == promise.check, f"{pid}: fault {fault_for(pid)} catches {fault.catches}"
    # and no promise fault that these runs never switch on
    promise_faults = {name for name, f in FAULTS.items() if f.catches.startswith("promise:")}
    assert promise_faults == {fault_for(pid) for pid in catalogue()}


def test_every_promise_holds_on_the_fake(clean) -> None:
    runs = _by_promise(clean)
    never = sorted(set(catalogue()) - set(runs))
    assert not never, f"promises that ran at none of {VERSIONS}: {never}"
    bad = [f"{t['nodeid']}: {t['state']} {t.get('reason', '')}" for t in clean if t["state"] not in ("pass",)]
    assert not bad, "\n".join(bad[:30])


def test_every_promise_fails_on_its_own_fault_and_nothing_else(broken) -> None:
    runs = _by_promise(broken)
    problems = []
    for pid in catalogue():
        own = f"promise:{pid}"
        for test in runs.get(pid, []):
            failing = {f["check"] for f in test.get("findings") or [] if f.get("state") == "fail"}
            if test["state"] != "fail" or failing != {own}:
                problems.append(f"{test['nodeid']}: state {test['state']}, failing checks {sorted(failing)}")
        if not runs.get(pid):
            problems.append(f"{pid}: did not run")
    assert not problems, "\n".join(problems[:40]) + (f"\n(+{len(problems) - 40} more)" if len(problems) > 40 else "")
