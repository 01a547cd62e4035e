"""The classic Swarm manager's deviations: the profile as data, and one check per deviation.

The profile is schemas/deviations/swarm-classic.yaml.  Each check is a pure function of what a
test saw (parsed bodies, statuses) returning an `Observation`: "confirmed" or "not observed", plus
what was seen.  `problems()` turns an observation into what the suite records, always one problem of
check `deviation:<id>`: a confirmation (the profile explains it: a known deviation); "not observed" of a
behaviour the profile says the manager has (`expected: true`: unexplained, a failure); "not observed" of a
doc-only, stale or racy entry (`expected: false`: the entry's `not_observed` form explains it, and the
recorder shows it as state not-observed, never as a pass).  A test that could not set up what it observes
reports "could not observe: <why>" for that deviation alone (`CouldNotObserve`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from typing import Any

from conformance.checks import Problem
from conformance.expectations import kind_profile, profile_path

KIND = "swarm-classic"  # its profile: schemas/deviations/swarm-classic.yaml
CONFIRMED = "confirmed"
NOT_OBSERVED = "not observed"
COULD_NOT_OBSERVE = "could not observe"
UNSPECIFIED_IPS = ("", "0.0.0.0", "::")


@dataclass(frozen=True)
class Deviation:
    id: str
    observe: str  # name of the check function in CHECKS
    operation: str
    check: str  # the recorded check name, "deviation:<id>"
    field: str
    source: str
    expected: bool
    how: str
    operations: tuple[str, ...] = ()  # every operation the entry is about (`operation` is the first)


class CouldNotObserve(RuntimeError):
    """What a deviation test needed could not be set up: the deviation is neither confirmed nor refuted.

    Raised from the test's call phase (not a fixture), so it is that one test's error and no other's."""

    def __init__(self, deviation_id: str, why: str):
        super().__init__(f"{COULD_NOT_OBSERVE}: {why} (deviation {deviation_id})")
        self.deviation_id = deviation_id
        self.why = why


@dataclass(frozen=True)
class Observation:
    verdict: str  # CONFIRMED | NOT_OBSERVED
    seen: str

    @property
    def confirmed(self) -> bool:
        return self.verdict == CONFIRMED


def _obs(ok: bool, seen: str) -> Observation:
    return Observation(CONFIRMED if ok else NOT_OBSERVED, seen)


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "..."


def load_profile() -> dict[str, Any]:
    return kind_profile(KIND)


def deviations() -> dict[str, Deviation]:
    """The observable deviations of the profile, by id."""
    out = {}
    for raw in load_profile().get("entries") or []:
        if "observe" not in raw:
            continue
        ops = raw["operations"]
        out[raw["id"]] = Deviation(raw["id"], raw["observe"], ops if isinstance(ops, str) else ops[0], raw["check"],
                                   str(raw.get("field", "")), str(raw.get("source", "")), bool(raw.get("expected")),
                                   str(raw.get("how", "")), (ops,) if isinstance(ops, str) else tuple(ops))
    return out


def unsupported_reason(operation: str, profile: dict[str, Any]) -> str | None:
    """Why the target has no route for `operation` (from the profile's `unsupported` list), or None."""
    for group in profile.get("unsupported") or []:
        if any(fnmatchcase(operation, pattern) for pattern in group.get("operations") or []):
            return str(group.get("reason") or "no route")
    return None


def problems(deviation: Deviation, observation: Observation) -> list[Problem]:
    """What to record: one problem, a confirmation, an expected behaviour not observed, or a doc-only
    (`expected: false`) one not observed; the profile's `message` and `not_observed` forms say which of them
    it explains (see the module docstring)."""
    if observation.confirmed:
        return [Problem(deviation.check, f"{CONFIRMED}: {observation.seen}")]
    if deviation.expected:
        return [Problem(deviation.check, f"{NOT_OBSERVED}: {observation.seen} (the profile says the classic "
                                         f"manager does this: {deviation.source})")]
    return [Problem(deviation.check, f"{NOT_OBSERVED}: {observation.seen} (doc-only, stale or racy entry: "
                                     "not seen here)")]


@cache
def requires_kind(module: str) -> str | None:
    """The target kind a deviation suite belongs to: the kind whose profile names `module` in `suite:`."""
    for path in sorted(profile_path(KIND).parent.glob("*.yaml")):
        suite = kind_profile(path.stem).get("suite")
        if module and suite and str(suite) == module:
            return path.stem
    return None


# --- one check per deviation ------------------------------------------------------------------

def version_shape(version: dict[str, Any], api_version_header: str | None) -> Observation:
    shown = {k: version.get(k) for k in ("Version", "ApiVersion", "MinAPIVersion")}
    shown["Platform"] = (version.get("Platform") or {}).get("Name")
    shown["API-Version header"] = api_version_header
    ok = str(version.get("Version", "")).startswith("swarm/")
    return _obs(ok, f"/version {_short(shown)}")


def system_status_nodes(info: dict[str, Any]) -> dict[str, str]:
    """Node name -> address from /info SystemStatus (" <name>" entries), {} when absent."""
    status = info.get("SystemStatus")
    if not isinstance(status, list):
        return {}
    return {str(pair[0]).strip(): str(pair[1]) for pair in status
            if isinstance(pair, list) and len(pair) == 2 and str(pair[0]).startswith(" ")
            and not str(pair[0]).lstrip().startswith("└")}


def info_system_status(info: dict[str, Any]) -> Observation:
    status = info.get("SystemStatus")
    if not isinstance(status, list) or not status:
        return _obs(False, f"SystemStatus is {_short(status)}; ServerVersion {info.get('ServerVersion')!r}")
    pairs = all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in status)
    keys = {p[0] for p in status if isinstance(p, list) and p}
    nodes = system_status_nodes(info)
    count = next((p[1] for p in status if isinstance(p, list) and len(p) == 2 and p[0] == "Nodes"), None)
    ok = pairs and {"Role", "Nodes"} <= keys and count == str(len(nodes)) and len(nodes) > 0
    return _obs(ok, f"SystemStatus: {len(status)} pairs, keys {sorted(k for k in keys if not k.startswith(' '))}, "
                    f"Nodes={count!r}, node entries {nodes}; ServerVersion {info.get('ServerVersion')!r}")


def node_field(inspect: dict[str, Any]) -> Observation:
    node = inspect.get("Node")
    ok = isinstance(node, dict) and bool(node.get("Name")) and bool(node.get("IP") or node.get("Ip"))
    return _obs(ok, f"Node {_short(node)}" if node is not None else f"no Node field (keys: {sorted(inspect)[:30]})")


def node_field_doc_keys(inspect: dict[str, Any]) -> Observation:
    node = inspect.get("Node")
    if not isinstance(node, dict):
        return _obs(False, f"no Node object ({_short(node)})")
    return _obs("Id" in node and "Ip" in node, f"Node keys {sorted(node)} (the doc example has Id, Ip, Addr, Name)")


def node_ip(inspect: dict[str, Any], status_nodes: dict[str, str]) -> str | None:
    """The IP of the node running the container: Node.IP, else the SystemStatus address of Node.Name."""
    node = inspect.get("Node") if isinstance(inspect.get("Node"), dict) else {}
    ip = node.get("IP") or node.get("Ip")
    if ip:
        return str(ip)
    addr = status_nodes.get(str(node.get("Name", "")))
    return addr.rsplit(":", 1)[0] if addr else None


def _host_ips(bindings: Iterable[dict[str, Any]], key: str) -> list[str]:
    return [str(b.get(key, "")) for b in bindings if isinstance(b, dict)]


def _ip_verdict(ips: list[str], expected_ip: str | None, where: str) -> Observation:
    if not ips:
        return _obs(False, f"{where}: no published port binding to look at")
    unspecified = [ip for ip in ips if ip in UNSPECIFIED_IPS]
    if expected_ip:
        ok = all(ip == expected_ip for ip in ips)
    else:
        ok = not unspecified  # the node's IP is unknown here: at least no unspecified address is left
    return _obs(ok, f"{where}: {ips} (node IP {expected_ip or 'unknown'})")


def inspect_hostip_node_ip(inspect: dict[str, Any], port: str, status_nodes: dict[str, str]) -> Observation:
    ports = (inspect.get("NetworkSettings") or {}).get("Ports") or {}
    return _ip_verdict(_host_ips(ports.get(port) or [], "HostIp"), node_ip(inspect, status_nodes),
                       f"inspect NetworkSettings.Ports[{port}] HostIp")


def list_hostip_node_ip(entry: dict[str, Any], private_port: int, expected_ip: str | None) -> Observation:
    bound = [p for p in entry.get("Ports") or [] if p.get("PrivatePort") == private_port and "PublicPort" in p]
    return _ip_verdict(_host_ips(bound, "IP"), expected_ip, f"/containers/json Ports[PrivatePort={private_port}] IP")


def list_node_prefixed_names(entry: dict[str, Any], name: str, node_names: Iterable[str]) -> Observation:
    names = [str(n) for n in entry.get("Names") or []]
    candidates = {f"/{node}/{name}" for node in node_names}
    prefixed = [n for n in names if n in candidates] if candidates else \
        [n for n in names if n.endswith("/" + name) and n.count("/") >= 2]
    return _obs(bool(prefixed), f"Names {names} for the container named {name!r}")


def list_hides_swarm_image(default_ids: list[str], all_ids: list[str], container_id: str) -> Observation:
    hidden = container_id not in default_ids
    shown = container_id in all_ids
    return _obs(hidden and shown, f"running container of the swarm image: {'absent' if hidden else 'listed'} "
                                  f"without all, {'listed' if shown else 'absent'} with all=1")


def images_node_filter(node: str, status_known: int, listed: list[dict[str, Any]] | None, image_id: str,
                       unknown_status: int, unknown_listed: list[dict[str, Any]] | None) -> Observation:
    ids = [i.get("Id") for i in listed or []]
    ok = status_known == 200 and image_id in ids and unknown_status == 200 and not unknown_listed
    return _obs(ok, f"node={node!r}: HTTP {status_known}, {len(ids)} images, test image "
                    f"{'listed' if image_id in ids else 'absent'}; unknown node: HTTP {unknown_status}, "
                    f"{len(unknown_listed or [])} images")


def image_import_404(status: int, excerpt: str) -> Observation:
    return _obs(status == 404, f"import (fromSrc=-) answered HTTP {status}: {excerpt[:160]!r}")


def cpushares_as_cores(requested: int, inspect: dict[str, Any]) -> Observation:
    shares = (inspect.get("HostConfig") or {}).get("CpuShares")
    cpus = (inspect.get("Node") or {}).get("Cpus") if isinstance(inspect.get("Node"), dict) else None
    if isinstance(cpus, int) and cpus > 0:
        wanted = math.ceil(requested * 1024 / cpus)
        ok = shares == wanted
        seen = f"CpuShares {requested} at create -> {shares} in inspect (node Cpus {cpus}: cores would give {wanted})"
    else:
        ok = isinstance(shares, int) and shares != requested and shares > 0
        seen = f"CpuShares {requested} at create -> {shares} in inspect (node Cpus unknown)"
    return _obs(ok, seen)


def registry_auth_on_create(status: int, excerpt: str) -> Observation:
    return _obs(status == 201, f"create with X-Registry-Auth answered HTTP {status}"
                               + ("" if status == 201 else f": {excerpt[:160]!r}"))


def swarm_mode_routes_404(statuses: dict[str, int]) -> Observation:
    others = {path: status for path, status in statuses.items() if status != 404}
    return _obs(not others, "all 404: " + ", ".join(statuses) if not others else
                f"not 404: {others} (404: {[p for p, s in statuses.items() if s == 404]})")


# --- found by the generic tests on a v1.2.9 manager (SOURCE.md, tag v1.2.9 section) ----------------

def _text(excerpt: str, limit: int = 160) -> str:
    return repr(excerpt[:limit])


def errors_text_plain(status: int, media_type: str, excerpt: str) -> Observation:
    ok = status >= 400 and media_type == "text/plain"
    return _obs(ok, f"an error the manager writes itself (a name conflict on create): HTTP {status}, Content-Type "
                    f"{media_type or '(none)'!r}, body {_text(excerpt)}")


def manager_500(what: str, status: int, engine_status: int, excerpt: str) -> Observation:
    """An engine error on a call the manager makes itself comes back as 500 (the Engine says `engine_status`)."""
    return _obs(status == 500, f"{what}: HTTP {status} (an Engine answers {engine_status}): {_text(excerpt)}")


def create_no_warnings(status: int, body: Any) -> Observation:
    keys = sorted(body) if isinstance(body, dict) else None
    ok = status == 201 and isinstance(body, dict) and "Id" in body and "Warnings" not in body
    return _obs(ok, f"container create answered HTTP {status} with keys {keys}")


def version_prefix_unchecked(statuses: dict[str, int]) -> Observation:
    """`statuses`: prefix -> status of GET <prefix>/version, for prefixes an Engine refuses (400)."""
    accepted = {prefix: status for prefix, status in statuses.items() if status == 200}
    return _obs(bool(statuses) and accepted == statuses,
                "GET /version at " + ", ".join(f"{prefix} -> {status}" for prefix, status in statuses.items()))


def events_until_integer(status: int, media_type: str, excerpt: str) -> Observation:
    ok = status == 400 and "strconv.ParseInt" in excerpt
    return _obs(ok, f"/events?until=<seconds.fraction>: HTTP {status}, Content-Type {media_type or '(none)'!r}, "
                    f"body {_text(excerpt)}")


def _json_values(body: bytes) -> tuple[list[tuple[int, int]], str]:
    """(start, end) offsets of the JSON values written one after the other in `body`, and what stopped the scan."""
    decoder = json.JSONDecoder()
    text = body.decode("utf-8", "replace")
    spans, index = [], 0
    while index < len(text):
        while index < len(text) and text[index] in " \t\r\n\x1e":
            index += 1
        if index >= len(text):
            break
        try:
            _, end = decoder.raw_decode(text, index)
        except ValueError:
            return spans, f"not JSON at byte {index}: {text[index:index + 40]!r}"
        spans.append((index, end))
        index = end
    return spans, ""


def events_no_separator(body: bytes) -> Observation:
    spans, error = _json_values(body)
    if len(spans) < 2:
        return _obs(False, f"{len(spans)} event objects in the window ({error or 'need two to see a separator'}): "
                           f"{body[:120]!r}")
    joined = sum(1 for (_, end), (start, _) in zip(spans, spans[1:], strict=False) if start == end)
    return _obs(joined == len(spans) - 1 and not error,
                f"{len(spans)} event objects, {joined} of {len(spans) - 1} boundaries without a separator"
                + (f"; then {error}" if error else ""))


def exec_start_cache_404(attempts: list[tuple[int, str]]) -> Observation:
    """`attempts`: (status, body) of exec starts sent right after their exec was created."""
    missed = [(status, body) for status, body in attempts if status == 404 and "not found" in body]
    statuses = sorted({status for status, _ in attempts})
    if missed:
        return _obs(True, f"exec start right after create: 404 {_text(missed[0][1])} in {len(missed)} of "
                          f"{len(attempts)} tries")
    return _obs(False, f"exec start right after create: statuses {statuses} in {len(attempts)} tries, no 404")


def exec_start_tunnel(start_status: int, same_connection: Any, fresh_connection: Any) -> Observation:
    """/version bodies: on the connection of a plain exec start (sent there on purpose), and on a fresh one."""
    def version_of(body: Any) -> str:
        return str(body.get("Version")) if isinstance(body, dict) else f"no JSON ({_short(body, 80)})"
    same, fresh = version_of(same_connection), version_of(fresh_connection)
    ok = fresh.startswith("swarm/") and not same.startswith("swarm/") and isinstance(same_connection, dict)
    return _obs(ok, f"plain exec start answered HTTP {start_status}; then GET /version on that connection: "
                    f"Version {same!r}; on a new connection: {fresh!r}")


def network_disconnect_204(status: int, excerpt: str) -> Observation:
    return _obs(status == 204, f"network disconnect answered HTTP {status} (an Engine answers 200)"
                               + (f": {_text(excerpt)}" if excerpt else ""))


def ping_no_experimental_header(status: int, headers: dict[str, str]) -> Observation:
    names = sorted(headers)
    lower = {k.lower() for k in headers}
    ok = status == 200 and "docker-experimental" not in lower
    return _obs(ok, f"GET /_ping: HTTP {status}, headers {names}")


def ping_head_404(status: int, headers: dict[str, str]) -> Observation:
    return _obs(status == 404, f"HEAD /_ping: HTTP {status}, headers {sorted(headers)}")


def node_scoped_volume_names(requested: str, create_status: int, created: Any, listed: list[str],
                             get_statuses: dict[str, int]) -> Observation:
    """A volume created as "<node>/<name>": the response, GET /volumes, and GET by either form."""
    node, _, bare = requested.partition("/")
    created_name = created.get("Name") if isinstance(created, dict) else None
    ok = (create_status == 201 and created_name == bare and requested in listed
          and bool(get_statuses) and all(status == 200 for status in get_statuses.values()))
    mine = [name for name in listed if name.endswith("/" + bare) or name == bare]
    return _obs(ok, f"create {requested!r}: HTTP {create_status}, Name {created_name!r}; GET /volumes lists {mine}; "
                    + ", ".join(f"GET /volumes/{ref} -> {status}" for ref, status in get_statuses.items()))


# Paths the swarm-mode-routes-404 check probes: GET only, nothing changes whatever the target is.
UNSUPPORTED_PROBES = ("/swarm", "/nodes", "/services", "/tasks", "/secrets", "/configs", "/plugins", "/system/df")

CHECKS: dict[str, Callable[..., Observation]] = {
    fn.__name__: fn for fn in (
        version_shape, info_system_status, node_field, node_field_doc_keys, inspect_hostip_node_ip,
        list_hostip_node_ip, list_node_prefixed_names, list_hides_swarm_image, images_node_filter,
        image_import_404, cpushares_as_cores, registry_auth_on_create, swarm_mode_routes_404,
        errors_text_plain, manager_500, create_no_warnings, version_prefix_unchecked, events_until_integer,
        events_no_separator, exec_start_cache_404, exec_start_tunnel, network_disconnect_204,
        ping_no_experimental_header, ping_head_404, node_scoped_volume_names)
}
