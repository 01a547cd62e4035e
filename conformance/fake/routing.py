"""Route table: (method, path template) -> handler, registered by the resource modules.

Templates are written as in the spec ("/containers/{id}/json"); a parameter spelled `{name:.+}`
may span slashes, like the Engine's image and plugin routes ("localhost:5000/team/app:v1").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .util import Version, parse_version

if TYPE_CHECKING:
    from .engine import Ctx
    from .wire import Response

HandlerFunc = Callable[["Ctx"], "Response"]


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # spec spelling, used for version gating
    op: str  # canonical (latest) operationId, used by faults
    func: HandlerFunc
    regex: re.Pattern[str]
    # Routes the real Engine serves that no spec version lists are never gated.
    ungated: bool = False


ROUTES: list[Route] = []


def _compile(template: str) -> tuple[str, re.Pattern[str]]:
    spec_template = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", template)
    pattern = ""
    for literal, name, custom in re.findall(r"([^{]*)(?:\{(\w+)(?::([^}]+))?\})?", template):
        pattern += re.escape(literal)
        if name:
            pattern += f"(?P<{name}>{custom or '[^/]+'})"
    return spec_template, re.compile(f"^{pattern}/?$")


def route(method: str, template: str, op: str, ungated: bool = False) -> Callable[[HandlerFunc], HandlerFunc]:
    def register(func: HandlerFunc) -> HandlerFunc:
        spec_template, regex = _compile(template)
        ROUTES.append(Route(method.upper(), spec_template, op, func, regex, ungated))
        return func
    return register


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    method = method.upper()
    for candidate in ROUTES:
        if candidate.method != method:
            continue
        found = candidate.regex.match(path)
        if found:
            return candidate, dict(found.groupdict())
    return None


def at_least(version: Version, text: str) -> bool:
    return version >= parse_version(text)


def register_all() -> None:
    """Import every resource module so their @route decorators run (idempotent)."""
    from . import build, container_io, containers, execs, images, networks, plugins, swarm, system, volumes  # noqa: F401


def describe() -> list[dict[str, Any]]:
    return [{"method": r.method, "path": r.template, "op": r.op} for r in ROUTES]
