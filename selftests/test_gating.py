"""Nightly gating end to end: a fake with a fault regresses against a fault-free baseline and fails
the gated run; the same gated run without the fault passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def suite(reports: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "PYTEST_XDIST_WORKER", "DAC_RUN_ID")}
    cmd = [sys.executable, "-m", "pytest", "-q", "--target", "fake", "--api-version", "1.56",
           f"--reports-dir={reports}", "-p", "no:cacheprovider", *extra]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_fault_regresses_and_clean_run_passes_against_the_baseline(tmp_path: Path) -> None:
    base = suite(tmp_path / "base")
    assert base.returncode == 0, base.stdout[-2000:]
    baseline = f"--baseline={tmp_path / 'base' / 'matrix.json'}"

    regressed = suite(tmp_path / "faulty", baseline, "--fake-fault", "wrong-content-type")
    assert regressed.returncode == 1, regressed.stdout[-2000:]
    assert "REGRESSION: ContainerList 1.56: pass -> fail" in regressed.stdout
    summary = yaml.safe_load((tmp_path / "faulty" / "summary.yaml").read_text())
    assert {r["operation"] for r in summary["baseline"]["regressions"]} == {"ContainerList"}

    clean = suite(tmp_path / "clean", baseline)
    assert clean.returncode == 0, clean.stdout[-2000:]
    assert "REGRESSION" not in clean.stdout
