#!/usr/bin/env python3
"""What the promise catalogue costs: the whole suite at one API version with and without suites/test_promises.py.

Run: python bench/bench_promises.py --target unix:///var/run/docker.sock [--api-version 1.41] [--workers 2]
Goal (issue 12): the run with promises takes at most 1.5x the run without them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed_run(target: str, version: str, workers: int, with_promises: bool) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as reports:
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "--target", target, "--api-version", version,
               f"--reports-dir={reports}", "--no-matrix"]
        if not with_promises:
            cmd += ["--ignore", "suites/test_promises.py"]
        if workers:
            cmd += ["-n", str(workers)]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_XDIST_WORKER", "DAC_RUN_ID")}
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines()
    return wall, next((ln for ln in reversed(lines) if " in " in ln and ("passed" in ln or "failed" in ln)), "?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="fake")
    parser.add_argument("--api-version", default="1.41")
    parser.add_argument("--workers", type=int, default=0, help="pytest-xdist workers (0 = serial)")
    args = parser.parse_args()
    without, summary_without = timed_run(args.target, args.api_version, args.workers, False)
    with_, summary_with = timed_run(args.target, args.api_version, args.workers, True)
    ratio = with_ / without if without else float("inf")
    print(f"target {args.target}, API {args.api_version}, workers {args.workers or 'serial'}")
    print(f"  without promises: {without:6.1f} s  ({summary_without})")
    print(f"  with promises:    {with_:6.1f} s  ({summary_with})")
    print(f"  ratio {ratio:.2f} (goal <= 1.50)")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
