"""The swagger normalizer: nullable, allOf, refs, prose removal, and bad documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from conformance.normalize import SpecError, convert_schema, normalize

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def test_x_nullable_scalar_allows_null() -> None:
    schema = convert_schema({"type": "string", "x-nullable": True, "description": "words"})
    assert schema == {"type": ["string", "null"]}


def test_x_nullable_ref_wraps_in_any_of() -> None:
    schema = convert_schema({"$ref": "#/definitions/Thing", "x-nullable": True})
    assert schema == {"anyOf": [{"$ref": "#/definitions/Thing"}, {"type": "null"}]}


def test_nullable_enum_keeps_null_in_enum() -> None:
    schema = convert_schema({"type": "string", "enum": ["a", "b"], "x-nullable": True})
    assert Draft7Validator(schema).is_valid(None)
    assert not Draft7Validator(schema).is_valid("c")


def test_prose_and_generator_hints_are_dropped() -> None:
    schema = convert_schema({
        "type": "object", "description": "d", "title": "t", "example": {"a": 1}, "x-go-name": "X",
        "properties": {"Description": {"type": "string", "description": "a property named like prose"}},
    })
    assert schema == {"type": "object", "properties": {"Description": {"type": "string"}}}


def test_all_of_and_additional_properties_are_kept_and_objects_stay_open() -> None:
    schema = convert_schema({"allOf": [{"$ref": "#/definitions/A"}, {"type": "object", "properties": {
        "Labels": {"type": "object", "additionalProperties": {"type": "string"}}}}]})
    root = {**schema, "definitions": {"A": {"type": "object", "required": ["Id"], "properties": {"Id": {}}}}}
    validator = Draft7Validator(root)
    assert validator.is_valid({"Id": "x", "Labels": {"a": "b"}, "Extra": 1})  # servers may add fields
    assert not validator.is_valid({"Labels": {"a": "b"}})  # allOf: A's required Id
    assert not validator.is_valid({"Id": "x", "Labels": {"a": 1}})  # additionalProperties schema


def test_property_level_required_true_is_not_json_schema() -> None:
    assert convert_schema({"type": "string", "required": True}) == {"type": "string"}


def _doc(**extra: object) -> dict:
    doc = {"swagger": "2.0", "info": {"version": "1.99", "description": "prose"}, "paths": {
        "/things/{id}": {"get": {"operationId": "ThingGet", "tags": ["Thing"], "summary": "s",
                                 "parameters": [{"name": "id", "in": "path", "required": True, "type": "string",
                                                 "description": "p"}],
                                 "responses": {200: {"description": "ok", "schema": {"$ref": "#/definitions/T"}},
                                               404: {"description": "no"}}}}},
           "definitions": {"T": {"type": "object", "description": "prose", "properties": {"A": {"type": "integer"}}}}}
    doc.update(extra)
    return doc


def test_normalize_document_shape() -> None:
    data = normalize(_doc())
    op = data["operations"]["ThingGet"]
    assert op["method"] == "GET" and op["path"] == "/things/{id}" and op["tag"] == "Thing"
    assert op["parameters"] == [{"in": "path", "name": "id", "type": "string", "required": True}]
    assert op["responses"]["200"] == {"schema": {"$ref": "#/definitions/T"}}
    assert op["produces"] == ["application/json"]
    assert "prose" not in json.dumps(data)


@pytest.mark.parametrize("doc, message", [
    ({"openapi": "3.0.0"}, "swagger 2.0"),
    ([1, 2], "swagger 2.0"),
    ({"swagger": "2.0", "info": {"version": "latest"}, "paths": {}}, "not an API version"),
    ({"swagger": "2.0", "info": {"version": "1.41"}}, "no `paths`"),
])
def test_bad_documents_raise_one_clear_error(doc: object, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        normalize(doc)


def test_generated_files_cover_every_version_without_prose() -> None:
    files = sorted(SCHEMAS.glob("engine-*.json"))
    versions = sorted(f.stem.removeprefix("engine-") for f in files)
    assert versions == [f"1.{n}" for n in range(25, 57)]
    for path in files:
        text = path.read_text()
        # Markers of upstream prose, spelled in pieces so that this file does not carry them itself.
        assert "x-display" + "Name" not in text and "The Engine API is " + "an HTTP API" not in text
        data = json.loads(text)
        assert data["api_version"] == path.stem.removeprefix("engine-")
        assert not list(_prose_strings(data)), path.name


def _prose_strings(node: object):
    """Prose keys holding text; a property *named* description holds a schema (a dict) instead."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary", "example", "examples", "title") and isinstance(value, str):
                yield key, value
            yield from _prose_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _prose_strings(value)
