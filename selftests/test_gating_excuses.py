"""Gating sees excuses move: pass -> spec-erratum/known-deviation and a rise in a cell's excused findings are
regressions (each listed with the entry that now excuses it); --fail-on selects which kinds gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance import cli, matrix, render

TARGET = {"kind": "docker", "engine_version": "20.10.24", "address": "unix:///x.sock"}


def _results(state: str, excused: int = 0, entry: str = "nil-x") -> dict[str, Any]:
    findings = [{"check": "body_schema", "message": f"m{i}", "pointer": f"/F{i}", "state": "spec-erratum",
                 "expectation": entry, "reason": "r"} for i in range(excused)]
    test = {"operation": "ContainerInspect", "tag": "Container", "version": "1.41", "scenario": "ok", "status": 200,
            "checks": {"body_schema": state}, "findings": findings, "state": state}
    return {"format": 1, "target": TARGET, "meta": {"api_versions": ["1.41"]}, "tests": [test]}


def _write(tmp_path: Path, name: str, doc: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(matrix.build(doc)))
    return str(path)


@pytest.mark.parametrize("old, new, kind", [
    (("pass", 0), ("spec-erratum", 3), "excused"),
    (("spec-erratum", 3), ("spec-erratum", 5), "excused-count"),
    (("known-deviation", 1), ("fail", 0), "fail"),
])
def test_excuse_moves_are_regressions(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: tuple[str, int],
                                      new: tuple[str, int], kind: str) -> None:
    before = _write(tmp_path, "old.json", _results(*old))
    after = _write(tmp_path, "new.json", _results(*new))
    assert cli.main(["diff", before, after]) == 1
    out = capsys.readouterr().out
    assert "regressions: 1" in out
    if kind != "fail":
        assert f"({kind}, excused {old[1]} -> {new[1]}: nil-x)" in out
    others = ",".join(k for k in matrix.REGRESSION_KINDS if k != kind)
    assert cli.main(["diff", before, after, f"--fail-on={others}"]) == 0


def test_same_excuses_are_not_regressions(tmp_path: Path) -> None:
    before = _write(tmp_path, "old.json", _results("spec-erratum", 3))
    assert cli.main(["diff", before, _write(tmp_path, "new.json", _results("spec-erratum", 3))]) == 0
    assert cli.main(["diff", before, _write(tmp_path, "fewer.json", _results("spec-erratum", 2))]) == 0


def test_unknown_fail_on_is_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _write(tmp_path, "old.json", _results("pass"))
    with pytest.raises(SystemExit) as done:
        cli.main(["diff", before, before, "--fail-on=fail,everything"])
    assert done.value.code == 2
    assert "unknown everything" in capsys.readouterr().err


def test_cells_show_their_excused_count() -> None:
    doc = matrix.build(_results("spec-erratum", 27))
    cell = doc["cells"][0]
    assert cell["excused"] == 27 and cell["excused_by"] == {"nil-x": 27}
    assert render.cell_text(cell) == "§ 27"
    assert "§ 27" in render.to_markdown(doc) and "§ 27" in render.to_html(doc)
