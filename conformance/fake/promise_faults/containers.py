"""Promise faults of the fake: containers (see conformance/fake/promise_faults/__init__.py).

For what an edit of a plain JSON body cannot say: streams (a wait that answers, the events, the stats samples),
query parameters the fake should not have honoured, and a delete that keeps the container.  Each keeps every
answer well formed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..fault_types import Fault, drop_query
from ..wire import Response, json_bytes

if TYPE_CHECKING:
    from ..engine import Ctx

Record = dict[str, Any]


def _records(chunks: Iterator[bytes], change: Callable[[Ctx, Record, int], Record], ctx: Ctx) -> Iterator[bytes]:
    """The stream's JSON records changed one by one (an RS prefix and the newline kept)."""
    index = 0
    for chunk in chunks:
        prefix = b"\x1e" if chunk.startswith(b"\x1e") else b""
        try:
            record = json.loads(chunk[len(prefix):])
        except ValueError:
            yield chunk
            continue
        if isinstance(record, dict):
            record = change(ctx, record, index)
            index += 1
        yield prefix + json_bytes(record)


def _stream_edit(change: Callable[[Ctx, Record, int], Record], when: Callable[[Ctx], bool] = lambda ctx: True):
    def hook(ctx: Ctx, response: Response) -> Response:
        if response.streaming and response.status == 200 and when(ctx):
            response.body = _records(iter(response.body), change, ctx)  # type: ignore[arg-type]
        return response
    return hook


def _condition(*names: str) -> Callable[[Ctx], bool]:
    return lambda ctx: (ctx.req.q("condition") or "not-running") in names


def _status_code_plus_one(ctx: Ctx, record: Record, index: int) -> Record:
    return {**record, "StatusCode": record.get("StatusCode", 0) + 1}


def _answer_at_once(ctx: Ctx, response: Response) -> Response:
    """ContainerWait of a running container answers StatusCode 0 at once instead of when it exits."""
    if response.streaming and response.status == 200 and _condition("not-running")(ctx):
        response.body = iter([b'{"StatusCode":0}\n'])
    return response


def _rewrite_query(name: str, value: Callable[[str | None], str | None]) -> Callable[[Ctx], None]:
    def before(ctx: Ctx) -> None:
        new = value(ctx.req.q(name))
        if new is not None:
            ctx.req.query[name] = [new]
    return before


def _reverse_events(ctx: Ctx, response: Response) -> Response:
    """A finished events stream (until given) in reverse order."""
    if response.streaming and response.status == 200 and ctx.req.q("until"):
        chunks = [c for c in response.body if c]  # type: ignore[union-attr]
        response.body = iter(reversed(chunks))
    return response


def _rename_die(ctx: Ctx, record: Record, index: int) -> Record:
    if record.get("Action") != "die":
        return record
    return {**record, "Action": "died", **({"status": "died"} if "status" in record else {})}


def _actor_attr(key: str, change: Callable[[str], str]) -> Callable[[Ctx, Record, int], Record]:
    def edit(ctx: Ctx, record: Record, index: int) -> Record:
        attrs = dict((record.get("Actor") or {}).get("Attributes") or {})
        if record.get("Type") != "container" or key not in attrs:
            return record
        attrs[key] = change(attrs[key])
        return {**record, "Actor": {**record["Actor"], "Attributes": attrs}}
    return edit


def _preread_zero(ctx: Ctx, record: Record, index: int) -> Record:
    return {**record, "preread": "0001-01-01T00:00:00Z"}


def _reads_apart(ctx: Ctx, record: Record, index: int) -> Record:
    """Each sample stamped five seconds after the one before (a stream that samples every 5 s)."""
    stamp = time.gmtime(time.time() + 5 * index)
    return {**record, "read": time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", stamp)}


FAULTS: dict[str, Fault] = {
    "container-delete-keeps": Fault("ContainerDelete answers 204 and keeps the container", "ContainerDelete",
                                    inline=True, catches="promise:container-delete-gone"),
    "container-wait-answers-at-once": Fault(
        "ContainerWait of a running container answers StatusCode 0 before it exits", "ContainerWait",
        _answer_at_once, catches="promise:container-wait-blocks"),
    "container-wait-next-exit-code": Fault(
        "ContainerWait condition=next-exit answers the exit code plus one", "ContainerWait",
        _stream_edit(_status_code_plus_one, _condition("next-exit")), catches="promise:container-wait-next-exit"),
    "container-wait-removed-code": Fault(
        "ContainerWait condition=removed answers the exit code plus one", "ContainerWait",
        _stream_edit(_status_code_plus_one, _condition("removed")), catches="promise:container-wait-removed"),
    "container-list-all-always": Fault(
        "ContainerList lists stopped containers without all=true", "ContainerList",
        before=_rewrite_query("all", lambda _v: "1"), catches="promise:container-list-running-only"),
    "container-events-since-early": Fault(
        "SystemEvents sends events from an hour before `since`", "SystemEvents",
        before=_rewrite_query("since", lambda v: f"{float(v) - 3600:.9f}" if v else None),
        catches="promise:container-events-since"),
    "container-events-until-now": Fault(
        "SystemEvents sends events up to now instead of up to `until`", "SystemEvents",
        before=_rewrite_query("until", lambda v: f"{time.time():.9f}" if v else None),
        catches="promise:container-events-until"),
    "container-events-reversed": Fault("SystemEvents sends a finished window's events newest first",
                                       "SystemEvents", _reverse_events, catches="promise:container-events-order"),
    "container-events-die-renamed": Fault("SystemEvents names the die event `died`", "SystemEvents",
                                          _stream_edit(_rename_die), catches="promise:container-events-names"),
    "container-events-die-code": Fault(
        "SystemEvents gives a die event's exitCode plus one", "SystemEvents",
        _stream_edit(_actor_attr("exitCode", lambda v: str(int(v) + 1) if v.isdigit() else v)),
        catches="promise:container-events-die-exit-code"),
    "container-events-name-slash": Fault(
        "SystemEvents gives container names with a leading / in Actor.Attributes", "SystemEvents",
        _stream_edit(_actor_attr("name", lambda v: "/" + v)), catches="promise:container-events-actor-attributes"),
    "container-top-ps-args-ignored": Fault("ContainerTop ignores ps_args", "ContainerTop",
                                           before=drop_query("ps_args"), catches="promise:container-top-ps-args"),
    "container-stats-one-shot-ignored": Fault("ContainerStats ignores one-shot", "ContainerStats",
                                              before=drop_query("one-shot"),
                                              catches="promise:container-stats-one-shot"),
    "container-stats-stream-preread": Fault(
        "ContainerStats streams samples whose preread is not the previous read", "ContainerStats",
        _stream_edit(_preread_zero), catches="promise:container-stats-stream-previous"),
    "container-stats-stream-slow": Fault(
        "ContainerStats streams samples five seconds apart", "ContainerStats", _stream_edit(_reads_apart),
        catches="promise:container-stats-stream-interval"),
}
