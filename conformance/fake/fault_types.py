"""What a fault of the fake is (shared by the catalogue in faults.py and the promise faults it gathers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conformance.registry import require

from .wire import Response

if TYPE_CHECKING:
    from .engine import Ctx

Hook = Callable[["Ctx", Response], Response]
RequestHook = Callable[["Ctx"], None]


@dataclass(frozen=True)
class Fault:
    description: str
    where: str  # operationIds (comma separated), "*" for every response, or a stream name
    hook: Hook | None = None
    inline: bool = False
    catches: str = ""  # the check (conformance/registry.py) that must report this fault
    before: RequestHook | None = None  # changes the request before its handler sees it

    def __post_init__(self) -> None:
        require(self.catches)

    def applies(self, op: str | None) -> bool:
        return self.where == "*" or (op is not None and op in self.where.split(","))


# --- request hooks the fault modules share ------------------------------------------------------------

def drop_query(*keys: str) -> RequestHook:
    """The request without these query parameters (as if the handler ignored them)."""
    def before(ctx: Ctx) -> None:
        for key in keys:
            ctx.req.query.pop(key, None)
    return before


def set_query(key: str, value: str) -> RequestHook:
    """The request with this query parameter forced to `value`."""
    def before(ctx: Ctx) -> None:
        ctx.req.query[key] = [value]
    return before
