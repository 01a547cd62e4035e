"""The promise checkers, by the name a catalogue entry's `test:` gives (one explicit table, no import magic)."""

from __future__ import annotations

from collections.abc import Callable

from suites.promise_checks import containers, generic, images, networks, streams, swarm
from suites.promise_checks.runtime import PromiseRun

Checker = Callable[[PromiseRun], None]

CHECKERS: dict[str, Checker] = {}
for _module in (generic, containers, streams, images, networks, swarm):
    _twice = set(CHECKERS) & set(_module.CHECKERS)
    if _twice:
        raise RuntimeError(f"promise checkers defined twice: {sorted(_twice)}")
    CHECKERS.update(_module.CHECKERS)  # type: ignore[arg-type]
