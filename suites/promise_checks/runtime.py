"""What a promise checker works with: requests at the test's API version, placeholders, and the verdict.

A checker is `def checker(run: PromiseRun) -> None`: it sends what it needs with `run.send`/`run.json`
(unchecked by the standard checks: the scenarios judge shapes; a checker judges what the answer says),
and states what must hold with `run.expect`.  A request whose status is not the one the promise needs
breaks the promise there (`PromiseBroken`); a precondition the target cannot offer is a typed skip.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from conformance.checks import Problem
from conformance.exchange import Exchange
from conformance.promises import Promise
from conformance.scenarios import render
from plugins.calls import EngineCall

# Answers shared by the promises of one session: (name, API version, active faults of the embedded fake) -> result.
# Keyed by the fake's active faults too, so a self-test that breaks one promise at a time never reads an answer
# recorded while another fault (or none) was on.
_SHARED: dict[tuple[str, str, frozenset[str]], Any] = {}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")


class PromiseBroken(Exception):
    """The promise cannot hold: what was seen instead (raised to stop the checker there)."""


class PromiseRun:
    """One promise at one API version."""

    def __init__(self, engine: EngineCall, promise: Promise, request: pytest.FixtureRequest):
        self.engine, self.promise, self.request = engine, promise, request
        self.version = engine.version
        self.problems: list[Problem] = []
        self.last: Exchange | None = None
        self._context: dict[str, Any] = {}

    # --- parameters and fixtures ----------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        return self.promise.params

    def fixture(self, name: str) -> Any:
        return self.request.getfixturevalue(name)

    def context(self, names: Iterable[str]) -> dict[str, Any]:
        """Fixture values by name, for "{fixture}" / "{fixture.Key}" placeholders."""
        for name in names:
            if name not in self._context:
                self._context[name] = self.fixture(name)
        return self._context

    def render(self, value: Any, needs: Iterable[str] = ()) -> Any:
        return render(value, self.context(needs))

    @property
    def sdk(self) -> Any:
        """The docker SDK client of the session (for setting up objects, never for judging answers)."""
        return self.engine.state.sdk

    def once(self, name: str, make: Callable[[PromiseRun], Any]) -> Any:
        """`make(run)` once per session, API version and active fault set (an expensive sequence several promises
        judge, e.g. one container's whole lifecycle); a PromiseBroken it raised is raised again for each."""
        fake = self.engine.state.fake
        key = (name, self.version, frozenset(fake.faults) if fake is not None else frozenset())
        if key not in _SHARED:
            try:
                _SHARED[key] = make(self)
            except PromiseBroken as exc:
                _SHARED[key] = exc
        found = _SHARED[key]
        if isinstance(found, PromiseBroken):
            raise PromiseBroken(str(found))
        return found

    # --- requests ---------------------------------------------------------------------------------
    def send(self, op_id: str, path: dict[str, Any] | None = None, *, expect: Iterable[int] = (200,),
             **kwargs: Any) -> Exchange:
        """Send at the test's version; PromiseBroken when the status is not one of `expect`."""
        _, ex = self.engine.send(op_id, path, **kwargs)
        self.last = ex
        wanted = tuple(expect)
        if wanted and ex.status not in wanted:
            raise PromiseBroken(f"{op_id} answered {ex.status} (the promise needs {'/'.join(map(str, wanted))}): "
                                f"{ex.excerpt(200)}")
        return ex

    def json(self, op_id: str, path: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        ex = self.send(op_id, path, **kwargs)
        try:
            return ex.json()
        except ValueError:
            raise PromiseBroken(f"{op_id} answered {ex.status}, a body that is not JSON: {ex.excerpt(200)}") from None

    # --- verdicts ---------------------------------------------------------------------------------
    def expect(self, holds: bool, message: str, pointer: str = "") -> bool:
        """Record a breach when `holds` is false; returns `holds`."""
        if not holds:
            self.problems.append(Problem(self.promise.check, message, pointer))
        return holds

    def equal(self, found: Any, wanted: Any, what: str, pointer: str = "") -> bool:
        return self.expect(same(found, wanted), f"{what}: {found!r}, expected {wanted!r}", pointer)

    def broken(self, message: str) -> None:
        self.problems.append(Problem(self.promise.check, message))


def same(found: Any, wanted: Any) -> bool:
    """JSON equality: unlike Python's, true is not 1 and false is not 0 (at any depth)."""
    if isinstance(found, bool) or isinstance(wanted, bool):
        return type(found) is type(wanted) and found == wanted
    if isinstance(found, dict) and isinstance(wanted, dict):
        return found.keys() == wanted.keys() and all(same(found[k], wanted[k]) for k in found)
    if isinstance(found, list) and isinstance(wanted, list):
        return len(found) == len(wanted) and all(same(a, b) for a, b in zip(found, wanted, strict=True))
    return found == wanted


def at(doc: Any, pointer: str) -> Any:
    """The value an RFC 6901 pointer names (KeyError/IndexError when absent)."""
    node = doc
    for token in [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]] if pointer else []:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def has(doc: Any, pointer: str) -> bool:
    try:
        at(doc, pointer)
    except (KeyError, IndexError, TypeError, ValueError):
        return False
    return True
