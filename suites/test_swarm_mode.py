"""Swarm mode (API 1.25+), end to end on one engine: init, swarm, nodes, secrets, configs, services,
tasks and their logs, leave.  Needs --allow-global-changes (it turns the engine into a manager).

One ordered flow per API version: the `swarm_version` parameter is module-scoped, so pytest runs
all tests of 1.25, then all of 1.41, and so on; test_swarm_init / test_swarm_leave bracket each
flow.  When the target already is a manager (Swarm.LocalNodeState active and ControlAvailable in
/info) the flow uses it as it is: no init, no leave, only objects carrying this run's label (the
node's own spec is changed and restored).  Every request goes through `engine.call`, so the status,
content-type and schema checks run and the outcomes are recorded.

On the embedded fake the flow runs on a fresh fake of its own (the session's fake stays a manager).
On an engine, run it on its own (not with -n next to other suites): a swarm manager answers the swarm endpoints
with 200 where the not-a-manager scenarios expect 503.
"""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import docker.errors
import pytest

from conformance import skips
from conformance.exchange import Exchange
from conformance.streams import mux_frames, stream_content_type
from plugins.calls import EngineCall
from plugins.fixtures import _state, unique_name
from plugins.safety import is_swarm_manager, swarm_info
from plugins.session import SuiteState, get_state, own_fake
from plugins.target_profile import unsupported_by_target

LOG_TEXT = "dac-service-log"
TASK_COMMAND = ["sh", "-c", f"echo {LOG_TEXT}; echo {LOG_TEXT}-err >&2; sleep 600"]
WAIT_SECONDS = 30.0
GWBRIDGE = "docker_gwbridge"  # the bridge swarm init creates for overlay traffic

pytestmark = pytest.mark.xdist_group("swarm-mode")  # one worker runs the whole flow under --dist loadgroup


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state = get_state(metafunc.config)
    if state is not None and "swarm_version" in metafunc.fixturenames:
        versions = list(state.selection.run)
        metafunc.parametrize("swarm_version", versions, ids=versions, scope="module")


@dataclass
class Flow:
    """What one version's flow learned so far; shared by its tests in order."""

    version: str
    initiated: bool = False  # we ran swarm init, so the flow ends with swarm leave
    had_gwbridge: bool = True  # docker_gwbridge existed before our init (else it is removed after leave)
    usable: bool = False  # a manager is there to talk to
    node_id: str = ""
    reason: str = ""  # why the flow cannot run
    created: dict[str, list[str]] = field(default_factory=lambda: {"services": [], "secrets": [], "configs": []})


@pytest.fixture(scope="module")
def flow_state(request: pytest.FixtureRequest, swarm_version: str) -> Iterator[SuiteState]:
    """The session; on the embedded fake (a swarm manager for the other suites), a fresh fake of the flow's own,
    outside swarm mode, so that init and leave run."""
    state = _state(request)
    if state.fake is None or unsupported_by_target("SwarmInit", state.target.kind):
        yield state
        return
    own = own_fake(state)
    try:
        yield own
    finally:
        own.fake.stop()


@pytest.fixture(scope="module")
def flow(flow_state: SuiteState, swarm_version: str) -> Iterator[Flow]:
    state = flow_state
    current = Flow(swarm_version)
    unsupported = unsupported_by_target("SwarmInit", state.target.kind)
    if unsupported:
        skips.skip(skips.UNSUPPORTED, unsupported)
    if not state.allow_global_changes:
        skips.skip(skips.NOT_OPTED_IN, "swarm mode changes the whole engine (init/leave): run with "
                   "--allow-global-changes")
    yield current
    # Safety net: whatever failed in between, an engine we turned into a manager goes back to inactive,
    # and labelled objects of a pre-existing swarm are removed.
    _remove_created(state, current)
    if current.initiated and is_swarm_manager(swarm_info(state)):
        try:
            state.sdk.leave_swarm(force=True)
        except docker.errors.DockerException:
            pass
    if not current.had_gwbridge and not is_swarm_manager(swarm_info(state)):
        try:  # swarm init created it and leave keeps it: put the engine back as it was
            state.sdk.remove_network(GWBRIDGE)
        except docker.errors.DockerException:
            pass


@pytest.fixture
def engine(request: pytest.FixtureRequest, flow_state: SuiteState, swarm_version: str) -> EngineCall:
    """The suite's engine fixture, at this module's flow version."""
    return EngineCall(flow_state, swarm_version, request.node)


def _remove_created(state: SuiteState, current: Flow) -> None:
    sdk = state.sdk  # at the target's own API version (configs need 1.30)
    removers = {"services": sdk.remove_service, "secrets": sdk.remove_secret, "configs": sdk.remove_config}
    for kind, ids in current.created.items():
        for ident in ids:
            try:
                removers[kind](ident)
            except docker.errors.DockerException:
                pass
        ids.clear()


def _needs(current: Flow) -> None:
    if not current.usable:
        skips.skip(skips.PRECONDITION, current.reason or "no swarm manager: test_swarm_init did not succeed")


def _body(ex: Exchange, *need: int) -> Any:
    """The JSON body of an answer the flow needs to go on.  Another status was judged by the recorded checks
    already (an erratum or deviation may explain it): the flow then stops with a typed skip, never an assert."""
    wanted = need or (200,)
    if ex.status not in wanted:
        skips.skip(skips.PRECONDITION, f"{ex.operation} answered {ex.status}, not {' or '.join(map(str, wanted))}: "
                   "the flow cannot go on without that answer (its checks are recorded)")
    return ex.json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def has(engine: EngineCall, op_id: str) -> bool:
    return engine.spec.operation(op_id) is not None


def _labels(engine: EngineCall, **extra: str) -> dict[str, str]:
    return {**engine.state.label, **extra}


def _label_filter(engine: EngineCall) -> dict[str, list[str]]:
    key, value = next(iter(engine.state.label.items()))
    return {"label": [f"{key}={value}"]}


# --- the flow ---------------------------------------------------------------------------------

def test_swarm_init(engine: EngineCall, flow: Flow) -> None:
    swarm = swarm_info(engine.state)
    if is_swarm_manager(swarm):
        flow.usable, flow.node_id = True, str(swarm.get("NodeID", ""))
        skips.skip(skips.PRECONDITION, "already a swarm manager: used as it is, SwarmInit not sent (no init, "
                   "no leave)")
    if swarm.get("LocalNodeState") not in ("inactive", None):
        flow.reason = f"the engine is in swarm state {swarm.get('LocalNodeState')!r}, neither inactive nor a manager"
        skips.skip(skips.PRECONDITION, flow.reason)
    flow.had_gwbridge = bool(engine.state.sdk.networks(names=[GWBRIDGE]))
    ex = engine.call("SwarmInit", json_body={"ListenAddr": f"127.0.0.1:{_free_port()}", "AdvertiseAddr": "127.0.0.1",
                                             "ForceNewCluster": False})
    flow.initiated = True
    flow.node_id = _body(ex)
    flow.usable = True


def test_swarm_inspect_update_unlockkey(engine: EngineCall, flow: Flow) -> None:
    _needs(flow)
    swarm = _body(engine.call("SwarmInspect"))
    # Sending the current spec back changes nothing, even on a swarm this run did not create.
    engine.call("SwarmUpdate", query={"version": swarm["Version"]["Index"]}, json_body=swarm["Spec"])
    # The status is judged by the recorded checks (an erratum or deviation may explain another one).
    engine.call("SwarmUpdate", query={"version": swarm["Version"]["Index"]}, json_body=swarm["Spec"],
                expect=[400], scenario="stale-version")
    if has(engine, "SwarmUnlockkey"):
        key = _body(engine.call("SwarmUnlockkey"))
        assert "UnlockKey" in key, key


def test_nodes(engine: EngineCall, flow: Flow) -> None:
    _needs(flow)
    nodes = _body(engine.call("NodeList", query={"filters": {"role": ["manager"]}}))
    assert any(n.get("ID") == flow.node_id for n in nodes), f"this node {flow.node_id} not in {nodes}"
    node = _body(engine.call("NodeInspect", {"id": flow.node_id}))
    spec = dict(node["Spec"])
    labelled = {**spec, "Labels": {**(spec.get("Labels") or {}), **engine.state.label}}
    engine.call("NodeUpdate", {"id": flow.node_id}, query={"version": node["Version"]["Index"]}, json_body=labelled)
    after = _body(engine.call("NodeInspect", {"id": flow.node_id}))
    # Restore the node's own labels (the flow may run on a swarm it did not create).
    engine.call("NodeUpdate", {"id": flow.node_id}, query={"version": after["Version"]["Index"]}, json_body=spec,
                scenario="restore")
    assert engine.state.label.items() <= (after["Spec"].get("Labels") or {}).items(), after["Spec"]
    engine.call("NodeInspect", {"id": unique_name(engine.state, "node")}, expect=[404], scenario="missing")


def _secret_like(engine: EngineCall, flow: Flow, kind: str, title: str) -> None:
    """Create, inspect, list, update (labels), delete one secret or config of this run."""
    _needs(flow)
    if not has(engine, f"{title}Create"):
        skips.skip(skips.NOT_IN_SPEC, f"{title}Create is not in the API {engine.version} spec")
    name = unique_name(engine.state, kind)
    data = base64.b64encode(f"dac {kind} {engine.state.run_id}".encode()).decode()
    created = _body(engine.call(f"{title}Create", json_body={"Name": name, "Data": data, "Labels": _labels(engine)},
                                expect=[201]), 201)
    ident = created["ID"]
    flow.created[f"{kind}s"].append(ident)
    found = _body(engine.call(f"{title}Inspect", {"id": ident}))
    assert found["Spec"]["Name"] == name, found
    listed = _body(engine.call(f"{title}List", query={"filters": _label_filter(engine)}))
    assert ident in [s["ID"] for s in listed], listed
    if has(engine, f"{title}Update"):
        spec = {**found["Spec"], "Labels": _labels(engine, **{"com.docker-api-conformance.step": "updated"})}
        engine.call(f"{title}Update", {"id": ident}, query={"version": found["Version"]["Index"]}, json_body=spec)
        updated = _body(engine.call(f"{title}Inspect", {"id": ident}))
        assert updated["Spec"]["Labels"].get("com.docker-api-conformance.step") == "updated", updated["Spec"]
    engine.call(f"{title}Delete", {"id": ident}, expect=[204])
    flow.created[f"{kind}s"].remove(ident)
    engine.call(f"{title}Inspect", {"id": ident}, expect=[404], scenario="deleted")


def test_secrets(engine: EngineCall, flow: Flow) -> None:
    _secret_like(engine, flow, "secret", "Secret")


def test_configs(engine: EngineCall, flow: Flow) -> None:
    _secret_like(engine, flow, "config", "Config")


def _wait_running_task(engine: EngineCall, service_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    tasks: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        _, ex = engine.send("TaskList", query={"filters": {"service": [service_id]}})
        tasks = ex.json() if ex.status == 200 else []
        running = [t for t in tasks if (t.get("Status") or {}).get("State") == "running"]
        if running:
            return running[0]
        time.sleep(0.3)
    pytest.fail(f"no task of service {service_id} running after {WAIT_SECONDS:.0f} s: "
                f"{[(t.get('Status') or {}) for t in tasks]}", pytrace=False)


def _check_logs(engine: EngineCall, op_id: str, ident: str) -> None:
    """Logs of a non-TTY task: multiplexed frames carrying the task's stdout and stderr lines."""
    query = {"stdout": True, "stderr": True}
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:  # the log driver may lag the task's start a little
        _, ex = engine.send(op_id, {"id": ident}, query=query)
        if LOG_TEXT.encode() in ex.body:
            break
        time.sleep(0.3)
    ex = engine.call(op_id, {"id": ident}, query=query)
    op = engine.operation(op_id)
    engine.record(op, "frames", ex, {
        "mux_frames": mux_frames(ex.body, expect={1: f"{LOG_TEXT}\n".encode(), 2: f"{LOG_TEXT}-err\n".encode()}),
        "stream_content_type": stream_content_type(op.produces, ex.media_type, tty=False),
    })


def test_services_and_tasks(engine: EngineCall, flow: Flow) -> None:
    _needs(flow)
    name = unique_name(engine.state, "svc")
    spec = {"Name": name, "Labels": _labels(engine),
            "TaskTemplate": {"ContainerSpec": {"Image": engine.state.image, "Command": TASK_COMMAND,
                                               "Labels": _labels(engine)},
                             "RestartPolicy": {"Condition": "none"}},
            "Mode": {"Replicated": {"Replicas": 1}}}
    created = _body(engine.call("ServiceCreate", json_body=spec, expect=[201]), 201)
    ident = created["ID"]
    flow.created["services"].append(ident)
    service = _body(engine.call("ServiceInspect", {"id": ident}))
    assert service["Spec"]["Name"] == name, service["Spec"]
    listed = _body(engine.call("ServiceList", query={"filters": _label_filter(engine)}))
    assert ident in [s["ID"] for s in listed], listed

    task = _wait_running_task(engine, ident)
    tasks = _body(engine.call("TaskList", query={"filters": {"service": [ident]}}))
    assert task["ID"] in [t["ID"] for t in tasks]
    engine.call("TaskInspect", {"id": task["ID"]})
    if has(engine, "ServiceLogs"):
        _check_logs(engine, "ServiceLogs", ident)
    if has(engine, "TaskLogs"):
        _check_logs(engine, "TaskLogs", task["ID"])

    # A label-only update: no new task, so the flow stays short.
    new_spec = {**service["Spec"], "Labels": _labels(engine, **{"com.docker-api-conformance.step": "updated"})}
    engine.call("ServiceUpdate", {"id": ident}, query={"version": service["Version"]["Index"]}, json_body=new_spec)
    updated = _body(engine.call("ServiceInspect", {"id": ident}))
    assert updated["Spec"]["Labels"].get("com.docker-api-conformance.step") == "updated", updated["Spec"]
    engine.call("ServiceUpdate", {"id": ident}, query={"version": service["Version"]["Index"]}, json_body=new_spec,
                expect=[400], scenario="stale-version")

    engine.call("ServiceDelete", {"id": ident})
    flow.created["services"].remove(ident)
    engine.call("ServiceInspect", {"id": ident}, expect=[404], scenario="deleted")


def test_swarm_leave(engine: EngineCall, flow: Flow) -> None:
    _needs(flow)
    if not flow.initiated:
        skips.skip(skips.PRECONDITION, "the engine was a swarm manager before this run: it stays one (no leave)")
    engine.call("SwarmLeave", query={"force": True})
    flow.initiated = False
    flow.usable = False
    swarm = swarm_info(engine.state)
    assert swarm.get("LocalNodeState") == "inactive", swarm
