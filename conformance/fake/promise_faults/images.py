"""Promise faults of the fake: images, distribution and system (see conformance/fake/promise_faults/__init__.py).

What an edit of a JSON body cannot say: headers and plain-text bodies of /_ping, the Content-Type of a tarball,
and requests the handler should have read differently (a load that drops the tags, prune filters misread).
"""

from __future__ import annotations

import io
import json
import tarfile
from typing import TYPE_CHECKING

from ..fault_types import Fault, Hook, RequestHook
from ..wire import Response

if TYPE_CHECKING:
    from ..engine import Ctx

PRUNE_LABEL = "com.docker-api-conformance.promise-prune"  # the images of the prune sequence (suites/promise_checks)


def _header(name: str, value: str | None) -> Hook:
    """The response header set to value (removed when None)."""
    def hook(ctx: Ctx, response: Response) -> Response:
        if value is None:
            del response.headers[name]
        else:
            response.headers[name] = value
        return response
    return hook


def _body(data: bytes) -> Hook:
    def hook(ctx: Ctx, response: Response) -> Response:
        if response.status == 200 and not response.streaming:
            response.body = data
        return response
    return hook


def _load_without_tags(ctx: Ctx) -> None:
    """The uploaded tarball's manifest.json with no RepoTags: the load then tags nothing."""
    try:
        source = tarfile.open(fileobj=io.BytesIO(ctx.req.body), mode="r:*")
        members = [(m, source.extractfile(m).read() if m.isfile() else b"") for m in source]  # type: ignore[union-attr]
    except (tarfile.TarError, AttributeError):
        return
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as target:
        for member, data in members:
            if member.name.lstrip("./") == "manifest.json":
                data = json.dumps([{**entry, "RepoTags": None} for entry in json.loads(data)]).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data) if member.isfile() else None)
    ctx.req.body = out.getvalue()


def _prune_filters(change: str) -> RequestHook:
    """ImagePrune's filters misread: `dangling` true taken as false, or promise label values ignored."""
    def before(ctx: Ctx) -> None:
        try:
            filters = json.loads(ctx.req.q("filters") or "{}")
        except ValueError:
            return
        if not isinstance(filters, dict):
            return
        if change == "dangling" and filters.get("dangling") in (["true"], ["1"]):
            filters["dangling"] = ["false"]
        elif change == "label":
            filters["label"] = [v.split("=", 1)[0] if v.startswith(PRUNE_LABEL + "=") else v
                                for v in filters.get("label") or []]
        ctx.req.query["filters"] = [json.dumps(filters)]
    return before


FAULTS: dict[str, Fault] = {
    "ping-api-version-other": Fault("GET /_ping answers Api-Version 1.24, not the highest version", "SystemPing",
                                    _header("Api-Version", "1.24"), catches="promise:system-ping-api-version"),
    "ping-head-api-version-other": Fault("HEAD /_ping answers Api-Version 1.24", "SystemPingHead",
                                         _header("Api-Version", "1.24"),
                                         catches="promise:system-ping-head-api-version"),
    "ping-body-other": Fault("GET /_ping answers the body 'pong'", "SystemPing", _body(b"pong"),
                             catches="promise:system-ping-body-ok"),
    "ping-cache-control-dropped": Fault("GET /_ping without Cache-Control", "SystemPing",
                                        _header("Cache-Control", None), catches="promise:system-ping-no-cache"),
    "ping-experimental-flipped": Fault("GET /_ping says Docker-Experimental: true of a non-experimental daemon",
                                       "SystemPing", _header("Docker-Experimental", "true"),
                                       catches="promise:system-ping-experimental"),
    "image-get-octet-stream": Fault("ImageGet answers Content-Type application/octet-stream", "ImageGet",
                                    _header("Content-Type", "application/octet-stream"),
                                    catches="promise:image-get-tar"),
    "image-load-drops-tags": Fault("ImageLoad loads the images but none of their tags", "ImageLoad",
                                   before=_load_without_tags, catches="promise:image-load-restores-tags"),
    "image-prune-dangling-as-false": Fault("ImagePrune takes dangling=true for false (tagged images go too)",
                                           "ImagePrune", before=_prune_filters("dangling"),
                                           catches="promise:image-prune-dangling-only"),
    "image-prune-label-key-only": Fault("ImagePrune matches a label filter's key and ignores its value",
                                        "ImagePrune", before=_prune_filters("label"),
                                        catches="promise:image-prune-label-value"),
}
