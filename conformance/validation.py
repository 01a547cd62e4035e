"""JSON Schema validation of response bodies, compiled once per (version, schema key)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import fastjsonschema
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match


@dataclass(frozen=True)
class SchemaProblem:
    pointer: str  # JSON pointer into the instance, "" for the root
    expected: str  # what the schema wanted
    found: str  # an excerpt of what was there
    schema_type: str = ""  # for a type mismatch, the type(s) the schema declares at the pointer ("array")
    instance: Any = field(default=None, compare=False, repr=False)  # the value at the pointer

    def __str__(self) -> str:
        return f"at {self.pointer or '/'}: expected {self.expected}, found {self.found}"


def _pointer(path: Any) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _excerpt(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(error: ValidationError) -> SchemaProblem:
    keyword = error.validator
    wanted = error.validator_value
    if keyword == "required":
        missing = [name for name in wanted if isinstance(error.instance, dict) and name not in error.instance]
        return SchemaProblem(_pointer(error.absolute_path), f"required field(s) {missing}", "an object without them",
                             instance=error.instance)
    if keyword == "type":
        declared = wanted if isinstance(wanted, list) else [wanted]
        return SchemaProblem(_pointer(error.absolute_path), f"type {wanted}", _excerpt(error.instance),
                             ",".join(str(t) for t in declared), error.instance)
    elif keyword == "enum":
        expected = f"one of {_excerpt(wanted)}"
    elif keyword in ("anyOf", "oneOf"):
        expected = f"{keyword} of {len(wanted)} alternatives ({error.message})"
    else:
        expected = f"{keyword} {_excerpt(wanted, 60)}"
    return SchemaProblem(_pointer(error.absolute_path), expected, _excerpt(error.instance), instance=error.instance)


# Bodies at least this large go through fastjsonschema's generated code (about 15x faster than
# jsonschema on a 50 KB list); compiling it costs ~5 ms a schema, so small bodies skip it.
FAST_PATH_MIN_BYTES = 8 * 1024


class SchemaValidator:
    """Validators for one version's definitions; each distinct schema is compiled once.

    The fast path only answers "valid or not"; the detailed problems (pointer, expectation)
    always come from jsonschema, so messages are the same whichever path ran.
    """

    def __init__(self, definitions: dict[str, Any]):
        self._definitions = definitions
        self._compiled: dict[str, Draft7Validator] = {}
        self._fast: dict[str, Any] = {}

    def _validator(self, key: str, schema: dict[str, Any]) -> Draft7Validator:
        validator = self._compiled.get(key)
        if validator is None:
            # Local refs are "#/definitions/X": give the schema a root that holds them.
            root = {**schema, "definitions": self._definitions}
            validator = self._compiled[key] = Draft7Validator(root)
        return validator

    def _is_valid_fast(self, key: str, schema: dict[str, Any], instance: Any) -> bool:
        check = self._fast.get(key)
        if check is None:
            check = self._fast[key] = fastjsonschema.compile(
                {**schema, "definitions": self._definitions}, use_formats=False
            )
        try:
            check(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def problems(self, key: str, schema: dict[str, Any], instance: Any, size: int = 0) -> list[SchemaProblem]:
        """Every schema problem of `instance` (`size`: its encoded length), most relevant first; [] when it
        conforms.  None is dropped: each one is judged against the excuses, only displays are capped."""
        validator = self._validator(key, schema)
        fast = size >= FAST_PATH_MIN_BYTES
        if self._is_valid_fast(key, schema, instance) if fast else validator.is_valid(instance):
            return []
        errors = list(validator.iter_errors(instance))
        first = best_match(errors)
        ordered = [first] + [e for e in errors if e is not first]
        return [describe(e) for e in ordered]
