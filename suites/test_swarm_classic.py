"""The classic Swarm manager's deviations, one test each (target kind swarm-classic only).

The profile (schemas/deviations/swarm-classic.yaml) says what each deviation is, where it is
documented or coded and whether the code does it; conformance/swarm_classic.py judges what a test
saw.  Which kind this module is for is data too: the profile names it in `suite:`, and the generic
skip machinery (plugins/target_profile.py) skips it for any other kind.

Each test creates what it needs itself (nothing shared between tests) and records two outcomes:
check `deviation:<id>` with "confirmed: <seen>" (a known deviation: the test reports xfail with that
text) or "not observed: <seen>" (a failure when the profile marks the behaviour expected; state
not-observed for doc-only, stale or racy entries), and, apart from it, the generic checks of every
response the observation looked at (scenario "<id>/generic").  A generic finding therefore never
hides the verdict, nor the verdict a generic finding.  When the setup fails (a container that cannot
be created, a request that breaks), the test reports "could not observe: <why>" for its own deviation
only.  Every request goes through the `engine` fixture's client; each exchange that hijacks or upgrades
its connection gets a connection of its own (conformance/exchange.py), so a tunnelling manager cannot
carry later requests to a node.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import docker.errors
import pytest
import requests

from conformance import swarm_classic as sc
from conformance.checks import Problem, merge_problems, run_checks, status_expected
from conformance.exchange import Exchange
from conformance.placement import Placement
from conformance.recorder import USER_PROPERTY
from conformance.scenarios import tar_bytes
from conformance.spec import Operation
from conformance.target import TargetError
from conformance.versions import fmt, parse
from conformance.wire import Conn, Limits, WireError, build_request, read_body, read_head, request
from plugins.calls import EngineCall, SuiteLimit
from plugins.fixtures import _quietly, unique_name
from plugins.session import SuiteState

DEVIATIONS = sc.deviations()
PORT = "80/tcp"
Problems = dict[str, list[Problem]]
# What a setup step can raise: the target refused or broke, or its answer was not what the step needs.
SETUP_ERRORS = (docker.errors.DockerException, requests.RequestException, WireError, TargetError, OSError,
                ValueError, KeyError, TypeError, AttributeError, IndexError)


class Observing:
    """One deviation test: its setup steps, the responses it checked, and its verdict, recorded."""

    def __init__(self, engine: EngineCall, deviation_id: str):
        self.engine = engine
        self.deviation = DEVIATIONS[deviation_id]
        self.checked: list[tuple[Operation, Exchange, Problems]] = []
        self.recorded = False

    @property
    def state(self) -> SuiteState:
        return self.engine.state

    @contextmanager
    def setup(self, what: str) -> Iterator[None]:
        """A step the observation needs: its failure is "could not observe: <what>: <error>"."""
        try:
            yield
        except sc.CouldNotObserve:
            raise
        except SETUP_ERRORS as exc:
            text = str(exc).splitlines()[0][:300] if str(exc) else ""
            raise sc.CouldNotObserve(self.deviation.id, f"{what}: {type(exc).__name__}: {text}") from exc

    def fetch(self, op_id: str, path_params: dict[str, Any] | None = None, expect: Iterable[int] = (200,),
              **kwargs: Any) -> Exchange:
        """Send through the engine fixture; the generic checks of the response are kept for `verdict`."""
        with self.setup(f"{op_id} request"):
            op, ex = self.engine.send(op_id, path_params, **kwargs)
        self.checked.append((op, ex, self.engine.problems(op, ex, expect)))
        return ex

    def keep(self, op: Operation, ex: Exchange, problems: Problems) -> None:
        """Generic checks of an exchange the test sent itself (raw wire)."""
        self.checked.append((op, ex, problems))

    def verdict(self, observation: sc.Observation, ex: Exchange | None = None) -> None:
        """Record the deviation's outcome and, as outcomes of their own, the generic checks; then fail
        on what was not explained (both are recorded first, whatever either says)."""
        self.recorded = True
        raised: list[BaseException] = []
        for record in (lambda: self._record_deviation(observation, ex), self._record_generic):
            try:
                record()
            except (pytest.fail.Exception, SuiteLimit) as exc:
                raised.append(exc)
        limits = [e for e in raised if isinstance(e, SuiteLimit)]
        if limits:
            raise limits[0]
        if raised:
            pytest.fail("\n".join(str(e) for e in raised), pytrace=False)

    def _detail(self, verdict: str, seen: str) -> dict[str, Any]:
        d = self.deviation
        return {"id": d.id, "verdict": verdict, "seen": seen, "expected": d.expected, "field": d.field,
                "source": d.source}

    def _record_deviation(self, observation: sc.Observation, ex: Exchange | None) -> None:
        d = self.deviation
        operation = ex.operation if ex is not None and ex.operation in d.operations else d.operation
        found = sc.problems(d, observation)  # a doc-only one not observed: the profile's `not_observed` form
        detail = self._detail(observation.verdict, observation.seen)
        self.engine.item.user_properties.append(("dac_deviation", detail))
        try:
            self.engine.record(operation, f"deviation:{d.id}", ex, {d.check: found})
        finally:
            outcome = self._last_outcome()
            if outcome is not None:
                outcome["deviation"] = detail  # results.json carries the verdict whatever the test's state

    def _last_outcome(self) -> dict[str, Any] | None:
        return next((value for name, value in reversed(self.engine.item.user_properties) if name == USER_PROPERTY),
                    None)

    def _record_generic(self) -> None:
        by_op: dict[str, tuple[Operation, Exchange, Problems]] = {}
        for op, ex, problems in self.checked:
            if op.id in by_op:
                first_op, first_ex, merged = by_op[op.id]
                shown = first_ex if any(merged.values()) or not any(problems.values()) else ex
                by_op[op.id] = (first_op, shown, merge_problems(merged, problems))
            else:
                by_op[op.id] = (op, ex, problems)
        for op, ex, problems in by_op.values():
            self.engine.record(op, f"{self.deviation.id}/generic", ex, problems)

    def could_not(self, error: sc.CouldNotObserve) -> None:
        """The setup failed: say so for this deviation, keep the generic checks made so far, raise."""
        self.engine.item.user_properties.append(("dac_deviation", self._detail(sc.COULD_NOT_OBSERVE, error.why)))
        try:
            self._record_generic()
        except (pytest.fail.Exception, SuiteLimit):
            pass  # the setup error is the test's outcome; the generic findings are in results.json
        raise error


@contextmanager
def observing(engine: EngineCall, deviation_id: str) -> Iterator[Observing]:
    obs = Observing(engine, deviation_id)
    try:
        yield obs
    except sc.CouldNotObserve as exc:
        obs.could_not(exc)
    if not obs.recorded:
        raise AssertionError(f"the test of {deviation_id} recorded no verdict")


# --- setup helpers (SDK preconditions; each created object is removed afterwards) -------------------

def _json(ex: Exchange) -> Any:
    try:
        return ex.json()
    except ValueError:
        return None


def _status_nodes(state: SuiteState) -> dict[str, str]:
    return sc.system_status_nodes(state.sdk.info())


def _node_names(obs: Observing) -> list[str]:
    """Node names: /info SystemStatus, else the Node.Name of a container created for the purpose; [] if neither."""
    state = obs.state
    with obs.setup("node names from /info SystemStatus"):
        nodes = list(_status_nodes(state))
    if nodes:
        return [state.placement.node] if state.placement.node in nodes else nodes
    with _container(obs, start=False) as (cid, _), obs.setup("the Node of a container (inspect)"):
        node = state.sdk.inspect_container(cid).get("Node")
    name = str(node.get("Name") or "") if isinstance(node, dict) else ""
    return [name] if name else []


def _first_node(obs: Observing) -> str:
    nodes = _node_names(obs)
    if not nodes:
        raise sc.CouldNotObserve(obs.deviation.id, "no node name: neither /info SystemStatus nor a container's Node "
                                                   "names one")
    return nodes[0]


@contextmanager
def _container(obs: Observing, command: list[str] | None = None, start: bool = True, image: str | None = None,
               env: list[str] | None = None, **host: Any) -> Iterator[tuple[str, str]]:
    """(id, name) of a labelled container created through the manager for this test; removed afterwards."""
    state = obs.state
    sdk = state.sdk
    name = unique_name(state, "ctr")
    ports = [int(PORT.split("/")[0])] if host.get("port_bindings") else None
    with obs.setup(f"create container {name}"):
        created = sdk.create_container(image or state.image, command=command or ["sleep", "600"], labels=state.label,
                                       name=name, ports=ports, environment=env or None,
                                       host_config=sdk.create_host_config(**host))
    try:
        if start:
            with obs.setup(f"start container {name}"):
                sdk.start(created["Id"])
        yield created["Id"], name
    finally:
        _quietly(sdk.remove_container, created["Id"], force=True, v=True)


def _inspect(obs: Observing, container_id: str) -> tuple[Exchange, dict[str, Any]]:
    ex = obs.fetch("ContainerInspect", {"id": container_id})
    body = _json(ex)
    if ex.status != 200 or not isinstance(body, dict):
        raise sc.CouldNotObserve(obs.deviation.id, f"inspect of the test's container answered HTTP {ex.status}: "
                                                   f"{ex.excerpt(160)!r}")
    return ex, body


def _list_entry(obs: Observing, container_id: str, **query: Any) -> tuple[Exchange, dict[str, Any]]:
    ex = obs.fetch("ContainerList", query=query or None)
    listed = _json(ex)
    entry = next((c for c in listed if c.get("Id") == container_id), None) if isinstance(listed, list) else None
    return ex, entry or {}


# --- the documented deviations -----------------------------------------------------------------------

def test_version_shape(engine: EngineCall) -> None:
    with observing(engine, "version-shape") as obs:
        ex = obs.fetch("SystemVersion")
        obs.verdict(sc.version_shape(_json(ex) or {}, ex.header("API-Version")), ex)


def test_info_system_status(engine: EngineCall) -> None:
    with observing(engine, "info-system-status") as obs:
        ex = obs.fetch("SystemInfo")
        obs.verdict(sc.info_system_status(_json(ex) or {}), ex)


def test_node_field(engine: EngineCall) -> None:
    with observing(engine, "node-field") as obs, _container(obs, start=False) as (cid, _):
        ex, body = _inspect(obs, cid)
        obs.verdict(sc.node_field(body), ex)


def test_node_field_doc_keys(engine: EngineCall) -> None:
    with observing(engine, "node-field-doc-keys") as obs, _container(obs, start=False) as (cid, _):
        ex, body = _inspect(obs, cid)
        obs.verdict(sc.node_field_doc_keys(body), ex)


def test_inspect_hostip_node_ip(engine: EngineCall) -> None:
    """A running container publishing 80/tcp without a HostIp: inspect shows the node's IP."""
    with observing(engine, "inspect-hostip-node-ip") as obs, _container(obs, port_bindings={80: None}) as (cid, _):
        ex, body = _inspect(obs, cid)
        with obs.setup("node addresses from /info SystemStatus"):
            nodes = _status_nodes(obs.state)
        obs.verdict(sc.inspect_hostip_node_ip(body, PORT, nodes), ex)


def test_list_hostip_node_ip(engine: EngineCall) -> None:
    with observing(engine, "list-hostip-node-ip") as obs, _container(obs, port_bindings={80: None}) as (cid, _):
        with obs.setup("the node of the test's container (inspect, /info)"):
            expected_ip = sc.node_ip(obs.state.sdk.inspect_container(cid), _status_nodes(obs.state))
        ex, entry = _list_entry(obs, cid)
        obs.verdict(sc.list_hostip_node_ip(entry, int(PORT.split("/")[0]), expected_ip), ex)


def test_list_node_prefixed_names(engine: EngineCall) -> None:
    with observing(engine, "list-node-prefixed-names") as obs, _container(obs) as (cid, name):
        with obs.setup("node names from /info SystemStatus"):
            nodes = _status_nodes(obs.state)
        ex, entry = _list_entry(obs, cid)
        obs.verdict(sc.list_node_prefixed_names(entry, name, nodes), ex)


@contextmanager
def _swarm_image(obs: Observing) -> Iterator[str]:
    """The test image tagged swarm:dac-<run>-<n> (a tag of our own: removing it never removes an image)."""
    state = obs.state
    tag = unique_name(state, "tag")
    with obs.setup(f"tag the test image swarm:{tag}"):
        state.sdk.tag(state.image, "swarm", tag=tag)
    try:
        yield f"swarm:{tag}"
    finally:
        _quietly(state.sdk.remove_image, f"swarm:{tag}")


def test_list_hides_swarm_image(engine: EngineCall) -> None:
    with observing(engine, "list-hides-swarm-image") as obs, _swarm_image(obs) as ref, \
            _container(obs, image=ref) as (cid, _):
        default = obs.fetch("ContainerList")
        shown = obs.fetch("ContainerList", query={"all": "1"})
        ids = [[c.get("Id") for c in (_json(ex) or []) if isinstance(c, dict)] for ex in (default, shown)]
        obs.verdict(sc.list_hides_swarm_image(ids[0], ids[1], cid), default)


def test_images_node_filter(engine: EngineCall) -> None:
    with observing(engine, "images-node-filter") as obs:
        state = obs.state
        with obs.setup("the test image's id"):
            image_id = state.sdk.inspect_image(state.image)["Id"]
        node = next(iter(_node_names(obs)), "")  # none known: the filter is still tried (an Engine refuses it)
        known = obs.fetch("ImageList", query={"filters": {"node": [node]}}, expect=[200, 400])
        unknown = obs.fetch("ImageList", query={"filters": {"node": [unique_name(state, "node")]}}, expect=[200, 400])
        listed, unknown_listed = _json(known), _json(unknown)
        obs.verdict(sc.images_node_filter(node, known.status, listed if isinstance(listed, list) else None, image_id,
                                          unknown.status, unknown_listed if isinstance(unknown_listed, list) else None),
                    known)


def test_image_import_404(engine: EngineCall) -> None:
    with observing(engine, "image-import-404") as obs:
        repo = unique_name(obs.state, "import")
        try:
            ex = obs.fetch("ImageCreate", query={"fromSrc": "-", "repo": repo, "tag": "x"},
                           data=tar_bytes({"hello.txt": "imported by docker-api-conformance\n"}),
                           headers={"Content-Type": "application/x-tar"}, expect=[200, 404])
            obs.verdict(sc.image_import_404(ex.status, ex.excerpt(200)), ex)
        finally:
            _quietly(obs.state.sdk.remove_image, f"{repo}:x", force=True)


def test_cpushares_as_cores(engine: EngineCall) -> None:
    """Created (not started) with CpuShares 1, which the manager reads as one CPU core."""
    with observing(engine, "cpushares-as-cores") as obs, _container(obs, start=False, cpu_shares=1) as (cid, _):
        ex, body = _inspect(obs, cid)
        obs.verdict(sc.cpushares_as_cores(1, body), ex)


def test_registry_auth_on_create(engine: EngineCall) -> None:
    with observing(engine, "registry-auth-on-create") as obs:
        state = obs.state
        name = unique_name(state, "ctr")
        auth = base64.urlsafe_b64encode(json.dumps({"username": "dac", "password": "not-a-secret",
                                                    "serveraddress": "registry.invalid"}).encode()).decode()
        try:
            ex = obs.fetch("ContainerCreate", query={"name": name}, expect=[201, 400],
                           json_body={"Image": state.image, "Cmd": ["true"], "Labels": state.label},
                           headers={"X-Registry-Auth": auth})
            obs.verdict(sc.registry_auth_on_create(ex.status, ex.excerpt(200)), ex)
        finally:
            _quietly(state.sdk.remove_container, name, force=True)


def test_swarm_mode_routes_404(engine: EngineCall) -> None:
    with observing(engine, "swarm-mode-routes-404") as obs:
        statuses = {}
        last = None
        for path in sc.UNSUPPORTED_PROBES:
            with obs.setup(f"GET {path}"):
                last = engine.client.request("SwarmInspect", engine.version, "GET", path)
            statuses[path] = last.status
        obs.verdict(sc.swarm_mode_routes_404(statuses), last)


# --- found by the generic tests on a v1.2.9 manager -------------------------------------------------

def test_errors_text_plain(engine: EngineCall) -> None:
    """A name the manager already knows: its own 409 "Conflict: ..." (an error it writes itself)."""
    with observing(engine, "errors-text-plain") as obs, _container(obs, start=False) as (_, name):
        ex = obs.fetch("ContainerCreate", query={"name": name}, expect=[409],
                       json_body={"Image": obs.state.image, "Cmd": ["true"], "Labels": obs.state.label})
        if ex.status == 201:
            _quietly(obs.state.sdk.remove_container, (_json(ex) or {}).get("Id"), force=True)
        obs.verdict(sc.errors_text_plain(ex.status, ex.media_type, ex.excerpt(200)), ex)


def test_remove_running_500(engine: EngineCall) -> None:
    with observing(engine, "remove-running-500") as obs, _container(obs) as (cid, _):
        ex = obs.fetch("ContainerDelete", {"id": cid}, expect=[409])
        obs.verdict(sc.manager_500("remove a running container without force", ex.status, 409, ex.excerpt(200)), ex)


def _create(obs: Observing, body: dict[str, Any], expect: list[int]) -> Exchange:
    """ContainerCreate with a name of this test's; whatever it created is removed."""
    name = unique_name(obs.state, "ctr")
    try:
        return obs.fetch("ContainerCreate", query={"name": name}, expect=expect,
                         json_body={"Labels": obs.state.label, **body})
    finally:
        _quietly(obs.state.sdk.remove_container, name, force=True)


def test_restart_policy_500(engine: EngineCall) -> None:
    with observing(engine, "restart-policy-500") as obs:
        ex = _create(obs, {"Image": obs.state.image, "HostConfig": {"RestartPolicy": {"Name": "dac-invalid-policy"}}},
                     [400])
        obs.verdict(sc.manager_500("create with RestartPolicy dac-invalid-policy", ex.status, 400, ex.excerpt(200)), ex)


def test_create_missing_image_500(engine: EngineCall) -> None:
    with observing(engine, "create-missing-image-500") as obs:
        image = f"{unique_name(obs.state, 'missing')}:none"
        ex = _create(obs, {"Image": image}, [404])
        obs.verdict(sc.manager_500(f"create with image {image} (no node has it)", ex.status, 404, ex.excerpt(200)), ex)


def test_create_no_warnings(engine: EngineCall) -> None:
    with observing(engine, "create-no-warnings") as obs:
        ex = _create(obs, {"Image": obs.state.image, "Cmd": ["true"]}, [201])
        obs.verdict(sc.create_no_warnings(ex.status, _json(ex)), ex)


def test_version_prefix_unchecked(engine: EngineCall) -> None:
    """Prefixes an Engine refuses with 400: one minor above the manager's ApiVersion, and 99.99."""
    with observing(engine, "version-prefix-unchecked") as obs:
        api_max = obs.state.target.api_max
        if not api_max:
            raise sc.CouldNotObserve(obs.deviation.id, "the target reports no ApiVersion")
        major, minor = parse(api_max)
        statuses, first = {}, None
        for version in (fmt((major, minor + 1)), "99.99"):
            with obs.setup(f"GET /v{version}/version"):
                ex = engine.client.request("SystemVersion", version, "GET", "/version")
            statuses[f"/v{version}"] = ex.status
            first = first or ex
        obs.verdict(sc.version_prefix_unchecked(statuses), first)


def test_events_until_integer(engine: EngineCall) -> None:
    with observing(engine, "events-until-integer") as obs:
        ex = obs.fetch("SystemEvents", query={"until": f"{time.time() + 1.5:.3f}"})
        obs.verdict(sc.events_until_integer(ex.status, ex.media_type, ex.excerpt(200)), ex)


def test_events_no_separator(engine: EngineCall) -> None:
    """Events of a container created and removed while GET /events?until=<integer, 3 s ahead> is open."""
    with observing(engine, "events-no-separator") as obs:
        until = int(time.time()) + 3
        got: dict[str, Any] = {}

        def listen() -> None:
            try:
                got["exchange"] = engine.send("SystemEvents", query={"until": str(until)})
            except Exception as exc:  # noqa: BLE001 - reported below as could not observe
                got["error"] = exc
        listener = threading.Thread(target=listen, name="dac-events", daemon=True)
        listener.start()
        time.sleep(0.5)  # the stream is open before the events happen
        with _container(obs, command=["true"], start=False):
            pass
        listener.join(timeout=until - time.time() + obs.state.config.timeout)
        if "exchange" not in got:
            raise sc.CouldNotObserve(obs.deviation.id, f"GET /events?until={until}: {got.get('error') or 'no answer'}")
        op, ex = got["exchange"]
        problems = {**run_checks(engine.spec, op, ex), "status_expected": status_expected(op, ex, (200,))}
        obs.keep(op, ex, problems)
        obs.verdict(sc.events_no_separator(ex.body), ex)


def test_exec_start_cache_404(engine: EngineCall) -> None:
    """Create an exec and start it at once (detached), up to 16 times: a stale cache answers 404."""
    with observing(engine, "exec-start-cache-404") as obs, _container(obs) as (cid, _):
        attempts: list[tuple[int, str]] = []
        first = None
        for _ in range(16):
            with obs.setup("create an exec"):
                exec_id = obs.state.sdk.exec_create(cid, ["true"])["Id"]
            ex = obs.fetch("ExecStart", {"id": exec_id}, json_body={"Detach": True, "Tty": False})
            attempts.append((ex.status, ex.excerpt(200)))
            first = first or ex
            if ex.status == 404:
                first = ex
                break
        obs.verdict(sc.exec_start_cache_404(attempts), first)


def _raw_conn(obs: Observing, wire: Callable[[], Conn]) -> Conn:
    with obs.setup("open a raw connection"):
        return wire()


def test_exec_start_tunnel(engine: EngineCall, wire: Callable[[], Conn]) -> None:
    """A plain (detached) exec start on a connection of its own, then, on purpose, GET /version on that same
    connection (the one request the suite ever sends after a hijack) and on a new one."""
    with observing(engine, "exec-start-tunnel") as obs, _container(obs) as (cid, _):
        with obs.setup("create an exec"):
            exec_id = obs.state.sdk.exec_create(cid, ["true"])["Id"]
        op = engine.operation("ExecStart")
        limits = Limits(max_bytes=1 << 20, seconds=min(obs.state.config.timeout, 10.0))
        conn = _raw_conn(obs, wire)
        body = json.dumps({"Detach": True, "Tty": False}).encode()
        with obs.setup("plain exec start"):
            raw = request(conn, op.id, engine.version, "POST", f"/v{engine.version}/exec/{exec_id}/start",
                          headers={"Content-Type": "application/json"}, body=body, limits=limits)
        obs.keep(op, raw.exchange, {**run_checks(engine.spec, op, raw.exchange),
                                    "status_expected": status_expected(op, raw.exchange, (200,))})
        same: Any = None
        with obs.setup("GET /version on the exec start's connection"):
            conn.send(build_request("GET", f"/v{engine.version}/version", conn.host))
            head, _ = read_head(conn, limits)
            if head is not None:
                same = _json_bytes(read_body(conn, head, limits).data)
        fresh = obs.fetch("SystemVersion")
        obs.verdict(sc.exec_start_tunnel(raw.exchange.status, same, _json(fresh)), raw.exchange)


def _json_bytes(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data[:80].decode("utf-8", "replace")


def test_network_disconnect_204(engine: EngineCall) -> None:
    """A local network and a container on the same node; connect, then disconnect."""
    with observing(engine, "network-disconnect-204") as obs:
        state = obs.state
        node = _first_node(obs)
        # Pinned as the profile's placement says (<node>/<name>, the node constraint); a Driver of our own,
        # since the manager gives a network without one the overlay driver.
        pinned = Placement(node, state.placement.container_env or ("constraint:node=={node}",),
                           state.placement.scoped_name_format if state.placement.node else "{node}/{name}")
        name = pinned.scoped_name(unique_name(state, "net"))
        with obs.setup(f"create network {name}"):
            created = state.sdk.create_network(name, driver="bridge", labels=state.label)
        try:
            with _container(obs, env=pinned.env()) as (cid, _):
                with obs.setup("connect the container"):
                    state.sdk.connect_container_to_network(cid, created["Id"])
                ex = obs.fetch("NetworkDisconnect", {"id": created["Id"]}, json_body={"Container": cid})
                obs.verdict(sc.network_disconnect_204(ex.status, ex.excerpt(200)), ex)
        finally:
            _quietly(state.sdk.remove_network, created["Id"])


def test_ping_no_experimental_header(engine: EngineCall) -> None:
    with observing(engine, "ping-no-experimental-header") as obs:
        ex = obs.fetch("SystemPing")
        obs.verdict(sc.ping_no_experimental_header(ex.status, ex.headers), ex)


def test_ping_head_404(engine: EngineCall) -> None:
    with observing(engine, "ping-head-404") as obs:
        ex = obs.fetch("SystemPingHead")
        obs.verdict(sc.ping_head_404(ex.status, ex.headers), ex)


def test_node_scoped_volume_names(engine: EngineCall) -> None:
    with observing(engine, "node-scoped-volume-names") as obs:
        state = obs.state
        node = _first_node(obs)
        bare = unique_name(state, "vol")
        scoped = f"{node}/{bare}"
        try:
            created = obs.fetch("VolumeCreate", json_body={"Name": scoped, "Labels": state.label}, expect=[201])
            listed = obs.fetch("VolumeList", query={"filters": {"label": [f"{k}={v}" for k, v in state.label.items()]}})
            volumes = (_json(listed) or {}).get("Volumes") if isinstance(_json(listed), dict) else None
            names = [str(v.get("Name")) for v in volumes or [] if isinstance(v, dict)]
            statuses = {ref: obs.fetch("VolumeInspect", {"name": ref}).status for ref in (scoped, bare)}
            obs.verdict(sc.node_scoped_volume_names(scoped, created.status, _json(created), names, statuses), created)
        finally:
            for ref in (scoped, bare):
                _quietly(state.sdk.remove_volume, ref)
