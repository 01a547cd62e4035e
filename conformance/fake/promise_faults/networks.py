"""Promise faults of the fake: networks, volumes and plugins (see conformance/fake/promise_faults/__init__.py).

What an edit of a JSON body cannot say: a status that should have been a refusal, a disconnect done on one
side only, prune label filters read by key alone, a request the handler should have honoured (a setting, an
untagged plugin name).  Every answer stays well formed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..fault_types import Fault, Hook
from ..networks import KEEPS_ENDPOINT, KEEPS_SETTINGS
from ..wire import Response

if TYPE_CHECKING:
    from ..engine import Ctx

PRUNE_LABEL = "com.docker-api-conformance.promise-prune"  # the prune sequences' label (suites/promise_checks)


def _status_instead(old: int, new: int) -> Hook:
    """An answer of status `old` replaced by an empty one of status `new` (nothing else done)."""
    def hook(ctx: Ctx, response: Response) -> Response:
        if response.status == old:
            response.status, response.reason, response.body = new, None, b""
            del response.headers["Content-Type"]
        return response
    return hook


def _prune_label_key_only(ctx: Ctx) -> None:
    """The prune's `label` filter on PRUNE_LABEL=<value> read as PRUNE_LABEL: any value then matches."""
    try:
        filters = json.loads(ctx.req.q("filters") or "{}")
    except ValueError:
        return
    if isinstance(filters, dict) and isinstance(filters.get("label"), list):
        filters["label"] = [v.split("=", 1)[0] if v.startswith(PRUNE_LABEL + "=") else v for v in filters["label"]]
        ctx.req.query["filters"] = [json.dumps(filters)]


def _untagged_not_found(ctx: Ctx) -> None:
    """A plugin name without a tag looked up under another tag (as if `:latest` were not the default)."""
    name = ctx.params.get("name", "")
    if name and ":" not in name.rsplit("/", 1)[-1]:
        ctx.params["name"] = f"{name}:dac-no-default-tag"


def _settings_dropped(ctx: Ctx) -> None:
    ctx.req.body = b"[]"  # PluginSet with nothing to set: it still answers 204


FAULTS: dict[str, Fault] = {
    "volume-delete-in-use-204": Fault(
        "VolumeDelete of a volume in use answers 204 (and keeps the volume) instead of 409", "VolumeDelete",
        _status_instead(409, 204), catches="promise:volume-delete-in-use"),
    KEEPS_SETTINGS: Fault(
        "NetworkDisconnect (without Force) answers 200 but the container's NetworkSettings.Networks keeps the network",
        "NetworkDisconnect", inline=True, catches="promise:network-disconnect-container-inspect"),
    KEEPS_ENDPOINT: Fault(
        "NetworkDisconnect (without Force) answers 200 but the network's Containers keeps the container",
        "NetworkDisconnect", inline=True, catches="promise:network-disconnect-network-inspect"),
    "network-prune-label-key-only": Fault(
        "NetworkPrune reads the label filter k=v as k: networks with another value are pruned too", "NetworkPrune",
        before=_prune_label_key_only, catches="promise:network-prune-label"),
    "volume-prune-label-key-only": Fault(
        "VolumePrune reads the label filter k=v as k: volumes with another value are pruned too", "VolumePrune",
        before=_prune_label_key_only, catches="promise:volume-prune-label"),
    "plugin-no-default-tag": Fault(
        "PluginInspect does not take a name without a tag as name:latest (404)", "PluginInspect",
        before=_untagged_not_found, catches="promise:plugin-inspect-default-tag"),
    "plugin-set-ignored": Fault(
        "PluginSet answers 204 but changes no setting", "PluginSet",
        before=_settings_dropped, catches="promise:plugin-set-settings-env"),
}
