"""Promise faults of the fake: swarm mode (see conformance/fake/promise_faults/__init__.py).

What an edit of one answer cannot say: updates that ignore the version they are based on or the labels they
carry, a token rotation skipped, a filter misread, a secret's data handed back, a status nobody asked for.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..fault_types import Fault, Hook, RequestHook, drop_query, set_query
from ..util import find_by_ref
from ..wire import Response, json_bytes

if TYPE_CHECKING:
    from ..engine import Ctx


def _current(kind: str) -> Callable[[Ctx], Any]:
    """The swarm object an update names (None when there is none)."""
    def find(ctx: Ctx) -> Any:
        swarm = ctx.state.swarm
        if not swarm.active:
            return None
        if kind == "swarm":
            return swarm.obj
        if kind == "node":
            return swarm.node
        store = {"service": swarm.services, "secret": swarm.secrets, "config": swarm.configs}[kind]
        return find_by_ref(store.values(), ctx.params.get("id", ""), lambda o: o.spec.get("Name"))
    return find


def _version_current(kind: str) -> RequestHook:
    """The update's `version` replaced by the object's current one: a stale update goes through."""
    find = _current(kind)

    def before(ctx: Ctx) -> None:
        obj = find(ctx)
        if obj is not None:
            ctx.req.query["version"] = [str(obj.index)]
    return before


def _labels_kept(kind: str) -> RequestHook:
    """The update's Labels replaced by the object's current ones: the label change is lost."""
    find = _current(kind)

    def before(ctx: Ctx) -> None:
        obj, body = find(ctx), ctx.req.json(None)
        if obj is not None and isinstance(body, dict):
            body["Labels"] = dict(obj.spec.get("Labels") or {})
            ctx.req.body = json.dumps(body).encode()
    return before


def _drop_data(ctx: Ctx) -> None:
    """A secret's or config's update without its Data: a change of Data is not refused but dropped."""
    body = ctx.req.json(None)
    if isinstance(body, dict) and "Data" in body:
        obj = _current("secret" if ctx.op == "SecretUpdate" else "config")(ctx)
        body["Data"] = obj.spec.get("Data") if obj is not None and obj.spec.get("Data") else None
        ctx.req.body = json.dumps({k: v for k, v in body.items() if v is not None}).encode()


def _filter_value(key: str, value: str) -> RequestHook:
    """The request's `key` filter read as `value` (a misread filter)."""
    def before(ctx: Ctx) -> None:
        try:
            filters = json.loads(ctx.req.q("filters") or "{}")
        except ValueError:
            return
        if isinstance(filters, dict) and key in filters:
            filters[key] = [value]
            ctx.req.query["filters"] = [json.dumps(filters)]
    return before


def _json_list_edit(edit: Callable[[Ctx, list[Any]], list[Any]]) -> Hook:
    def hook(ctx: Ctx, response: Response) -> Response:
        if response.status != 200 or response.streaming or not response.body:
            return response
        try:
            data = json.loads(response.body)  # type: ignore[arg-type]
        except ValueError:
            return response
        data = edit(ctx, data if isinstance(data, list) else [data])
        body = data if ctx.op and ctx.op.endswith("List") else data[0]
        response.body = json_bytes(body)
        return response
    return hook


def _leak_data(ctx: Ctx, items: list[Any]) -> list[Any]:
    """Spec.Data on every secret, as if the store's payload were handed back."""
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("Spec"), dict):
            item["Spec"]["Data"] = base64.b64encode(b"leaked").decode()
    return items


def _foreign_task(ctx: Ctx, items: list[Any]) -> list[Any]:
    """A task of another service added to a service-filtered list."""
    if not items or not isinstance(items[0], dict) or "service" not in (ctx.req.q("filters") or ""):
        return items
    other = json.loads(json.dumps(items[0]))
    for key in ("ID", "ServiceID"):
        value = str(other.get(key, ""))
        other[key] = ("y" if value.startswith("x") else "x") + value[1:]
    return [*items, other]


def _update_faults(kind: str, op: str) -> dict[str, Fault]:
    return {
        f"{kind}-stale-version-accepted": Fault(f"{op} takes any version for the current one", op,
                                                before=_version_current(kind),
                                                catches=f"promise:{kind}-update-stale-version-refused"),
        f"{kind}-update-labels-kept": Fault(f"{op} keeps the labels the {kind} had", op, before=_labels_kept(kind),
                                            catches=f"promise:{kind}-update-labels-round-trip"),
    }


FAULTS: dict[str, Fault] = {
    **_update_faults("swarm", "SwarmUpdate"),
    **_update_faults("node", "NodeUpdate"),
    **_update_faults("service", "ServiceUpdate"),
    **_update_faults("secret", "SecretUpdate"),
    **_update_faults("config", "ConfigUpdate"),
    "swarm-rotate-ignored": Fault("SwarmUpdate ignores rotateWorkerToken", "SwarmUpdate",
                                  before=drop_query("rotateWorkerToken"),
                                  catches="promise:swarm-update-rotate-worker-token"),
    "secret-data-change-dropped": Fault("SecretUpdate drops a changed Data instead of refusing it", "SecretUpdate",
                                        before=_drop_data, catches="promise:secret-update-data-refused"),
    "config-data-change-dropped": Fault("ConfigUpdate drops a changed Data instead of refusing it", "ConfigUpdate",
                                        before=_drop_data, catches="promise:config-update-data-refused"),
    "secret-inspect-data-leaked": Fault("SecretInspect answers Spec.Data", "SecretInspect",
                                        _json_list_edit(_leak_data), catches="promise:secret-inspect-no-data"),
    "secret-list-data-leaked": Fault("SecretList answers Spec.Data", "SecretList", _json_list_edit(_leak_data),
                                     catches="promise:secret-list-no-data"),
    "service-inspect-status": Fault("ServiceInspect answers ServiceStatus unasked", "ServiceInspect", inline=True,
                                    catches="promise:service-inspect-no-status"),
    "service-list-status-unasked": Fault("ServiceList answers ServiceStatus without status=true", "ServiceList",
                                         before=set_query("status", "true"),
                                         catches="promise:service-list-no-status-unasked"),
    "task-list-foreign-task": Fault("TaskList filtered by service adds a task of another service", "TaskList",
                                    _json_list_edit(_foreign_task), catches="promise:task-list-filter-service"),
    "task-list-node-misread": Fault("TaskList reads the node filter as another node", "TaskList",
                                    before=_filter_value("node", "dac-no-such-node"),
                                    catches="promise:task-list-filter-node"),
}
