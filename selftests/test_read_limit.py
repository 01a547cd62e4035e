"""A body cut at the suite's size limit is a limit of the suite (check read_limit, state error), never a
framing or JSON failure of the target, and the limit is an option (--max-body-bytes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conformance.checks import run_checks
from conformance.exchange import Exchange
from conformance.recorder import classify
from conformance.spec import SpecCatalog

ROOT = Path(__file__).resolve().parent.parent


def _cut_inspect(truncated: bool) -> Exchange:
    return Exchange("SystemInfo", "1.41", "GET", "/v1.41/info", {}, None, status=200,
                    headers={"Content-Type": "application/json"}, body=b'{"ID": "abc", "Contain', truncated=truncated)


def test_a_cut_body_is_an_error_of_the_suite_not_of_the_target() -> None:
    spec = SpecCatalog().get("1.41")
    op = spec.operation("SystemInfo")
    cut = run_checks(spec, op, _cut_inspect(truncated=True))
    assert [p.check for p in cut["read_limit"]] == ["read_limit"] and "--max-body-bytes" in cut["read_limit"][0].message
    assert "body_schema" not in cut and "content_type" not in cut  # nothing is judged on half a body
    states, findings = classify(cut, lambda problem: None)
    assert states["read_limit"] == "error" and all(f.state == "error" for f in findings)
    # The same bytes, not cut by the suite: the target sent broken JSON, and that fails.
    whole = run_checks(spec, op, _cut_inspect(truncated=False))
    assert not whole["read_limit"] and whole["body_schema"]


def test_max_body_bytes_is_an_option_and_a_cut_shows_as_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS")}
    done = subprocess.run([sys.executable, "-m", "pytest", "suites/test_operations.py", "-q", "-p", "no:randomly",
                           "--target", "fake", "--api-version", "1.41", "-k", "SystemInfo", "--max-body-bytes=200",
                           f"--reports-dir={tmp_path}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    tests = json.loads((tmp_path / "results.json").read_text())["tests"]
    info = [t for t in tests if t["operation"] == "SystemInfo"]
    assert info and all(t["state"] == "error" for t in info), done.stdout[-2000:]
    assert all(t["checks"].get("read_limit") == "error" and "body_schema" not in t["checks"] for t in info)
    assert done.returncode == 1
