"""Where list items are is data (schemas/list_items.yaml), checked against the spec; the checks name no operation."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conformance import checks
from conformance.exchange import Exchange
from conformance.pointers import segments
from conformance.spec import SpecCatalog

CATALOG = SpecCatalog()
LABEL = "com.docker-api-conformance.run=r1"


def _listed(op_id: str, body: object, version: str = "1.41") -> list:
    spec = CATALOG.get(version)
    path = f"/v{version}/x?filters=" + json.dumps({"label": [LABEL]})
    ex = Exchange(op_id, version, "GET", path, {}, None, status=200, headers={"Content-Type": "application/json"},
                  body=json.dumps(body).encode())
    return checks.label_filter_honoured(spec, spec.operation(op_id), ex)


def test_a_wrapped_list_is_judged_item_by_item() -> None:
    ok = {"Name": "v1", "Labels": {"com.docker-api-conformance.run": "r1"}}
    stray = {"Name": "v2", "Labels": {"other": "x"}}
    assert _listed("VolumeList", {"Volumes": [ok], "Warnings": []}) == []
    found = _listed("VolumeList", {"Volumes": [ok, stray], "Warnings": []})
    assert [(p.check, p.pointer) for p in found] == [("label_filter_honoured", "/Volumes/1")]
    assert [p.pointer for p in _listed("NetworkList", [stray])] == ["/0"]  # a bare array is its own list


def test_an_object_body_without_an_entry_has_no_items() -> None:
    """A prune report lists what it removed (no labels there): not items to judge against the filter."""
    assert _listed("ImagePrune", {"ImagesDeleted": [{"Deleted": "sha256:1"}], "SpaceReclaimed": 0}) == []


def _resolve(spec, schema: dict | None) -> dict:
    while schema and "$ref" in schema:
        schema = spec.definitions[schema["$ref"].rsplit("/", 1)[-1]]
    return schema or {}


def test_every_entry_points_at_an_array_of_objects_in_the_spec() -> None:
    entries = checks.list_items()
    assert entries
    for op_id, pointer in entries.items():
        seen = 0
        for version in CATALOG.versions:
            spec = CATALOG.get(version)
            op = spec.operation(op_id)
            if op is None:
                continue
            node = _resolve(spec, spec.response_schema(op, 200))
            for part in segments(pointer):
                node = _resolve(spec, (node.get("properties") or {}).get(part))
            assert node.get("type") == "array", (op_id, version, pointer, node)
            assert _resolve(spec, node.get("items")).get("type") == "object", (op_id, version, pointer)
            seen += 1
        assert seen, f"{op_id} is in no spec version"


def test_the_checks_name_no_operation() -> None:
    source = (Path(checks.__file__)).read_text()
    every = {op for v in CATALOG.versions for op in CATALOG.get(v).operations}
    named = {op for op in every if re.search(rf"\b{op}\b", source)}
    assert named == set(), f"operation names in conformance/checks.py: {sorted(named)} (make it data)"
