"""JSON pointers of response bodies against the spec's schemas: can a pointer exist, and of what type is it.

An excuse names the places it explains by pointer; these functions say whether such a place can
exist in a version's schema at all, and what type the schema declares there, so that an entry
cannot name a field that is not there and a "nil collection" excuse can only cover an array or map.
Pattern segments: a name, or `*` for any one list index or map key (never part of a name).
"""

from __future__ import annotations

from typing import Any

COLLECTION_TYPES = ("array", "object")


def segments(pointer: str) -> list[str]:
    """'/a/b~1c' -> ['a', 'b/c']; '' (the root) -> []."""
    if not pointer:
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]


def pattern_problem(pattern: str) -> str:
    """Why a pointer pattern is not precise ('' when it is): wildcards span one whole segment only."""
    if pattern and not pattern.startswith("/"):
        return f"pointer {pattern!r} does not start with '/'"
    for part in segments(pattern):
        if part == "**":
            return f"pointer {pattern!r}: '**' (any depth) is not precise; name each level"
        if part != "*" and any(c in part for c in "*?["):
            return f"pointer {pattern!r}: a wildcard must be a whole segment ('*'), not part of a name ({part!r})"
    return ""


def matches(pointer: str, pattern: str) -> bool:
    """A problem's pointer against a pattern, segment by segment (`*` = any one segment)."""
    parts, pats = segments(pointer), segments(pattern)
    return len(parts) == len(pats) and all(p == "*" or p == q for q, p in zip(parts, pats, strict=True))


def _resolve(node: Any, definitions: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    """The alternatives a schema node stands for, with $ref followed and allOf/anyOf/oneOf expanded."""
    if not isinstance(node, dict) or depth > 40:
        return []
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        return _resolve(definitions.get(ref.removeprefix("#/definitions/")), definitions, depth + 1)
    out = [node]
    for key in ("allOf", "anyOf", "oneOf"):
        for part in node.get(key) or []:
            out += _resolve(part, definitions, depth + 1)
    return out


def _children(node: dict[str, Any], part: str) -> list[Any]:
    if part == "*":
        kids = [node["items"]] if isinstance(node.get("items"), dict) else []
        if isinstance(node.get("additionalProperties"), dict):
            kids.append(node["additionalProperties"])
        return kids
    props = node.get("properties") or {}
    if part in props:
        return [props[part]]
    if isinstance(node.get("additionalProperties"), dict):
        return [node["additionalProperties"]]
    if part.isdigit() and isinstance(node.get("items"), dict):
        return [node["items"]]
    return []


def alternatives(schema: Any, definitions: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema nodes a node stands for ($ref followed, allOf/anyOf/oneOf expanded)."""
    return _resolve(schema, definitions)


def child_nodes(node: dict[str, Any], part: str) -> list[Any]:
    """The schemas of a node's child at one pointer segment (a name, an index, or `*`)."""
    return _children(node, part)


def nodes_at(schema: Any, definitions: dict[str, Any], pattern: str) -> list[dict[str, Any]]:
    """The schema nodes a pointer pattern reaches ([] when no schema describes that place)."""
    current = _resolve(schema, definitions)
    for part in segments(pattern):
        current = [kid for node in current for child in _children(node, part) for kid in _resolve(child, definitions)]
        if not current:
            return []
    return current


def declared_types(nodes: list[dict[str, Any]]) -> set[str]:
    """The JSON types the nodes declare (an object with properties counts as an object)."""
    types: set[str] = set()
    for node in nodes:
        declared = node.get("type")
        if isinstance(declared, str):
            types.add(declared)
        elif isinstance(declared, list):
            types.update(str(t) for t in declared)
        elif "properties" in node or "additionalProperties" in node:
            types.add("object")
        elif "items" in node:
            types.add("array")
    return types
