"""The Engine: `handle(Request) -> Response`, versioning, standard headers, gating and faults.

Everything behind the socket goes through `Engine.handle`, so another kind (a classic-Swarm
manager) can be a different object with the same method that proxies to several Engines.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from . import faults as fault_mod
from . import routing, spec
from .conform import differences
from .identity import FAKE_VERSION
from .registry import Registry
from .routes import ENGINE_ROUTER
from .state import State
from .util import Version, parse_version, version_str
from .wire import ApiError, Headers, Request, Response, error_response, json_bytes

TRACE = bool(os.environ.get("DAC_FAKE_TRACE"))  # log every request line and status to stderr
AUDIT = os.environ.get("DAC_FAKE_CONFORM_AUDIT")  # a file: what a full schema fit would still change (_conform)
NULLS = ("spec", "engine")  # how the fake sends the nulls the Engine sends (_conform)
_VERSIONED = re.compile(r"^/v(\d+\.\d+)(/.*)$")


@dataclass
class Ctx:
    """What a handler gets: the request, path params, the engine and the negotiated version."""

    engine: Engine
    req: Request
    version: Version
    op: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> State:
        return self.engine.state

    def nil(self, empty: Any) -> Any:
        """A Go nil slice or map in a body the handler streams itself (no _conform pass): null as the Engine
        sends it with nulls="engine", else the empty collection."""
        return None if self.engine.nulls == "engine" else empty

    def fault(self, name: str) -> bool:
        return name in self.engine.faults

    def at_least(self, text: str) -> bool:
        return routing.at_least(self.version, text)

    def below(self, text: str) -> bool:
        return not routing.at_least(self.version, text)

    def q(self, name: str, default: str | None = None) -> str | None:
        return self.req.q(name, default)

    def qbool(self, name: str, default: bool = False) -> bool:
        return self.req.qbool(name, default)

    def qint(self, name: str, default: int | None = None) -> int | None:
        return self.req.qint(name, default)

    def body(self, default: Any = None) -> Any:
        return self.req.json(default)


class Engine:
    """One fake Docker Engine with its own state."""

    kind = "docker"

    def __init__(self, min_api: str = "1.25", max_api: str = "1.56", faults: set[str] | None = None,
                 name: str = "fake-engine", registry: Registry | None = None, nulls: str = "spec") -> None:
        self.registry = registry if registry is not None else Registry()  # engines may share one
        self.min_api = parse_version(min_api)
        self.max_api = parse_version(max_api)
        self.faults: set[str] = set(faults or ())
        fault_mod.validate(self.faults)
        if nulls not in NULLS:
            raise ValueError(f"nulls={nulls!r}: expected one of {', '.join(NULLS)}")
        self.nulls = nulls  # see _conform
        self.server_header = f"Docker/{FAKE_VERSION} (linux)"
        self.state = State(self, name)

    # --- entry point ---------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        ctx = Ctx(self, req, self.max_api)
        response = self._dispatch(ctx)
        response = self._finish(ctx, response)
        if TRACE:
            print(f"fake: {req.method} {req.target} -> {response.status}", file=sys.stderr, flush=True)
        return response

    def close(self) -> None:
        self.state.close()

    # --- internals -----------------------------------------------------------------------
    def _dispatch(self, ctx: Ctx) -> Response:
        req = ctx.req
        path = unquote(req.path)
        found = _VERSIONED.match(path)
        if found:
            version = parse_version(found.group(1))
            path = found.group(2)
            req.versioned = True
            if version > self.max_api and not ctx.fault("accept-too-new-version"):
                return _middleware_error(f"client version {found.group(1)} is too new. Maximum supported API "
                                         f"version is {version_str(self.max_api)}")
            if version < self.min_api:
                return _middleware_error(f"client version {found.group(1)} is too old. Minimum supported API "
                                         f"version is {version_str(self.min_api)}, please upgrade your client "
                                         "to a newer version")
            ctx.version = version
        req.path = path
        req.version = ctx.version
        matched = ENGINE_ROUTER.match(req.method, path)
        if matched is None:
            return _unrouted()
        route, params = matched
        info = None if route.ungated else spec.lookup(min(ctx.version, self.max_api), route.method, route.template)
        if info is None and not route.ungated:
            return _unrouted()
        ctx.op = route.op  # canonical (latest) id, stable across renames, for faults
        ctx.params = params
        try:
            fault_mod.before(ctx, self.faults)  # inside: a request hook's error is an Engine-style 500 too
            response = route.func(ctx)
        except ApiError as exc:
            response = error_response(exc.status, exc.message)
        except Exception as exc:  # noqa: BLE001 - surface bugs as Engine-style 500s
            traceback.print_exc()
            response = error_response(500, f"fake engine: {type(exc).__name__}: {exc}")
        response.operation = ctx.op
        if info is not None and info.schemas:
            self._conform(ctx, info, response)
        return response

    def _conform(self, ctx: Ctx, info: spec.OpInfo, response: Response) -> None:
        """The one switchable Engine quirk: nulls.  Handlers build each version's shape themselves; the Engine
        sends Go nil slices, maps and pointers as null, where the spec (mostly) declares none.  With
        nulls="spec" (the default) such a null becomes the empty collection, or the key is left out; with
        nulls="engine" the body goes out as the handler built it, nulls and all.  Nothing else is rewritten:
        with DAC_FAKE_CONFORM_AUDIT=FILE, what a full fit to the schema would still change is written there
        (selftests/test_fake_spec_clean.py needs it empty but for what the errata document)."""
        schema = info.schemas.get(str(response.status))
        content_type = response.headers.get("Content-Type") or ""
        if schema is None or response.streaming or "json" not in content_type or not response.body:
            return
        fitter = spec.conformer(info.version)
        if fitter is None or (self.nulls == "engine" and not AUDIT):
            return
        try:
            body = json.loads(response.body)  # type: ignore[arg-type]
        except ValueError:
            return
        if self.nulls == "spec":
            body = fitter.nulls(body, schema)
            response.body = json_bytes(body)
        if AUDIT:
            changed = differences(body, fitter.conform(copy.deepcopy(body), schema))
            if changed:
                with open(AUDIT, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"operation": ctx.op, "version": version_str(info.version),
                                             "status": response.status, "changed": changed}) + "\n")

    def _finish(self, ctx: Ctx, response: Response) -> Response:
        kept = response.standard_headers
        standard = [("Api-Version", version_str(self.max_api)), ("Docker-Experimental", "false"),
                    ("Ostype", "linux"), ("Server", self.server_header)]
        headers = Headers([] if kept == "none" else
                          [h for h in standard if kept == "all" or h[0] != "Docker-Experimental"])
        for key, value in response.headers.items():
            headers[key] = value
        response.headers = headers
        return fault_mod.apply(ctx, self.faults, response)


def _unrouted() -> Response:
    """The router's own 404 (no route at this version): only Content-Type, as dockerd answers it."""
    response = error_response(404, "page not found")
    response.standard_headers = "none"
    return response


def _middleware_error(message: str) -> Response:
    response = error_response(400, message)
    response.standard_headers = "no-experimental"
    return response
