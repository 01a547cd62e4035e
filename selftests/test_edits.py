"""conformance/edits.py: each named edit changes what it says, where the pointer says, and nothing else."""

from __future__ import annotations

import copy

import pytest

from conformance.edits import EditError, apply, check

DOC = {"Id": "ab12", "Names": ["/a", "/b"], "Labels": {"k": "v"}, "Size": 5, "Up": True,
       "Titles": ["PID", "CMD"], "Rows": [{"n": 1}, {"n": 2}]}


@pytest.mark.parametrize(("pointer", "edit", "wanted"), [
    ("/Id", "other-hex", "1289"),
    ("/Names/*", "strip-prefix:/", ["a", "b"]),
    ("/Names/0", "prefix:x", ["x/a", "/b"]),
    ("/Size", "add:2", 7),
    ("/Up", "negate", False),
    ("/Labels", "empty", {}),
    ("/Titles", "join", ["PID CMD"]),
    ("/Titles", "reverse", ["CMD", "PID"]),
    ("/Names", "drop-first", ["/b"]),
    ("/Names", "first-only", ["/a"]),
    ("/Labels", "set:{\"x\": 1}", {"x": 1}),
    ("/Rows/*/n", "zero", [{"n": 0}, {"n": 0}]),
])
def test_an_edit_changes_its_place(pointer: str, edit: str, wanted: object) -> None:
    before = copy.deepcopy(DOC)
    out, count = apply(DOC, pointer, edit)
    top = pointer.split("/")[1]
    assert out[top] == wanted and count >= 1
    assert {k: v for k, v in out.items() if k != top} == {k: v for k, v in DOC.items() if k != top}
    assert DOC == before, "the input was modified"


def test_drop_zero_at_root_and_missing_places() -> None:
    assert "Labels" not in apply(DOC, "/Labels", "drop")[0]
    assert apply(DOC, "", "zero")[0]["Size"] == 0 and apply(DOC, "", "zero")[0]["Up"] is True
    assert apply(DOC, "/Nope", "zero") == (DOC, 0)
    assert apply({"a": 1, "b": 2}, "", "swap:a,b")[0] == {"a": 2, "b": 1}


@pytest.mark.parametrize(("pointer", "edit"), [("Id", "zero"), ("/Id", "paint"), ("/Id", "set:{bad"),
                                               ("", "drop"), ("/Id", "add:x"), ("/Id", "strip-prefix")])
def test_malformed_edits_are_errors(pointer: str, edit: str) -> None:
    assert check(pointer, edit)
    with pytest.raises(EditError):
        apply(DOC, pointer, edit)
