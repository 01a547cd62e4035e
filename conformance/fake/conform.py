"""Make a JSON body fit the schema its version declares, without inventing structure.

Handlers build Engine-shaped data once for all versions; this pass, driven by the version's
schema, turns what that version's spec cannot express into what it can: a null where the spec has
no x-nullable is dropped (or replaced by the type's empty value when the field is required), a
value of the wrong type or outside an enum is dropped likewise, and missing required fields get an
empty value.  Real Engines send such nulls (Go nil slices); the fake is meant to be spec-clean.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()
_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float),
                                       "boolean": (bool,), "array": (list,), "object": (dict,)}


def _type_ok(value: Any, types: list[str]) -> bool:
    for name in types:
        if name == "null":
            if value is None:
                return True
            continue
        wanted = _TYPES.get(name)
        if wanted is None:
            return True
        if isinstance(value, bool) and name in ("integer", "number"):
            continue
        if isinstance(value, wanted):
            return True
    return False


class Conformer:
    def __init__(self, definitions: dict[str, Any]) -> None:
        self.definitions = definitions
        self._resolved: dict[int, dict[str, Any]] = {}

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow $ref and flatten allOf into one schema (properties and required merged)."""
        key = id(schema)
        cached = self._resolved.get(key)
        if cached is not None:
            return cached
        out = schema
        seen = 0
        while "$ref" in out and seen < 20:
            out = self.definitions.get(out["$ref"].rsplit("/", 1)[-1], {})
            seen += 1
        if "allOf" in out:
            merged: dict[str, Any] = {k: v for k, v in out.items() if k != "allOf"}
            props: dict[str, Any] = dict(merged.get("properties") or {})
            required: list[str] = list(merged.get("required") or [])
            for part in out["allOf"]:
                part = self.resolve(part)
                props.update(part.get("properties") or {})
                required += part.get("required") or []
                for k, v in part.items():
                    if k not in ("properties", "required"):
                        merged.setdefault(k, v)
            merged["properties"] = props
            if required:
                merged["required"] = required
            out = merged
        self._resolved[key] = out
        return out

    def empty(self, schema: dict[str, Any]) -> Any:
        schema = self.resolve(schema)
        if "enum" in schema and schema["enum"]:
            return schema["enum"][0]
        types = schema.get("type")
        first = (types if isinstance(types, list) else [types])[0] if types else "object"
        return {"array": [], "object": {}, "string": "", "integer": 0, "number": 0, "boolean": False}.get(first, None)

    def fit(self, value: Any, schema: dict[str, Any] | bool | None) -> Any:
        if not isinstance(schema, dict) or not schema:
            return value
        schema = self.resolve(schema)
        if "anyOf" in schema:
            for option in schema["anyOf"]:
                option = self.resolve(option)
                if value is None and option.get("type") == "null":
                    return None
            for option in schema["anyOf"]:
                option = self.resolve(option)
                if option.get("type") == "null":
                    continue
                result = self.fit(value, option)
                if result is not _MISSING:
                    return result
            return _MISSING
        types = schema.get("type")
        if types is not None:
            types = types if isinstance(types, list) else [types]
            if not _type_ok(value, types):
                return _MISSING
        if value is None:
            return None if types is None or "null" in (types or []) else _MISSING
        if "enum" in schema and value not in schema["enum"]:
            return _MISSING
        if isinstance(value, dict):
            props = schema.get("properties") or {}
            extra = schema.get("additionalProperties")
            for key in list(value):
                sub = props.get(key, extra if isinstance(extra, dict) else None)
                if sub is None:
                    if extra is False:
                        del value[key]
                    continue
                result = self.fit(value[key], sub)
                if result is _MISSING:
                    if key in (schema.get("required") or []):
                        value[key] = self.empty(sub)
                    else:
                        del value[key]
                else:
                    value[key] = result
            for key in schema.get("required") or []:
                if key not in value:
                    value[key] = self.empty(props.get(key) or {})
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            fitted = [self.fit(item, schema["items"]) for item in value]
            value[:] = [item for item in fitted if item is not _MISSING]
        return value

    def conform(self, value: Any, schema: dict[str, Any]) -> Any:
        result = self.fit(value, schema)
        return self.empty(schema) if result is _MISSING else result
