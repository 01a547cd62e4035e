"""(operation, status) coverage from spec data and recorded outcomes."""

from __future__ import annotations

import json
from pathlib import Path

from conformance import coverage
from conformance.spec import SpecCatalog

CATALOG = SpecCatalog()


def test_declared_pairs_skip_5xx_and_default() -> None:
    pairs = coverage.declared_pairs(CATALOG.get("1.41"))
    assert ("ContainerStart", 304) in pairs and ("ContainerStart", 204) in pairs
    assert not any(status >= 500 for _, status in pairs)


def test_compute_counts_declared_statuses_seen_at_that_version() -> None:
    outcomes = [
        {"operation": "ContainerStart", "version": "1.41", "status": 204},
        {"operation": "ContainerStart", "version": "1.41", "status": 304},
        {"operation": "ContainerStart", "version": "1.40", "status": 404},  # another version
        {"operation": "ContainerStart", "version": "1.41", "status": 500},  # not a declared non-5xx pair
        {"operation": "NetworkCreate", "version": "1.41", "status": 409},  # seen, undeclared
        {"operation": "ContainerStart", "version": "1.41", "status": 0},  # no exchange
    ]
    result = coverage.compute(CATALOG, ["1.41"], outcomes)["versions"]["1.41"]
    assert result["exercised"] == 2
    assert result["declared"] == len(coverage.declared_pairs(CATALOG.get("1.41")))
    assert "ContainerStart 404" in result["missing"] and "ContainerStart 204" not in result["missing"]
    assert result["undeclared_seen"] == ["NetworkCreate 409"]
    assert 0 < result["ratio"] < 1


def test_cli_merges_results_files(tmp_path: Path, capsys) -> None:
    for index, status in enumerate((204, 304)):
        (tmp_path / f"r{index}.json").write_text(json.dumps({
            "meta": {"api_versions": ["1.41"]},
            "tests": [{"operation": "ContainerStart", "version": "1.41", "status": status}]}))
    out = tmp_path / "coverage.json"
    assert coverage.main([str(tmp_path / "r0.json"), str(tmp_path / "r1.json"), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["versions"]["1.41"]["exercised"] == 2
    assert "API 1.41: 2/" in capsys.readouterr().out
