"""The swarm-mode flow (suites/test_swarm_mode.py) run against the embedded fake, in a subprocess.

The fake engine implements swarm mode, so the whole ordered flow (init ... leave) runs here without
a real dockerd.  A real engine is exercised only when DAC_SWARM_TARGET names one that may become a
swarm manager (e.g. the dockerd of scripts/dockerd-netns-up); otherwise that test is skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.fake import start_fake

ROOT = Path(__file__).resolve().parent.parent
FLOW = ["test_swarm_init", "test_swarm_inspect_update_unlockkey", "test_nodes", "test_secrets", "test_configs",
        "test_services_and_tasks", "test_swarm_leave"]


def _run(tmp_path: Path, *args: str, timeout: float = 180) -> tuple[list[tuple[str, str, str]], str]:
    """(outcome, test, version) per test in run order (from -v), and the whole output."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_swarm_mode.py", "-v", "-rA", "-p", "no:randomly",
         f"--reports-dir={tmp_path / 'reports'}", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    order = re.findall(r"^suites/test_swarm_mode.py::(\w+)\[([\d.]+)\] (PASSED|FAILED|XFAIL|SKIPPED|ERROR)",
                       proc.stdout, re.M)
    return [(outcome, test, version) for test, version, outcome in order], proc.stdout + proc.stderr


def test_flow_runs_in_order_on_the_fake(tmp_path: Path) -> None:
    results, output = _run(tmp_path, "--target", "fake", "--allow-global-changes", "--api-version", "1.44")
    assert [test for _, test, _ in results] == FLOW, output[-3000:]
    assert all(outcome in ("PASSED", "XFAIL") for outcome, _, _ in results), output[-3000:]


def test_versions_run_one_whole_flow_after_another(tmp_path: Path) -> None:
    results, output = _run(tmp_path, "--target", "fake", "--allow-global-changes", "--api-version", "1.43-1.44")
    assert [(test, version) for _, test, version in results] == \
        [(test, "1.43") for test in FLOW] + [(test, "1.44") for test in FLOW], output[-3000:]


@pytest.mark.parametrize(("target", "extra", "reason"), [
    ("served", (), "run with --allow-global-changes"),  # a fake served on its own: someone's engine, not the run's
    ("fake:swarm-classic", ("--allow-global-changes",), "unsupported by target"),
])
def test_flow_is_skipped_with_its_reason(tmp_path: Path, target: str, extra: tuple[str, ...], reason: str) -> None:
    server = start_fake("tcp://127.0.0.1:0") if target == "served" else None
    try:
        results, output = _run(tmp_path, "--target", server.url if server else target, *extra)
    finally:
        if server:
            server.stop()
    assert results and all(outcome == "SKIPPED" for outcome, _, _ in results), output[-3000:]
    assert reason in output


def test_the_embedded_fake_needs_no_flag(tmp_path: Path) -> None:
    """The embedded fake is the run's own engine: swarm mode runs there without --allow-global-changes."""
    results, output = _run(tmp_path, "--target", "fake", "--api-version", "1.44")
    assert [test for _, test, _ in results] == FLOW, output[-3000:]
    assert all(outcome in ("PASSED", "XFAIL") for outcome, _, _ in results), output[-3000:]


@pytest.mark.skipif(not os.environ.get("DAC_SWARM_TARGET"),
                    reason="set DAC_SWARM_TARGET to an engine that may become a swarm manager "
                           "(scripts/dockerd-netns-up prints one)")
def test_flow_on_a_real_engine(tmp_path: Path) -> None:
    results, output = _run(tmp_path, "--target", os.environ["DAC_SWARM_TARGET"], "--allow-global-changes",
                           "--api-version", "1.41", timeout=300)
    assert [test for _, test, _ in results] == FLOW, output[-3000:]
    assert not [r for r in results if r[0] in ("FAILED", "ERROR")], output[-3000:]
