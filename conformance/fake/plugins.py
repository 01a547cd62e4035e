"""Plugins: the fake has none installed and no plugin registry, so it lists nothing and answers the
rest like an Engine asked about a plugin it does not have.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .routing import route
from .util import parse_filters
from .wire import ApiError, json_response

if TYPE_CHECKING:
    from .engine import Ctx
    from .wire import Response


def _not_found(ctx: Ctx) -> Response:
    raise ApiError(404, f'plugin "{ctx.params.get("name", "")}" not found')


def _no_registry(ctx: Ctx) -> Response:
    remote = ctx.q("remote") or ctx.q("name") or ""
    raise ApiError(500, f"pull access denied for {remote}, repository does not exist or may require 'docker login': "
                        "denied: requested access to the resource is denied")


@route("GET", "/plugins", "PluginList")
def plugin_list(ctx: Ctx) -> Response:
    parse_filters(ctx.q("filters"), ("capability", "enable"))
    return json_response([])


@route("GET", "/plugins/privileges", "GetPluginPrivileges")
def plugin_privileges(ctx: Ctx) -> Response:
    """As moby's plugin backend: an unparsable reference is an error; a plugin the registry does not have is
    not (Privileges swallows the fetch error and answers 200 with no privileges)."""
    remote = ctx.q("remote") or ""
    if not remote or remote.split("@")[0].split(":")[0] != remote.split("@")[0].split(":")[0].lower():
        raise ApiError(500, "invalid reference format: repository name must be lowercase")
    return json_response([])
route("POST", "/plugins/pull", "PluginPull")(_no_registry)


@route("POST", "/plugins/create", "PluginCreate")
def plugin_create(ctx: Ctx) -> Response:
    raise ApiError(500, "failed to create plugin: config.json not found in the plugin rootfs tar")


for _method, _suffix, _op in (("GET", "/json", "PluginInspect"), ("DELETE", "", "PluginDelete"),
                              ("POST", "/enable", "PluginEnable"), ("POST", "/disable", "PluginDisable"),
                              ("POST", "/push", "PluginPush"), ("POST", "/set", "PluginSet"),
                              ("POST", "/upgrade", "PluginUpgrade")):
    route(_method, "/plugins/{name:.+}" + _suffix, _op)(_not_found)
