"""Named edits of a JSON document at a pointer: the one language in which a wrong-but-well-formed answer is written.

The promise catalogue describes, for each promise, an answer that breaks it while keeping its schema
(`violation:`); the fake applies it as a fault and the altering proxy applies it in front of a real
engine, so both prove the same thing: the suite notices.  Pointer segments are names, list indexes or
`*` (every list item or map value at that level).

Edits (`name` or `name:argument`):
    other-hex        hex digits replaced by others (same length): another object's id
    strip-prefix:P   the prefix P removed from a string ("sha256:", "/")
    prefix:P         P put before a string
    set:JSON         the value replaced by the JSON text
    zero             every number at or below the node becomes 0
    empty            a string, list or map emptied ("", [], {})
    drop             the key removed from its map (only where the schema does not require it)
    negate           a boolean flipped
    add:N            N added to a number
    join             a list of strings becomes one string joined by spaces (in a one-item list)
    reverse          a list reversed
    drop-first       a list without its first item
    first-only       a list of its first item only
    swap:A,B         two keys of a map exchange their values
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

EDIT_NAMES = ("other-hex", "strip-prefix", "prefix", "set", "zero", "empty", "drop", "negate", "add", "join",
              "reverse", "drop-first", "first-only", "swap")
_HEX = "0123456789abcdef"


class EditError(ValueError):
    """A malformed edit or pointer."""


def _other_hex(text: str) -> str:
    return "".join(_HEX[(_HEX.index(c) + 7) % 16] if c in _HEX else c for c in text)


def _zero(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return 0
    if isinstance(value, list):
        return [_zero(v) for v in value]
    if isinstance(value, dict):
        return {k: _zero(v) for k, v in value.items()}
    return value


def _empty(value: Any) -> Any:
    return type(value)() if isinstance(value, (str, list, dict)) else value


def _swap(value: Any, arg: str) -> Any:
    a, _, b = arg.partition(",")
    if isinstance(value, dict) and a in value and b in value:
        value = dict(value)
        value[a], value[b] = value[b], value[a]
    return value


def value_edit(edit: str) -> Callable[[Any], Any]:
    """The function of a value that an edit names (EditError for an unknown one); `drop` is handled by apply."""
    name, _, arg = edit.partition(":")
    simple: dict[str, Callable[[Any], Any]] = {
        "other-hex": lambda v: _other_hex(v) if isinstance(v, str) else v,
        "strip-prefix": lambda v: v.removeprefix(arg) if isinstance(v, str) else v,
        "prefix": lambda v: arg + v if isinstance(v, str) else v,
        "zero": _zero,
        "empty": _empty,
        "negate": lambda v: (not v) if isinstance(v, bool) else v,
        "join": lambda v: [" ".join(map(str, v))] if isinstance(v, list) else v,
        "reverse": lambda v: list(reversed(v)) if isinstance(v, list) else v,
        "drop-first": lambda v: v[1:] if isinstance(v, list) else v,
        "first-only": lambda v: v[:1] if isinstance(v, list) else v,
        "swap": lambda v: _swap(v, arg),
    }
    if name == "set":
        try:
            new = json.loads(arg)
        except ValueError as exc:
            raise EditError(f"edit {edit!r}: the value after 'set:' is not JSON ({exc})") from exc
        return lambda _v: copy.deepcopy(new)
    if name == "add":
        try:
            step = float(arg) if "." in arg else int(arg)
        except ValueError as exc:
            raise EditError(f"edit {edit!r}: 'add:' needs a number") from exc
        return lambda v: v + step if isinstance(v, (int, float)) and not isinstance(v, bool) else v
    if name in simple and (bool(arg) == (name in ("strip-prefix", "prefix", "swap"))):
        return simple[name]
    if name == "drop" and not arg:
        return lambda v: v
    raise EditError(f"unknown or malformed edit {edit!r} (edits: {', '.join(EDIT_NAMES)})")


def _tokens(pointer: str) -> list[str]:
    if pointer and not pointer.startswith("/"):
        raise EditError(f"not a JSON pointer: {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]] if pointer else []


def apply(doc: Any, pointer: str, edit: str) -> tuple[Any, int]:
    """(the edited document, how many places were edited); the input is not modified."""
    func = value_edit(edit)
    drop = edit == "drop"
    doc = copy.deepcopy(doc)
    count = 0

    def walk(node: Any, tokens: list[str]) -> Any:
        nonlocal count
        if not tokens:
            new = func(node)
            count += new != node or type(new) is not type(node)  # a place the edit left as it was is not counted
            return new
        head, rest = tokens[0], tokens[1:]
        if isinstance(node, dict):
            keys = list(node) if head == "*" else [head] if head in node else []
            for key in keys:
                if drop and not rest:
                    del node[key]
                    count += 1
                else:
                    node[key] = walk(node[key], rest)
        elif isinstance(node, list):
            one = [int(head)] if head.isdigit() and int(head) < len(node) else []
            indexes = range(len(node)) if head == "*" else one
            for index in reversed(indexes) if drop and not rest else indexes:
                if drop and not rest:
                    del node[index]
                    count += 1
                else:
                    node[index] = walk(node[index], rest)
        return node

    if drop and not _tokens(pointer):
        raise EditError("edit 'drop' needs a pointer below the root")
    return walk(doc, _tokens(pointer)), count


def check(pointer: str, edit: str) -> str:
    """Why (pointer, edit) is malformed; '' when it is well formed."""
    try:
        _tokens(pointer)
        value_edit(edit)
        if edit == "drop" and not pointer:
            return "edit 'drop' needs a pointer below the root"
    except EditError as exc:
        return str(exc)
    return ""
