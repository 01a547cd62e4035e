"""Plugins: installed from a rootfs + config.json tar (PluginCreate) or pulled from the fake's registry (with no
rootfs); enabling runs the entrypoint in the rootfs and waits for its socket (plugin_runtime.py).

What the Engine answers, as moby's plugin/backend_linux.go and plugin/v2/plugin.go show: a name without a tag
means `:latest`; Settings.Env starts from the config's Env values; the list filters are `capability` and
`enabled` (the spec's `enable` is refused, "Invalid filter 'enable'", as dockerd 20.10.24 answers).  Push,
pull and upgrade answer 200 with a JSON progress stream, as dockerd 20.10.24 does with a local registry.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import plugin_runtime
from .cmdlang import Control
from .fs import FS
from .identity import FAKE_VERSION
from .registry import credentials, digest_for, registry_host
from .routing import Route, route
from .util import new_id, parse_filters, truthy
from .wire import ApiError, empty, error_line, json_bytes, json_response, stream_response

if TYPE_CHECKING:
    from .engine import Ctx
    from .state import State
    from .wire import Response

_DIFF_ID = "sha256:" + "0" * 64  # an empty rootfs layer (the fake keeps no plugin files)


@dataclass
class Plugin:
    id: str
    name: str
    config: dict[str, Any]
    enabled: bool = False
    env: list[str] = field(default_factory=list)  # Settings.Env
    rootfs: FS = field(default_factory=FS)  # what PluginCreate's tar held under rootfs/ (a pull brings none)
    control: Control | None = None  # the running entrypoint, while enabled (plugin_runtime.py)
    thread: threading.Thread | None = None


def _store(state: State) -> dict[str, Plugin]:
    return state.extra.setdefault("plugins", {})  # type: ignore[no-any-return]


def full_name(name: str) -> str:
    """`name` with `:latest` when it has no tag (the Engine's reference.TagNameOnly)."""
    return name if ":" in name.rsplit("/", 1)[-1] or "@" in name else f"{name}:latest"


def find(state: State, ref: str) -> Plugin | None:
    plugins = _store(state)
    found = plugins.get(full_name(ref))
    if found is None and re.fullmatch(r"[0-9a-f]{1,64}", ref):
        by_id = [p for p in plugins.values() if p.id.startswith(ref)]
        found = by_id[0] if len(by_id) == 1 else None
    return found


def get(ctx: Ctx) -> Plugin:
    ref = ctx.params.get("name", "")
    found = find(ctx.state, ref)
    if found is None:
        raise ApiError(404, f'plugin "{ref}" not found')
    return found


def _types(config: dict[str, Any], ctx: Ctx) -> list[Any]:
    """Interface.Types: strings "prefix.capability/version" as the Engine writes them; objects where the
    version's spec declares PluginInterfaceType objects (until 1.51; schemas/errata.yaml)."""
    out: list[Any] = []
    for text in (config.get("Interface") or {}).get("Types") or []:
        if ctx.at_least("1.52"):
            out.append(text)
            continue
        prefix, _, rest = str(text).partition(".")
        capability, _, version = rest.partition("/")
        out.append({"Prefix": prefix, "Capability": capability, "Version": version})
    return out


def plugin_json(plugin: Plugin, ctx: Ctx) -> dict[str, Any]:
    c = plugin.config
    linux = c.get("Linux") or {}
    config = {
        "Args": {"Description": "", "Name": "", "Settable": [], "Value": [], **(c.get("Args") or {})},
        "Description": c.get("Description", ""), "DockerVersion": FAKE_VERSION,
        "Documentation": c.get("Documentation", ""), "Entrypoint": list(c.get("Entrypoint") or []),
        "Env": [dict(e) for e in c.get("Env") or []],
        "Interface": {"Socket": (c.get("Interface") or {}).get("Socket", ""), "Types": _types(c, ctx)},
        "IpcHost": bool(c.get("IpcHost")),
        "Linux": {"AllowAllDevices": bool(linux.get("AllowAllDevices")),
                  "Capabilities": list(linux.get("Capabilities") or []), "Devices": list(linux.get("Devices") or [])},
        "Mounts": list(c.get("Mounts") or []), "Network": {"Type": (c.get("Network") or {}).get("Type", "")},
        "PidHost": bool(c.get("PidHost")), "PropagatedMount": c.get("PropagatedMount", ""),
        "User": dict(c.get("User") or {}), "WorkDir": c.get("WorkDir", ""),
        "rootfs": {"diff_ids": [_DIFF_ID], "type": "layers"},
    }
    return {"Config": config, "Enabled": plugin.enabled, "Id": plugin.id, "Name": plugin.name,
            "PluginReference": plugin.name,
            "Settings": {"Args": [], "Devices": [], "Env": list(plugin.env), "Mounts": []}}


def _capabilities(plugin: Plugin) -> list[str]:
    types = (plugin.config.get("Interface") or {}).get("Types") or []
    return [str(t).partition(".")[2].partition("/")[0] for t in types]


def _matches(wanted: list[str], value: str) -> bool:
    """filters.Args.Match: an exact value, or a value used as an (unanchored) regular expression."""
    for pattern in wanted:
        try:
            if pattern == value or re.search(pattern, value):
                return True
        except re.error:
            continue
    return False


def _pulled(ctx: Ctx, remote: str) -> dict[str, Any]:
    """The config of the plugin the registry holds at `remote` (moby: pull access denied when it has none)."""
    ref = full_name(remote)
    registry = ctx.state.images.registry
    if not registry.admits(registry_host(ref), credentials(ctx.req.headers.get("X-Registry-Auth"))):
        raise ApiError(500, "unauthorized: authentication required")
    config = registry.get_plugin(ref)
    if config is None:
        raise ApiError(500, f"pull access denied for {ref.rsplit(':', 1)[0]}, repository does not exist or may "
                            "require 'docker login': denied: requested access to the resource is denied")
    return config


def _privileges(config: dict[str, Any]) -> list[dict[str, Any]]:
    """What installing the plugin grants, in moby's order (plugin/backend_linux.go computePrivileges)."""
    out = []
    network = (config.get("Network") or {}).get("Type") or ""
    if network and network != "bridge":
        out.append({"Name": "network", "Description": "permissions to access a network", "Value": [network]})
    mounts = [m.get("Source") for m in config.get("Mounts") or [] if m.get("Source")]
    if mounts:
        out.append({"Name": "mount", "Description": "host path to mount", "Value": mounts})
    devices = [d.get("Path") for d in (config.get("Linux") or {}).get("Devices") or [] if d.get("Path")]
    if devices:
        out.append({"Name": "device", "Description": "host device to access", "Value": devices})
    caps = (config.get("Linux") or {}).get("Capabilities") or []
    if caps:
        out.append({"Name": "capabilities", "Description": "list of additional capabilities required",
                    "Value": caps})
    return out


def _progress(ref: str, action: str, digest: str) -> list[bytes]:
    repo, tag = ref.rsplit(":", 1)
    if action == "push":
        return [json_bytes({"status": f"The push refers to repository [{repo}]"}),
                json_bytes({"status": f"{tag}: digest: {digest} size: 1052"}),
                json_bytes({"progressDetail": {}, "aux": {"Tag": tag, "Digest": digest, "Size": 1052}})]
    return [json_bytes({"status": f"Pulling from {repo}", "id": tag}), json_bytes({"status": f"Digest: {digest}"}),
            json_bytes({"status": f"Status: Downloaded newer image for {ref}"})]


def _install(ctx: Ctx, name: str, config: dict[str, Any], remote: str) -> Plugin:
    env = [f"{e['Name']}={e['Value']}" for e in config.get("Env") or [] if e.get("Value") is not None]
    plugin = Plugin(new_id(), name, json.loads(json.dumps(config)), env=env)
    _store(ctx.state)[name] = plugin
    ctx.state.emit("plugin", "pull", plugin.id, {"name": remote})
    return plugin


def plugin_list(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("capability", "enabled"))
    enabled = filters.get("enabled")
    if enabled and enabled[0].lower() not in ("1", "0", "true", "false"):
        raise ApiError(400, f"Invalid filter 'enabled={enabled}'")
    out = []
    with ctx.state.lock:
        for plugin in _store(ctx.state).values():
            if enabled and plugin.enabled != truthy(enabled[:1]):
                continue
            if "capability" in filters and not all(_matches(filters["capability"], c) for c in _capabilities(plugin)):
                continue  # as moby: every interface type of the plugin must match
            out.append(plugin_json(plugin, ctx))
    return json_response(out)


def plugin_privileges(ctx: Ctx) -> Response:
    """As moby's plugin backend: an unparsable reference is an error; a plugin the registry does not have is
    not (Privileges swallows the fetch error and answers 200 with no privileges)."""
    remote = ctx.q("remote") or ""
    _check_reference(remote)
    try:
        config = _pulled(ctx, remote)
    except ApiError:
        return json_response([])
    return json_response(_privileges(config))


def _check_reference(remote: str) -> None:
    if not remote or remote.split("@")[0].split(":")[0] != remote.split("@")[0].split(":")[0].lower():
        raise ApiError(500, "invalid reference format: repository name must be lowercase")


def plugin_pull(ctx: Ctx) -> Response:
    remote = ctx.q("remote") or ""
    _check_reference(remote)
    name = full_name(ctx.q("name") or remote)
    _check_reference(name)
    config = _pulled(ctx, remote)
    with ctx.state.lock:
        if name in _store(ctx.state):
            raise ApiError(409, f"plugin {name} already exists")
        _install(ctx, name, config, full_name(remote))
    return stream_response(iter(_progress(full_name(remote), "pull", digest_for(json.dumps(config, sort_keys=True)))))


def plugin_create(ctx: Ctx) -> Response:
    if not ctx.q("name"):
        raise ApiError(500, "invalid reference format")
    name = full_name(ctx.q("name") or "")
    config = _config_from_tar(ctx.req.body)
    with ctx.state.lock:
        plugins = _store(ctx.state)
        if name in plugins:
            raise ApiError(409, f"plugin {name} already exists")
        env = [f"{e['Name']}={e['Value']}" for e in config.get("Env") or [] if e.get("Value") is not None]
        plugin = Plugin(new_id(), name, config, env=env, rootfs=_rootfs_from_tar(ctx.req.body))
        plugins[name] = plugin
        ctx.state.emit("plugin", "create", plugin.id, {"name": name})
    return empty(204)


def _rootfs_from_tar(data: bytes) -> FS:
    tree = FS()
    try:
        tree.extract(data)
    except ApiError:
        return FS()
    return tree.subtree("/rootfs") if tree.is_dir("/rootfs") else FS()


def _config_from_tar(data: bytes) -> dict[str, Any]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            member = next((m for m in tar.getmembers() if m.name.lstrip("./") == "config.json"), None)
            handle = tar.extractfile(member) if member is not None else None
            raw = handle.read() if handle is not None else None
    except (tarfile.TarError, EOFError):
        raw = None
    if raw is None:
        raise ApiError(500, "failed to create plugin: config.json not found in the plugin rootfs tar")
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise ApiError(500, f"failed to create plugin: invalid config.json: {exc}") from None
    if not isinstance(config, dict):
        raise ApiError(500, "failed to create plugin: config.json is not an object")
    return config


def plugin_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        return json_response(plugin_json(get(ctx), ctx))


def plugin_delete(ctx: Ctx) -> Response:
    with ctx.state.lock:
        plugin = get(ctx)
        if plugin.enabled and not ctx.qbool("force"):
            raise ApiError(409, f"plugin {plugin.name} is enabled")
        plugin_runtime.stop(plugin)
        del _store(ctx.state)[plugin.name]
        ctx.state.emit("plugin", "remove", plugin.id, {"name": plugin.name})
    return empty(200)  # the Engine writes no body here (schemas/errata.yaml plugin-delete-empty-body)


def plugin_set(ctx: Ctx) -> Response:
    args = ctx.body([]) or []
    with ctx.state.lock:
        plugin = get(ctx)
        declared = {e.get("Name"): e for e in plugin.config.get("Env") or []}
        for arg in args:
            key, sep, value = str(arg).partition("=")
            if not sep:
                continue  # as dockerd 20.10.24: an argument without "=" changes nothing
            if key not in declared:
                raise ApiError(500, f'setting "{key}" not found in the plugin configuration')
            if "value" not in (declared[key].get("Settable") or []):
                raise ApiError(500, f'"{key}" is not settable')
            plugin.env = [e for e in plugin.env if e.partition("=")[0] != key] + [f"{key}={value}"]
    return empty(204)


def plugin_enable(ctx: Ctx) -> Response:
    with ctx.state.lock:
        plugin = get(ctx)
        if plugin.enabled:
            raise ApiError(409, f"plugin already enabled: plugin {plugin.name} is enabled")  # dockerd 20.10.24 observed
    plugin_runtime.start(plugin)  # outside the lock: it waits for the plugin's socket
    with ctx.state.lock:
        plugin.enabled = True
        ctx.state.emit("plugin", "enable", plugin.id, {"name": plugin.name})
    return empty(200)


def plugin_disable(ctx: Ctx) -> Response:
    with ctx.state.lock:
        plugin = get(ctx)
        if not plugin.enabled:
            raise ApiError(409, f"plugin is already disabled: plugin {plugin.name} found but disabled")
        plugin.enabled = False
    plugin_runtime.stop(plugin)
    ctx.state.emit("plugin", "disable", plugin.id, {"name": plugin.name})
    return empty(200)


def plugin_push(ctx: Ctx) -> Response:
    with ctx.state.lock:
        plugin = get(ctx)
        config = json.loads(json.dumps(plugin.config))
    registry = ctx.state.images.registry
    digest = digest_for(json.dumps(config, sort_keys=True))
    if not registry.admits(registry_host(plugin.name), credentials(ctx.req.headers.get("X-Registry-Auth"))):
        lines = _progress(plugin.name, "push", digest)[:1] + [error_line("unauthorized: authentication required")]
        return stream_response(iter(lines))
    registry.put_plugin(plugin.name, config)
    ctx.state.emit("plugin", "push", plugin.id, {"name": plugin.name})
    return stream_response(iter(_progress(plugin.name, "push", digest)))


def plugin_upgrade(ctx: Ctx) -> Response:
    remote = ctx.q("remote") or ""
    with ctx.state.lock:
        plugin = get(ctx)
        if plugin.enabled:
            raise ApiError(400, "plugin must be disabled before upgrading")
    _check_reference(remote)
    config = _pulled(ctx, remote)
    with ctx.state.lock:
        plugin.config = json.loads(json.dumps(config))
    return stream_response(iter(_progress(full_name(remote), "pull", digest_for(json.dumps(config, sort_keys=True)))))


# The routes this module serves, in match order (conformance/fake/routes.py builds the router).
ROUTES: tuple[Route, ...] = (
    route("GET", "/plugins", "PluginList", plugin_list),
    route("GET", "/plugins/privileges", "GetPluginPrivileges", plugin_privileges),
    route("POST", "/plugins/pull", "PluginPull", plugin_pull),
    route("POST", "/plugins/create", "PluginCreate", plugin_create),
    route("GET", "/plugins/{name:.+}/json", "PluginInspect", plugin_inspect),
    route("DELETE", "/plugins/{name:.+}", "PluginDelete", plugin_delete),
    route("POST", "/plugins/{name:.+}/set", "PluginSet", plugin_set),
    route("POST", "/plugins/{name:.+}/enable", "PluginEnable", plugin_enable),
    route("POST", "/plugins/{name:.+}/disable", "PluginDisable", plugin_disable),
    route("POST", "/plugins/{name:.+}/push", "PluginPush", plugin_push),
    route("POST", "/plugins/{name:.+}/upgrade", "PluginUpgrade", plugin_upgrade),
)
