"""Mutation score: run the suite against the embedded fake once per catalogued fault.

A fault is *caught* when the run reports a failure of the check the catalogue names for it
(`Fault.catches`) on an operation the fault applies to;
it is *contained* when no other operation fails (errors of preconditions the fault broke are
listed but allowed: the suite could not set up, it did not misjudge).  Faults that apply to
every response ("*") only need to be caught.

Run: python -m conformance.mutation [--api-version 1.56] [FAULT ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from conformance.fake.faults import FAULTS

ROOT = Path(__file__).resolve().parent.parent
BAD_STATES = ("fail",)
# The faults a whole-suite run judges; those that break a promise are judged one promise test at a time
# (selftests/test_promise_faults.py), a whole run per fault would cost minutes each.
SUITE_FAULTS = sorted(name for name, f in FAULTS.items() if not f.catches.startswith("promise:"))


@dataclass
class FaultResult:
    fault: str
    caught_on: list[str] = field(default_factory=list)  # operations with a failing check the fault explains
    outside: list[str] = field(default_factory=list)  # failing operations the fault does not apply to
    other_checks: list[str] = field(default_factory=list)  # failing checks other than the one the catalogue names
    errors: int = 0  # tests whose preconditions broke
    exit_status: int = 0
    seconds: float = 0.0

    @property
    def caught(self) -> bool:
        return bool(self.caught_on)

    @property
    def contained(self) -> bool:
        return not self.outside


def run_suite(version: str, faults: list[str], reports: Path, timeout: float = 2.0) -> tuple[int, list[dict]]:
    """One suite run against the fake; returns pytest's exit status and the recorded outcomes."""
    cmd = [sys.executable, "-m", "pytest", "-q", "--target", "fake", "--api-version", version,
           f"--reports-dir={reports}", f"--request-timeout={timeout}", "--no-matrix", "-p", "no:cacheprovider",
           # The promises have their own proof (a fault per promise, selftests/test_promise_faults.py); here the
           # suite's checks are judged, so a promise that also notices a fault does not count as "outside".
           "--ignore", "suites/test_promises.py"]
    for name in faults:
        cmd += ["--fake-fault", name]
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "PYTEST_XDIST_WORKER", "DAC_RUN_ID")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    results = reports / "results.json"
    if not results.exists():
        output = proc.stdout[-800:] + proc.stderr[-800:]
        raise RuntimeError(f"the suite wrote no results (exit {proc.returncode}): {output}")
    return proc.returncode, json.loads(results.read_text())["tests"]


def judge(fault: str, exit_status: int, tests: list[dict]) -> FaultResult:
    spec = FAULTS[fault]
    result = FaultResult(fault, exit_status=exit_status)
    for test in tests:
        if test["state"] == "error":
            result.errors += 1
        if test["state"] not in BAD_STATES:
            continue
        operation = test["operation"]
        checks = {f.get("check") for f in test.get("findings") or [] if f.get("state") in BAD_STATES}
        if spec.where == "*" or spec.applies(operation):
            if spec.catches in checks:  # caught by the check the catalogue names, not by accident
                result.caught_on.append(operation)
            else:
                result.other_checks.extend(sorted(c for c in checks if c))
        else:
            result.outside.append(f"{operation} ({test.get('scenario') or test.get('nodeid')})")
    result.caught_on = sorted(set(result.caught_on))
    return result


def score(version: str = "1.56", faults: list[str] | None = None) -> tuple[list[FaultResult], Counter]:
    """Judge every fault; the Counter holds the states of the fault-free baseline run."""
    def one(fault: str, tmp: Path) -> FaultResult:
        start = time.monotonic()
        status, tests = run_suite(version, [fault], tmp / fault)
        result = judge(fault, status, tests)
        result.seconds = time.monotonic() - start
        return result

    with tempfile.TemporaryDirectory() as tmp:
        # Each run is a process against a fake of its own, so the runs go side by side, one per CPU.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            clean = pool.submit(run_suite, version, [], Path(tmp) / "clean")
            results = list(pool.map(lambda fault: one(fault, Path(tmp)), faults or SUITE_FAULTS))
            baseline = Counter(t["state"] for t in clean.result()[1])
    return results, baseline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("faults", nargs="*", help="faults to try (default: the whole catalogue)")
    parser.add_argument("--api-version", default="1.56")
    args = parser.parse_args(argv)
    unknown = [f for f in args.faults if f not in FAULTS]
    if unknown:
        print(f"mutation: unknown fault(s) {unknown}; known: {', '.join(sorted(FAULTS))}", file=sys.stderr)
        return 2
    results, baseline = score(args.api_version, args.faults)
    print(f"fault-free run at API {args.api_version}: {dict(baseline)}")
    for r in results:
        verdict = f"caught by {FAULTS[r.fault].catches}" if r.caught else "MISSED"
        if not r.caught and r.other_checks:
            verdict += f" (only {', '.join(sorted(set(r.other_checks)))} failed)"
        extra = f"; also failing: {', '.join(r.outside)}" if r.outside else ""
        where = ", ".join(r.caught_on) or "-"
        print(f"  {r.fault:28} {verdict:7} on {where} (precondition errors: {r.errors}; {r.seconds:.1f} s){extra}")
    caught = sum(r.caught for r in results)
    print(f"mutation score: {caught}/{len(results)} faults caught, "
          f"{sum(r.caught and r.contained for r in results)}/{len(results)} caught and contained")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
