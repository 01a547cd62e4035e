"""The fake is spec-clean by construction: over the whole matrix, a full fit of each JSON body it serves to its
version's schema (conformance/fake/conform.py `Conformer.conform`) would change nothing, except where a spec
erratum (schemas/errata.yaml, with `pointers`) says that every Engine answers otherwise.

The fake sends its bodies as its handlers build them; only nulls are switchable (Engine(nulls=...)).  The
run below asks the fake to write what a full fit would still change (DAC_FAKE_CONFORM_AUDIT); each change
must be explained by an erratum, or it is a handler bug that a rewrite would have hidden.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import pointers as ptr
from conformance.expectations import ERRATA, ExpectationBook

ROOT = Path(__file__).resolve().parent.parent


def _explained(book: ExpectationBook, operation: str, version: str, change: str) -> bool:
    pointer = change.split(":", 1)[0]
    return any(entry.check == "body_schema" and entry.covers("fake", version, operation)
               and any(_under(pointer, pattern) for pattern in entry.pointers)
               for entry in book.entries if entry.state == "spec-erratum" and entry.pointers)


def _under(pointer: str, pattern: str) -> bool:
    """The change is at the erratum's pointer, below it, or is the list whose items the erratum is about."""
    return (ptr.matches(pointer, pattern) or any(ptr.matches(pointer[:i], pattern) for i in range(len(pointer))
                                                  if pointer[i] == "/")
            or (pattern.endswith("/*") and ptr.matches(pointer, pattern[:-2])))


@dataclass
class MatrixRun:
    status: int
    output: str
    audit: list[dict]


@pytest.fixture(scope="module")
def matrix_run(tmp_path_factory: pytest.TempPathFactory) -> MatrixRun:
    """The whole suite on the fake at every API version, with the audit on.  DAC_SELFTEST_FAKE_REPORTS keeps
    the run's reports (and its output, run.log) in that folder: CI publishes them as the fake's matrix."""
    folder = tmp_path_factory.mktemp("spec-clean")
    reports = Path(os.environ.get("DAC_SELFTEST_FAKE_REPORTS") or folder / "reports").resolve()
    log = folder / "audit.jsonl"
    env = {**os.environ, "DAC_FAKE_CONFORM_AUDIT": str(log)}
    for name in ("DOCKER_HOST", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        env.pop(name, None)  # a run of its own, even when the self-tests run under xdist
    done = subprocess.run([sys.executable, "-m", "pytest", "suites", "--target", "fake", "--api-version", "all",
                           "-q", "-p", "no:randomly", "-n", "2", f"--reports-dir={reports}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert (reports / "results.json").exists(), done.stdout[-2000:] + done.stderr[-2000:]
    (reports / "run.log").write_text(done.stdout)
    audit = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return MatrixRun(done.returncode, done.stdout + done.stderr, audit)


def test_the_fake_passes_the_whole_matrix(matrix_run: MatrixRun) -> None:
    """Every test of every API version passes (or is excused) on the fake: it is the suite's reference target."""
    assert matrix_run.status == 0, matrix_run.output[-4000:]


def test_no_body_the_full_fit_would_change(matrix_run: MatrixRun) -> None:
    book = ExpectationBook.load(ERRATA, [], "fake")
    unexplained = sorted({f"{r['operation']} {r['version']} {r['status']}: {change}"
                          for r in matrix_run.audit for change in r["changed"]
                          if not _explained(book, r["operation"], r["version"], change)})
    assert not unexplained, f"{len(unexplained)} changes a rewrite would make:\n" + "\n".join(unexplained[:40])


def test_the_audit_sees_what_it_must() -> None:
    """Positive control: a body with a wrong type, a missing required field and an unknown enum value is
    reported, field by field."""
    from conformance.fake import spec
    from conformance.fake.conform import differences
    from conformance.fake.util import parse_version

    fitter = spec.conformer(parse_version("1.41"))
    info = spec.operations(parse_version("1.41"))[("GET", "/containers/{id}/json")]
    body = {"Id": 5, "State": {"Status": "dac-not-a-status"}, "HostConfig": {"Memory": "lots"}}
    changed = differences(json.loads(json.dumps(body)), fitter.conform(body, info.schemas["200"]))
    assert {c.split(":")[0] for c in changed} >= {"/Id", "/State/Status", "/HostConfig/Memory"}, changed


@pytest.mark.parametrize("nulls, expected", [("spec", []), ("engine", None)])
def test_nulls_are_switchable(nulls: str, expected: list | None) -> None:
    """The one switchable quirk: a container's unset VolumesFrom (a Go nil slice) is [] in spec mode and
    null, as dockerd sends it, in engine mode."""
    import docker

    from conformance.fake import start_fake

    with start_fake(nulls=nulls) as fake:
        api = docker.APIClient(base_url=fake.url, version="1.41")
        ident = api.create_container("busybox:latest", ["true"])["Id"]
        assert api.inspect_container(ident)["HostConfig"]["VolumesFrom"] == expected
