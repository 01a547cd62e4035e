"""The classic Swarm deviation profile, its checks, the fake manager, and the deviation suite end to end.

The end-to-end tests serve a fake manager on a unix socket and run suites/test_swarm_classic.py
against it: once as is (every documented deviation reported, none failing), once with every
behaviour of the fake switched off, where each deviation the profile marks expected must fail.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import swarm_classic as sc
from conformance.expectations import ExpectationBook
from conformance.fake.server import FakeServer
from conformance.fake.swarm_classic import DEVIATIONS as FAKE_SWITCHES
from conformance.fake.swarm_classic import FAULT_PREFIX, SwarmClassicManager
from conformance.fake.wire import Headers, Request, Response
from conformance.spec import SpecCatalog

ROOT = Path(__file__).resolve().parent.parent
PROFILE = sc.deviations()
# Which fake switch produces which documented deviation (None: the fake follows the code, not the doc).
SWITCH_FOR = {
    "version-shape": "version-shape", "info-system-status": "info-system-status", "node-field": "node-field",
    "node-field-doc-keys": None, "inspect-hostip-node-ip": "hostip-node-ip", "list-hostip-node-ip": "hostip-node-ip",
    "list-node-prefixed-names": "node-prefixed-names", "list-hides-swarm-image": "hide-swarm-image",
    "images-node-filter": "images-node-filter", "image-import-404": "image-import",
    "cpushares-as-cores": "cpushares-as-cores", "registry-auth-on-create": "registry-auth",
    "swarm-mode-routes-404": "swarm-mode-routes-404",
    # found on a v1.2.9 manager
    "errors-text-plain": "text-plain-errors", "remove-running-500": "engine-errors-500",
    "restart-policy-500": "engine-errors-500", "create-missing-image-500": "create-pulls-missing-image",
    "create-no-warnings": "create-id-only", "version-prefix-unchecked": "version-prefix-unchecked",
    "events-until-integer": "events-until-integer", "events-no-separator": "events-no-separator",
    "exec-start-cache-404": "exec-cache", "exec-start-tunnel": "exec-start-tunnel",
    "network-disconnect-204": "network-disconnect-204", "ping-no-experimental-header": "ping-own",
    "ping-head-404": "unknown-routes-404", "node-scoped-volume-names": "node-scoped-names",
}
# Doc-only or stale entries the fake does not show (it follows the code): recorded as not-observed.
NOT_SHOWN = {"node-field-doc-keys", "image-import-404"}
# Observations that name a node: with every behaviour of the fake off, no node name is to be had.
NEEDS_NODE_NAME = {"network-disconnect-204", "node-scoped-volume-names"}
TEST_FOR = {dev_id: "test_" + dev_id.replace("-", "_") for dev_id in PROFILE}


# --- the profile as data ------------------------------------------------------------------------

def test_profile_checks_exist_and_are_all_used() -> None:
    assert {d.observe for d in PROFILE.values()} == set(sc.CHECKS)


def test_profile_loads_as_known_deviations_of_its_kind() -> None:
    book = ExpectationBook.load(None, [], "swarm-classic")
    assert {e.id for e in book.entries} >= set(PROFILE)
    assert all(e.state == "known-deviation" for e in book.entries)


def test_every_documented_deviation_has_a_test_and_a_fake_switch() -> None:
    suite = (ROOT / "suites" / "test_swarm_classic.py").read_text()
    assert set(SWITCH_FOR) == set(PROFILE)
    for dev_id, switch in SWITCH_FOR.items():
        assert f"def {TEST_FOR[dev_id]}(" in suite, dev_id
        assert switch is None or switch in FAKE_SWITCHES, switch


def test_unsupported_globs_name_real_operations() -> None:
    spec = SpecCatalog().get("1.41")
    for group in sc.load_profile().get("unsupported") or []:
        for pattern in group["operations"]:
            assert any(sc.unsupported_reason(op, {"unsupported": [{"operations": [pattern], "reason": "r"}]})
                       for op in spec.operations), pattern
    assert sc.unsupported_reason("ServiceCreate", sc.load_profile())
    assert sc.unsupported_reason("ContainerCreate", sc.load_profile()) is None


# --- the checks ---------------------------------------------------------------------------------

def test_confirmation_is_a_problem_the_profile_explains() -> None:
    book = ExpectationBook.load(None, [], "swarm-classic")
    deviation = PROFILE["node-field"]
    confirmed = sc.problems(deviation, sc.node_field({"Node": {"Name": "n1", "IP": "10.0.0.1"}}))
    assert len(confirmed) == 1 and confirmed[0].message.startswith("confirmed: ")
    assert book.explain_problem("swarm-classic", "1.40", "ContainerInspect", confirmed[0])
    missing = sc.problems(deviation, sc.node_field({"Id": "x"}))
    assert missing[0].message.startswith("not observed: ")
    assert book.explain_problem("swarm-classic", "1.40", "ContainerInspect", missing[0]) is None


def test_doc_only_deviation_not_observed_is_its_own_finding() -> None:
    """Not observed is never a silent pass: a finding the entry's `not_observed` form names (state not-observed)."""
    found = sc.problems(PROFILE["image-import-404"], sc.image_import_404(200, "{}"))
    assert len(found) == 1 and found[0].message.startswith("not observed: ")
    assert sc.problems(PROFILE["image-import-404"], sc.image_import_404(404, "nope"))[0].message.startswith("confirmed")
    raw = {e["id"]: e for e in sc.load_profile()["entries"]}
    for dev_id, deviation in PROFILE.items():
        form = raw[dev_id].get("not_observed")
        assert (form == "not observed:*") is (not deviation.expected), dev_id


def test_the_suite_names_its_kind_as_data() -> None:
    assert sc.requires_kind("suites/test_swarm_classic.py") == "swarm-classic"
    assert sc.requires_kind("suites/test_operations.py") is None
    assert sc.requires_kind("") is None  # a test outside the project's root (a probe) belongs to no kind
    assert "classic_only" not in (ROOT / "suites" / "test_swarm_classic.py").read_text()


@pytest.mark.parametrize(("observation", "confirmed"), [
    (sc.version_shape({"Version": "swarm/1.2.9", "ApiVersion": "1.40"}, "1.40"), True),
    (sc.version_shape({"Version": "20.10.24"}, "1.41"), False),
    (sc.info_system_status({"SystemStatus": [["Role", "primary"], ["Nodes", "1"], [" n1", "1.2.3.4:2375"],
                                             ["  └ ID", "X"]]}), True),
    (sc.info_system_status({"SystemStatus": [["Role", "primary"], ["Nodes", "2"], [" n1", "a"]]}), False),
    (sc.info_system_status({"SystemStatus": None}), False),
    (sc.node_field_doc_keys({"Node": {"Id": "x", "Ip": "y"}}), True),
    (sc.node_field_doc_keys({"Node": {"ID": "x", "IP": "y"}}), False),
    (sc.inspect_hostip_node_ip({"NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "10.0.0.1"}]}},
                                "Node": {"IP": "10.0.0.1"}}, "80/tcp", {}), True),
    (sc.inspect_hostip_node_ip({"NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0"}]}},
                                "Node": {"IP": "10.0.0.1"}}, "80/tcp", {}), False),
    (sc.inspect_hostip_node_ip({"NetworkSettings": {"Ports": {"80/tcp": None}}}, "80/tcp", {}), False),
    (sc.list_hostip_node_ip({"Ports": [{"PrivatePort": 80, "PublicPort": 1, "IP": "10.0.0.1"}]}, 80, None), True),
    (sc.list_hostip_node_ip({"Ports": [{"PrivatePort": 80, "PublicPort": 1, "IP": "::"}]}, 80, None), False),
    (sc.list_node_prefixed_names({"Names": ["/n1/web"]}, "web", ["n1"]), True),
    (sc.list_node_prefixed_names({"Names": ["/web"]}, "web", ["n1"]), False),
    (sc.list_hides_swarm_image(["a"], ["a", "b"], "b"), True),
    (sc.list_hides_swarm_image(["a", "b"], ["a", "b"], "b"), False),
    (sc.images_node_filter("n1", 200, [{"Id": "i"}], "i", 200, []), True),
    (sc.images_node_filter("n1", 400, None, "i", 400, None), False),
    (sc.cpushares_as_cores(1, {"HostConfig": {"CpuShares": 512}, "Node": {"Cpus": 2}}), True),
    (sc.cpushares_as_cores(1, {"HostConfig": {"CpuShares": 1}, "Node": {"Cpus": 2}}), False),
    (sc.registry_auth_on_create(201, ""), True),
    (sc.registry_auth_on_create(400, "no"), False),
    (sc.swarm_mode_routes_404({"/swarm": 404, "/nodes": 404}), True),
    (sc.swarm_mode_routes_404({"/swarm": 503, "/nodes": 404}), False),
    (sc.errors_text_plain(409, "text/plain", "Conflict: x"), True),
    (sc.errors_text_plain(409, "application/json", '{"message":"Conflict"}'), False),
    (sc.manager_500("remove", 500, 409, "Error response from daemon: x"), True),
    (sc.manager_500("remove", 409, 409, "{}"), False),
    (sc.create_no_warnings(201, {"Id": "x"}), True),
    (sc.create_no_warnings(201, {"Id": "x", "Warnings": []}), False),
    (sc.version_prefix_unchecked({"/v1.41": 200, "/v99.99": 200}), True),
    (sc.version_prefix_unchecked({"/v1.41": 400, "/v99.99": 200}), False),
    (sc.events_until_integer(400, "text/plain", 'strconv.ParseInt: parsing "1.5": invalid syntax'), True),
    (sc.events_until_integer(200, "application/json", ""), False),
    (sc.events_no_separator(b'{"a":1}{"b":2}{"c":3}'), True),
    (sc.events_no_separator(b'{"a":1}\n{"b":2}\n'), False),
    (sc.events_no_separator(b'{"a":1}'), False),
    (sc.exec_start_cache_404([(200, ""), (404, "Exec abc not found")]), True),
    (sc.exec_start_cache_404([(200, ""), (200, "")]), False),
    (sc.exec_start_tunnel(200, {"Version": "20.10.24"}, {"Version": "swarm/1.2.9"}), True),
    (sc.exec_start_tunnel(200, {"Version": "swarm/1.2.9"}, {"Version": "swarm/1.2.9"}), False),
    (sc.exec_start_tunnel(200, None, {"Version": "swarm/1.2.9"}), False),
    (sc.network_disconnect_204(204, ""), True),
    (sc.network_disconnect_204(200, ""), False),
    (sc.ping_no_experimental_header(200, {"Api-Version": "1.30"}), True),
    (sc.ping_no_experimental_header(200, {"Api-Version": "1.41", "Docker-Experimental": "false"}), False),
    (sc.ping_head_404(404, {}), True),
    (sc.ping_head_404(200, {}), False),
    (sc.node_scoped_volume_names("n1/v", 201, {"Name": "v"}, ["n1/v"], {"n1/v": 200, "v": 200}), True),
    (sc.node_scoped_volume_names("n1/v", 400, {"message": "invalid"}, [], {"n1/v": 404, "v": 404}), False),
])
def test_checks_judge_what_was_seen(observation: sc.Observation, confirmed: bool) -> None:
    assert observation.confirmed is confirmed, observation.seen


# --- the fake manager ---------------------------------------------------------------------------

def _get(manager: SwarmClassicManager, target: str, method: str = "GET") -> tuple[int, object]:
    response = manager.handle(Request(method, target, Headers()))
    body = response.content()
    try:
        return response.status, json.loads(body) if body.strip() else None
    except ValueError:
        return response.status, body.decode()


def test_fake_manager_switches() -> None:
    manager = SwarmClassicManager()
    try:
        assert _get(manager, "/v1.40/version")[1]["Version"] == "swarm/1.2.9"  # type: ignore[index]
        assert _get(manager, "/v1.40/swarm") == (404, "404 page not found\n")  # its own text/plain error
        assert _get(manager, "/v1.41/version")[0] == 200  # any prefix: no range check of its own
        assert _get(manager, "/v1.40/_ping", "HEAD")[0] == 404  # only GET /_ping is registered
        manager.faults.update({FAULT_PREFIX + "version-shape", FAULT_PREFIX + "swarm-mode-routes-404",
                               FAULT_PREFIX + "version-prefix-unchecked", FAULT_PREFIX + "unknown-routes-404"})
        assert not _get(manager, "/v1.40/version")[1]["Version"].startswith("swarm/")  # type: ignore[index]
        assert _get(manager, "/v1.40/swarm")[0] == 503  # the node's own answer: not a swarm manager
        assert _get(manager, "/v1.41/version")[0] == 400  # above the manager's API 1.40
        assert _get(manager, "/v1.40/_ping", "HEAD")[0] == 200  # passed to a node
    finally:
        manager.close()


def test_fake_manager_errors_and_creates_as_v1_2_9() -> None:
    manager = SwarmClassicManager()
    try:
        status, created = _call(manager, "POST", "/containers/create?name=one",
                                {"Image": "busybox", "Cmd": ["sleep", "600"]})
        assert status == 201 and set(created) == {"Id"}, created  # type: ignore[arg-type]
        response = manager.handle(Request("POST", "/v1.40/containers/create?name=one",
                                          Headers([("Content-Type", "application/json")]), b'{"Image":"busybox"}'))
        assert response.status == 409 and response.headers.get("Content-Type", "").startswith("text/plain")
        assert response.content().startswith(b"Conflict: ")
        assert _call(manager, "POST", "/containers/create", {"Image": "no-such-image-anywhere"})[0] == 500
        bad = {"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "dac-invalid-policy"}}}
        assert _call(manager, "POST", "/containers/create", bad)[0] == 500
        assert _call(manager, "POST", "/containers/one/start")[0] == 204
        assert _get(manager, "/v1.40/containers/one", "DELETE")[0] == 500  # running: the engine's 409 wrapped
        status, text = _get(manager, "/v1.40/events?until=1.5")
        assert status == 400 and str(text).startswith("strconv.ParseInt: ")
    finally:
        manager.close()
    with pytest.raises(ValueError, match="unknown fault"):
        SwarmClassicManager(faults={FAULT_PREFIX + "no-such-behaviour"})


def _call(manager: SwarmClassicManager, method: str, target: str, body: object = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else b""
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    response = manager.handle(Request(method, "/v1.40" + target, headers, data))
    raw = response.content().strip()
    if (response.headers.get("Content-Type") or "").startswith("text/plain"):
        return response.status, raw.decode()  # an error the manager writes itself
    lines = [json.loads(line) for line in raw.splitlines() if line.strip()] if raw else []
    return response.status, lines[0] if len(lines) == 1 else lines


def _node_of(manager: SwarmClassicManager, container: str) -> str:
    return _call(manager, "GET", f"/containers/{container}/json")[1]["Node"]["Name"]  # type: ignore[index]


def test_fake_manager_places_by_constraint_and_by_local_network() -> None:
    manager = SwarmClassicManager()
    try:
        status, created = _call(manager, "POST", "/containers/create?name=pinned",
                                {"Image": "busybox", "Env": ["constraint:node==node-2", "A=1"]})
        assert status == 201, created
        assert _node_of(manager, "pinned") == "node-2"
        config = _call(manager, "GET", "/containers/pinned/json")[1]["Config"]  # type: ignore[index]
        assert "A=1" in config["Env"] and not any(e.startswith("constraint:") for e in config["Env"])
        assert "node==node-2" in config["Labels"]["com.docker.swarm.constraints"]
        assert _call(manager, "POST", "/containers/create", {"Image": "busybox", "Env": ["constraint:node==nope"]})[0] \
            == 500
        assert _call(manager, "POST", "/networks/create", {"Name": "node-2/near"})[0] == 201
        assert _call(manager, "POST", "/containers/create?name=joined",
                     {"Image": "busybox", "HostConfig": {"NetworkMode": "near"}})[0] == 201
        assert _node_of(manager, "joined") == "node-2"  # a container on a local network goes to its node
    finally:
        manager.close()


def test_fake_manager_connects_on_the_container_node() -> None:
    manager = SwarmClassicManager()
    try:
        _call(manager, "POST", "/networks/create", {"Name": "node-2/local"})
        for name, node in (("here", "node-2"), ("there", "node-1")):
            _call(manager, "POST", f"/containers/create?name={name}",
                  {"Image": "busybox", "Env": [f"constraint:node=={node}"]})
        assert _call(manager, "POST", "/networks/local/connect", {"Container": "here"})[0] == 200
        # node-1 has no network "local": the manager forwards there, and the node does not find it
        assert _call(manager, "POST", "/networks/local/connect", {"Container": "there"})[0] == 404
        assert _call(manager, "POST", "/networks/local/connect", {"Container": "nobody"})[0] == 404
        assert _call(manager, "POST", "/networks/local/disconnect", {"Container": "here"})[0] == 204  # not 200
    finally:
        manager.close()


def test_fake_nodes_share_one_registry() -> None:
    manager = SwarmClassicManager()
    repo = "127.0.0.1:5000/shared"
    try:
        _call(manager, "POST", "/containers/create?name=src", {"Image": "busybox", "Env": ["constraint:node==node-2"]})
        assert _call(manager, "POST", f"/commit?container=src&repo={repo}&tag=v1")[0] == 201
        status, pushed = _call(manager, "POST", f"/images/{repo}/push?tag=v1")
        assert status == 200 and not any("error" in r for r in pushed), pushed  # type: ignore[union-attr]
        status, pulled = _call(manager, "POST", f"/images/create?fromImage={repo}&tag=v1")
        assert status == 200 and not any("error" in r for r in pulled), pulled  # type: ignore[union-attr]
        listed = _call(manager, "GET", '/images/json?filters={"node":["node-1"]}')[1]
        assert any(f"{repo}:v1" in (i.get("RepoTags") or []) for i in listed), listed  # type: ignore[union-attr]
    finally:
        manager.close()


# --- the deviation suite end to end ---------------------------------------------------------------

@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, SwarmClassicManager]]:
    manager = SwarmClassicManager()
    server = FakeServer(f"unix://{tmp_path / 'swarm.sock'}", manager)
    server.start()
    try:
        yield server.url, manager
    finally:
        server.stop()


def _run_suite(url: str, tmp_path: Path) -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_swarm_classic.py", "--target", url,
         "--target-kind", "swarm-classic", "-q", "-rA", "-p", "no:randomly", "-W", "ignore::UserWarning",
         f"--reports-dir={tmp_path / 'reports'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    outcomes = {}
    for line in proc.stdout.splitlines():
        found = re.match(r"^(PASSED|FAILED|XFAIL|ERROR|SKIPPED)\S* suites/test_swarm_classic.py::(\w+)\[", line)
        if found:
            outcomes[found.group(2)] = found.group(1)
    assert outcomes, proc.stdout[-3000:] + proc.stderr[-2000:]
    return outcomes


def _deviation_states(tmp_path: Path) -> dict[str, str]:
    """Deviation id -> state of its `deviation:<id>` check in results.json (whatever the other checks said)."""
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    states = {}
    for test in results["tests"]:
        for check, state in test.get("checks", {}).items():
            if check.startswith("deviation:"):
                states[check.partition(":")[2]] = state
    return states


def test_suite_reports_every_deviation_of_the_fake(served: tuple[str, SwarmClassicManager], tmp_path: Path) -> None:
    outcomes = _run_suite(served[0], tmp_path)
    states = _deviation_states(tmp_path)
    for dev_id in PROFILE:
        # confirmed: a known deviation; doc-only and not observed: its own state, neither pass nor failure
        assert states.get(dev_id) == ("not-observed" if dev_id in NOT_SHOWN else "known-deviation"), (dev_id, states)
        assert outcomes.get(TEST_FOR[dev_id]) == ("PASSED" if dev_id in NOT_SHOWN else "XFAIL"), (dev_id, outcomes)
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    verdicts = {t["deviation"]["id"]: t["deviation"]["verdict"] for t in results["tests"] if "deviation" in t}
    assert verdicts == {d: sc.NOT_OBSERVED if d in NOT_SHOWN else sc.CONFIRMED for d in PROFILE}
    # The generic checks of the same responses are outcomes of their own, next to each verdict.
    generic = {t["scenario"].removesuffix("/generic") for t in results["tests"] if t["scenario"].endswith("/generic")}
    assert generic >= set(PROFILE) - {"swarm-mode-routes-404", "version-prefix-unchecked"}, generic


def test_each_expected_deviation_fails_when_the_fake_stops_applying_it(
        served: tuple[str, SwarmClassicManager], tmp_path: Path) -> None:
    url, manager = served
    manager.faults.update(FAULT_PREFIX + name for name in FAKE_SWITCHES)
    outcomes = _run_suite(url, tmp_path)
    states = _deviation_states(tmp_path)
    assert any(d.expected for d in PROFILE.values())
    for dev_id, deviation in PROFILE.items():
        if deviation.expected:
            # Without SystemStatus and Node nobody names a node: those observations cannot be made at all.
            wanted = (None, "fail") if dev_id in NEEDS_NODE_NAME else ("fail",)
            assert states.get(dev_id) in wanted, (dev_id, states)
            assert outcomes.get(TEST_FOR[dev_id]) == "FAILED", (dev_id, outcomes)
    # Without its import, the fake answers the doc's 404: the stale doc entry is then confirmed.
    assert states.get("image-import-404") == "known-deviation"


class _RefuseTag:
    """The manager, except that tagging an image fails: the setup step of list-hides-swarm-image alone."""

    def __init__(self, manager: SwarmClassicManager) -> None:
        self.manager = manager

    def handle(self, req: Request) -> Response:
        if req.method == "POST" and re.search(r"/images/.+/tag$", req.path):
            return Response(500, b'{"message":"dac self-test: tagging is broken"}\n',
                            Headers([("Content-Type", "application/json")]))
        return self.manager.handle(req)

    def close(self) -> None:
        self.manager.close()


def test_a_broken_setup_is_could_not_observe_for_that_deviation_only(tmp_path: Path) -> None:
    manager = SwarmClassicManager()
    server = FakeServer(f"unix://{tmp_path / 'swarm.sock'}", _RefuseTag(manager))
    server.start()
    try:
        outcomes = _run_suite(server.url, tmp_path)
    finally:
        server.stop()
    broken = TEST_FOR["list-hides-swarm-image"]
    assert outcomes[broken] == "FAILED", outcomes
    assert not [name for name, outcome in outcomes.items() if outcome in ("FAILED", "ERROR") and name != broken]
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    mine = [t for t in results["tests"] if t.get("nodeid", "").split("::")[-1].startswith(broken + "[")]
    assert len(mine) == 1 and mine[0]["state"] == "error", mine
    assert "could not observe: tag the test image swarm:" in mine[0]["reason"], mine[0]["reason"]
    assert "tagging is broken" in mine[0]["reason"]
    states = _deviation_states(tmp_path)
    assert "list-hides-swarm-image" not in states  # neither confirmed nor refuted
    for dev_id in set(PROFILE) - {"list-hides-swarm-image"}:
        assert states.get(dev_id) == ("not-observed" if dev_id in NOT_SHOWN else "known-deviation"), (dev_id, states)


def test_one_switch_fails_only_its_own_deviation(served: tuple[str, SwarmClassicManager], tmp_path: Path) -> None:
    url, manager = served
    manager.faults.add(FAULT_PREFIX + "node-prefixed-names")
    _run_suite(url, tmp_path)
    states = _deviation_states(tmp_path)
    failing = {dev_id for dev_id, state in states.items() if state == "fail"}
    assert failing == {dev_id for dev_id, switch in SWITCH_FOR.items() if switch == "node-prefixed-names"}, states
