"""Differential testing (conformance/differential.py): what it compares, what it leaves out, and that two runs of the
same fake agree while a fake with a fault diverges exactly where the fault is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.differential import Known, compare_pair, compare_runs, framing, lists_divergence, load_known, shape
from conformance.spec import SpecCatalog

ROOT = Path(__file__).resolve().parent.parent
CATALOG = SpecCatalog()


def _rec(status: int = 200, body: object = None, media: str = "application/json", **headers: str) -> dict:
    text = json.dumps(body) if body is not None else ""
    return {"nodeid": "t", "operation": "ContainerInspect", "version": "1.41", "scenario": "ok", "seq": 0,
            "method": "GET", "path": "/v1.41/containers/x/json", "status": status,
            "headers": {"content-type": media, "api-version": "1.41", **headers}, "body": text, "encoding": "text",
            "truncated": False}


def test_values_names_and_lengths_do_not_count() -> None:
    a = _rec(body={"Id": "aaa", "Name": "/one", "Config": {"Labels": {"x": "1", "y": "2"}},
                   "Mounts": [{"Type": "bind"}]})
    b = _rec(body={"Id": "bbbb", "Name": "/two", "Config": {"Labels": {"zz": "3"}},
                   "Mounts": [{"Type": "volume"}, {"Type": "bind"}]})
    assert compare_pair(a, b, CATALOG) == []


def test_a_missing_field_a_type_and_a_status_count() -> None:
    a = _rec(body={"Id": "a", "State": {"Running": True, "Pid": 1}})
    b = _rec(body={"Id": "b", "State": {"Running": "yes"}})
    found = {(d.kind, d.pointer, d.detail) for d in compare_pair(a, b, CATALOG)}
    assert found == {("shape", "/State/Running", "fake: boolean; engine: string"),
                     ("shape", "/State/Pid", "fake: number; engine: absent")}
    status = compare_pair(_rec(404, {"message": "x"}), _rec(500, {"message": "x"}), CATALOG)
    assert [d.kind for d in status] == ["status"]


def test_map_keys_come_from_the_schema() -> None:
    """Labels (a map in the spec) has `*` keys; a struct's keys keep their names."""
    schema = CATALOG.get("1.41").response_schema(CATALOG.get("1.41").operation("ContainerInspect"), 200)
    found = shape({"Config": {"Labels": {"com.example": "1"}, "Image": "x"}}, schema,
                  CATALOG.get("1.41").definitions)
    assert "/Config/Labels/*" in found and "/Config/Image" in found


def test_headers_media_type_and_framing() -> None:
    a, b = _rec(body={"Id": "a"}), _rec(body={"Id": "a"}, media="text/plain")
    del b["headers"]["api-version"]
    kinds = {(d.kind, d.pointer) for d in compare_pair(a, b, CATALOG)}
    assert ("media-type", "") in kinds and ("header", "api-version") in kinds
    assert framing(b"\x01\0\0\0\0\0\0\x02hi") == "multiplexed" and framing(b'{"a":1}\n{"b":2}\n') == "json-lines"
    assert framing(b"") == "empty" and framing(b"plain words") == "text"


def test_a_known_divergence_needs_a_reason_and_evidence(tmp_path: Path) -> None:
    bad = tmp_path / "known.yaml"
    bad.write_text("entries:\n  - {id: x, operations: [SystemInfo], kind: shape}\n")
    with pytest.raises(ValueError, match="reason and evidence"):
        load_known(bad)
    assert all(isinstance(k, Known) and k.reason and k.evidence for k in load_known())


def test_a_known_divergence_with_scenarios_lists_only_theirs() -> None:
    div = compare_pair(_rec(404, {"message": "x"}), _rec(500, {"message": "x"}), CATALOG)[0]
    entry = Known("k", ("ContainerInspect",), "status", "", "", "r", "e", ("promise:container-*",))
    assert not lists_divergence(entry, div)  # its scenario is "ok"
    div.scenario = "promise:container-list-image"
    assert lists_divergence(entry, div)
    assert lists_divergence(Known("k", ("ContainerInspect",), "status", "", "", "r", "e"), div)  # no scenarios: any


def _fake_run(folder: Path, *extra: str) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "DOCKER_HOST"))}
    done = subprocess.run([sys.executable, "-m", "pytest", "suites/test_operations.py", "--target", "fake",
                           "--api-version", "1.41", "-q", "-p", "no:randomly", "--record-exchanges",
                           f"--reports-dir={folder}", *extra], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    return folder


def test_two_runs_of_the_fake_agree_and_a_fault_diverges_where_it_is(tmp_path: Path) -> None:
    plain, again = _fake_run(tmp_path / "a"), _fake_run(tmp_path / "b")
    same = compare_runs(plain, again, labels=("fake", "fake-again"))
    assert same["pairs"] > 200 and same["new"] == 0, [d["detail"] for d in same["divergences"]][:10]
    broken = _fake_run(tmp_path / "c", "--fake-fault", "wrong-content-type")
    report = compare_runs(plain, broken, labels=("fake", "faulty"))
    where = {(d["operation"], d["kind"]) for d in report["divergences"]}
    assert where == {("ContainerList", "media-type")}, where  # the fault's operation, and only its Content-Type
