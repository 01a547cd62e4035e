"""Routing: route tables as data, and the one router that matches a request against a table.

Templates are written as in the spec ("/containers/{id}/json"); a parameter spelled `{name:.+}`
may span slashes, like the Engine's image and plugin routes ("localhost:5000/team/app:v1").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .util import Version, parse_version

Handler = Callable[..., Any]  # the Engine fake's take a Ctx; the classic proxy's take (request, params)


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # spec spelling, used for version gating
    op: str  # canonical (latest) operationId, used by faults
    func: Handler
    regex: re.Pattern[str]
    # Routes the real Engine serves that no spec version lists are never gated.
    ungated: bool = False


def _compile(template: str, trailing_slash: bool) -> tuple[str, re.Pattern[str]]:
    spec_template = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", template)
    pattern = ""
    for literal, name, custom in re.findall(r"([^{]*)(?:\{(\w+)(?::([^}]+))?\})?", template):
        pattern += re.escape(literal)
        if name:
            pattern += f"(?P<{name}>{custom or '[^/]+'})"
    return spec_template, re.compile(f"^{pattern}{'/?' if trailing_slash else ''}$")


def route(method: str, template: str, op: str, func: Handler, ungated: bool = False,
          trailing_slash: bool = True) -> Route:
    """One entry of a route table: `template` as the spec spells it, `{name:REGEX}` for a parameter that
    may span slashes; `op` the operationId (the latest spelling).  `trailing_slash`: whether the path may end
    in one more "/" (the Engine's router takes it; the classic Swarm manager's does not)."""
    spec_template, regex = _compile(template, trailing_slash)
    return Route(method.upper(), spec_template, op, func, regex, ungated)


class Router:
    """(method, path) -> the first route of the table that matches, and its path parameters.  Built from an
    explicit table (conformance/fake/routes.py for the Engine fake, the classic Swarm proxy's own)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(routes)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        method = method.upper()
        for candidate in self.routes:
            if candidate.method not in (method, "*"):
                continue
            found = candidate.regex.match(path)
            if found:
                return candidate, dict(found.groupdict())
        return None

    def operation(self, method: str, path: str) -> str | None:
        matched = self.match(method, path)
        return matched[0].op if matched else None

    def describe(self) -> list[dict[str, Any]]:
        return [{"method": r.method, "path": r.template, "op": r.op} for r in self.routes]


def at_least(version: Version, text: str) -> bool:
    return version >= parse_version(text)
