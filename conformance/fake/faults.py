"""Fault catalogue: deliberate deviations the fake can inject so the suite can prove it notices.

Each fault is data: a description, where it applies, and either a response post-processing hook
(applied by the engine to every matching response) or `inline=True` when the handler that builds
the stream checks `ctx.fault(name)` itself.  Adding a fault = adding one entry here (plus the inline
check if it needs one).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from conformance import edits
from conformance.promises import catalogue

from .fault_types import Fault, Hook, RequestHook
from .promise_faults import containers, images, networks, streams, swarm
from .wire import Headers, Response, json_bytes

if TYPE_CHECKING:
    from .engine import Ctx


def _json_edit(edit: Callable[[dict], None], status: int | None = None) -> Hook:
    def hook(ctx: Ctx, response: Response) -> Response:
        if (status is not None and response.status != status) or response.streaming:
            return response
        try:
            data = json.loads(response.body)  # type: ignore[arg-type]
        except ValueError:
            return response
        if isinstance(data, dict):
            edit(data)
        response.body = json_bytes(data)
        return response
    return hook


def _set_status(new: int, only_from: int | None = None) -> Hook:
    def hook(ctx: Ctx, response: Response) -> Response:
        if only_from is None or response.status == only_from:
            response.status = new
            response.reason = None
        return response
    return hook


def _drop_header(name: str) -> Hook:
    def hook(ctx: Ctx, response: Response) -> Response:
        del response.headers[name]
        return response
    return hook


def _set_header(name: str, value: str) -> Hook:
    def hook(ctx: Ctx, response: Response) -> Response:
        if name in response.headers or name == "Content-Type":
            response.headers[name] = value
        return response
    return hook


def _non_json_404(ctx: Ctx, response: Response) -> Response:
    if response.status != 404 or response.streaming:
        return response
    try:
        message = json.loads(response.body).get("message", "not found")  # type: ignore[arg-type]
    except (ValueError, AttributeError):
        message = "not found"
    response.body = (message + "\n").encode()
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response


def _twice(ctx: Ctx, response: Response) -> Response:
    """A one-shot JSON body sent twice (two objects where one must come)."""
    if response.status == 200 and not response.streaming:
        body = bytes(response.body)  # type: ignore[arg-type]
        response.body = body.rstrip(b"\n") + b"\n" + body
    return response


def _api_version_number(data: dict) -> None:
    data["ApiVersion"] = float(data.get("ApiVersion", "0"))


FAULTS: dict[str, Fault] = {
    "drop-required-field": Fault("ContainerCreate 201 body without the required `Id`", "ContainerCreate",
                                 _json_edit(lambda d: d.pop("Id", None), 201), catches="body_schema"),
    "wrong-field-type": Fault("/version ApiVersion as a JSON number instead of a string", "SystemVersion",
                              _json_edit(_api_version_number, 200), catches="body_schema"),
    "undeclared-status": Fault("ContainerInspect answers 418, a status the spec does not declare",
                               "ContainerInspect", _set_status(418), catches="status_declared"),
    "ok-instead-of-created": Fault("ContainerCreate answers 200 instead of 201", "ContainerCreate",
                                   _set_status(200, 201), catches="status_declared"),
    "ok-instead-of-no-content": Fault("ContainerStart answers 200 instead of 204", "ContainerStart",
                                      _set_status(200, 204), catches="status_declared"),
    "non-json-error": Fault("every 404 carries a text/plain body instead of {\"message\"}", "*", _non_json_404,
                            catches="error_body"),
    "wrong-content-type": Fault("ContainerList served as text/html", "ContainerList",
                                _set_header("Content-Type", "text/html; charset=utf-8"), catches="content_type"),
    "bad-frame-stream-byte": Fault("logs frames use stream byte 7", "ContainerLogs", inline=True, catches="mux_frames"),
    "short-frame": Fault("logs: a frame header announces more bytes than follow, then the stream closes",
                         "ContainerLogs", inline=True, catches="mux_frames"),
    "no-101-on-upgrade": Fault("attach answers 200 to a Connection: Upgrade request", "ContainerAttach",
                               inline=True, catches="upgrade_101"),
    "missing-api-version-header": Fault("no Api-Version header on any response", "*", _drop_header("Api-Version"),
                                        catches="api_version_header"),
    "accept-too-new-version": Fault("no 400 for /vX.Y above the maximum API version", "*", inline=True,
                                    catches="version_prefix"),
    "ignore-label-filter": Fault("ContainerList ignores label filters", "ContainerList", inline=True,
                                 catches="label_filter_honoured"),
    "hang-stream": Fault("/events with `until` never closes and sends nothing", "SystemEvents", inline=True,
                         catches="complete_read"),
    "missing-rs-framing": Fault("application/json-seq events without the RS (0x1E) record prefix",
                                "SystemEvents", inline=True, catches="json_seq"),
    "bad-stat-header": Fault("X-Docker-Container-Path-Stat is not base64", "ContainerArchiveInfo,ContainerArchive",
                             _set_header("X-Docker-Container-Path-Stat", "%%not-base64%%"), catches="path_stat_header"),
    "bad-ping-header": Fault("no Docker-Experimental header on /_ping", "SystemPing,SystemPingHead",
                             _drop_header("Docker-Experimental"), catches="cli_headers"),
    "events-missing-field": Fault("event records without timeNano", "SystemEvents", inline=True, catches="event_shape"),
    "session-no-h2-preface": Fault("the session's 101 is followed by nothing (no HTTP/2 from the Engine)", "Session",
                                   inline=True, catches="h2c_session"),
    "stats-two-objects": Fault("ContainerStats stream=false answers two JSON objects instead of one",
                               "ContainerStats", _twice, catches="single_json_object"),
}


# --- faults that break a promise of the catalogue (suites/promises), schema kept: `break-<promise id>` ---------

def _edit_2xx(pointer: str, edit: str) -> Hook:
    """A promise's `violation` edit applied to a 2xx JSON body (conformance/edits.py)."""
    def hook(ctx: Ctx, response: Response) -> Response:
        if not 200 <= response.status < 300 or response.streaming or not response.body:
            return response
        try:
            data = json.loads(response.body)  # type: ignore[arg-type]
        except ValueError:
            return response
        response.body = json_bytes(edits.apply(data, pointer, edit)[0])
        return response
    return hook


def _ignore_filter(key: str) -> RequestHook:
    """The request's `filters` without `key`, as if the handler ignored that filter."""
    def before(ctx: Ctx) -> None:
        raw = ctx.req.q("filters")
        try:
            filters = json.loads(raw) if raw else None
        except ValueError:
            return
        if isinstance(filters, dict) and key in filters:
            del filters[key]
            ctx.req.query["filters"] = [json.dumps(filters)]
    return before


def generated_promise_faults() -> dict[str, Fault]:
    """One fault per catalogued promise whose violation is an edit or an ignored filter."""
    out: dict[str, Fault] = {}
    for promise in catalogue().values():
        v = promise.violation
        if v.kind == "edit":
            out[f"break-{promise.id}"] = Fault(f"{v.operation} answers with {v.edit} at {v.pointer or '/'}",
                                               v.operation, _edit_2xx(v.pointer, v.edit), catches=promise.check)
        elif v.kind == "ignore-filter":
            out[f"break-{promise.id}"] = Fault(f"{v.operation} ignores the {v.ignore_filter!r} filter", v.operation,
                                               before=_ignore_filter(v.ignore_filter), catches=promise.check)
    return out


FAULTS.update(generated_promise_faults())
# The hand-written faults that break a promise (`violation: {fault: name}`), one module per area.
for _module in (containers, streams, images, networks, swarm):
    _twice = sorted(set(_module.FAULTS) & set(FAULTS))
    if _twice:
        raise RuntimeError(f"fault names defined twice: {_twice}")
    FAULTS.update(_module.FAULTS)


def fault_for(promise_id: str) -> str:
    """The fault that breaks a promise: its named one, else the generated `break-<id>`."""
    promise = catalogue()[promise_id]
    return promise.violation.fault or f"break-{promise_id}"


def validate(names: set[str] | list[str] | tuple[str, ...]) -> None:
    unknown = sorted(set(names) - set(FAULTS))
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(sorted(FAULTS))}")


def before(ctx: Ctx, active: set[str]) -> None:
    """Run the request hooks of every active fault that applies to this operation."""
    for name in sorted(active):
        fault = FAULTS.get(name)
        if fault and fault.before and fault.applies(ctx.op):
            fault.before(ctx)


def apply(ctx: Ctx, active: set[str], response: Response) -> Response:
    """Run the post-processing hooks of every active fault that applies to this operation."""
    for name in sorted(active):
        fault = FAULTS.get(name)
        if fault and fault.hook and fault.applies(ctx.op):
            response = fault.hook(ctx, response)
    return response


def describe() -> dict[str, dict[str, str]]:
    return {name: {"description": f.description, "where": f.where, "catches": f.catches} for name, f in FAULTS.items()}


__all__ = ["FAULTS", "Fault", "Headers", "apply", "before", "describe", "fault_for", "validate"]
