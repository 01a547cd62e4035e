"""The schema side of the fake's bodies: what the Engine's nulls become in spec mode, and what a full fit to
a version's schema would change (a self-test needs that to be nothing but what the errata document).

`Conformer.nulls` is the fake's one switchable quirk (Engine(nulls="spec")): real Engines send Go nil
slices, maps and pointers as null.  `Conformer.conform` fits a body to the schema (drops nulls, wrong
types and values outside an enum, fills missing required fields); the fake never sends its result,
it only compares (`differences`), so a handler bug shows instead of being papered over.
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
        if value is None and types and "null" not in types:
            if types[0] in ("array", "object") and not schema.get("x-nullable"):
                return [] if types[0] == "array" else {}  # as nil_collections
            return _MISSING
        if types is not None and not _type_ok(value, types):
            return _MISSING
        if value is None:
            return None
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

    def nulls(self, value: Any, schema: dict[str, Any] | bool | None) -> Any:
        """The Engine's nulls made spec-clean, and nothing else: a null where the schema declares an array
        or object (a Go nil slice or map) becomes the empty collection; a null scalar where the schema allows
        none (a Go nil pointer) is left out, unless the field is required."""
        if not isinstance(schema, dict) or not schema:
            return value
        schema = self.resolve(schema)
        if value is None and not self._allows_null(schema):  # a whole body that is a nil slice or map
            empty = self._empty_collection(schema)
            return value if empty is None else empty
        if isinstance(value, dict):
            props = schema.get("properties") or {}
            extra = schema.get("additionalProperties")
            required = schema.get("required") or []
            for key in list(value):
                sub = props.get(key, extra if isinstance(extra, dict) else None)
                if value[key] is None and isinstance(sub, dict) and not self._allows_null(sub):
                    empty = self._empty_collection(sub)
                    if empty is not None:
                        value[key] = empty
                    elif key not in required:
                        del value[key]
                else:
                    value[key] = self.nulls(value[key], sub)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            value[:] = [self.nulls(item, schema["items"]) for item in value]
        return value

    def _allows_null(self, schema: dict[str, Any]) -> bool:
        schema = self.resolve(schema)
        types = schema.get("type")
        types = types if isinstance(types, list) else [types]
        return ("null" in types or bool(schema.get("x-nullable")) or not schema.get("type")
                or any(self.resolve(o).get("type") == "null" for o in schema.get("anyOf") or []))

    def _empty_collection(self, schema: dict[str, Any]) -> Any:
        types = self.resolve(schema).get("type")
        first = (types if isinstance(types, list) else [types])[0]
        return [] if first == "array" else {} if first == "object" else None


def differences(before: Any, after: Any, where: str = "") -> list[str]:
    """JSON pointers at which two bodies differ (what a rewrite changed)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after), key=str):
            if key not in after:
                out.append(f"{where}/{key}: dropped")
            elif key not in before:
                out.append(f"{where}/{key}: added")
            else:
                out += differences(before[key], after[key], f"{where}/{key}")
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        pairs = enumerate(zip(before, after, strict=True))
        return [d for i, (b, a) in pairs for d in differences(b, a, f"{where}/{i}")]
    return [] if before == after and type(before) is type(after) else [f"{where or '/'}: {before!r} -> {after!r}"[:200]]
