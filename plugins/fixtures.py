"""Preconditions: objects a scenario needs, made with the docker SDK, labelled and named per run.

Every object carries the run label (com.docker-api-conformance.run=<id>) and a name unique to
the run and the xdist worker; each fixture removes its object, and the session sweeps by label.
Scenario files name these fixtures in `needs:` and use them as "{fixture}" placeholders.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
import pytest
import requests

from conformance import skips
from conformance.cleanup import RUN_LABEL, Selector, release_network, remove_labelled
from plugins.safety import registries, skip_reason
from plugins.session import WORKER_LABEL, SuiteState, get_state

_counter = itertools.count(1)
KEEP_ALIVE = ["sleep", "600"]
NOT_FOUND = (docker.errors.NotFound,)


def _state(request: pytest.FixtureRequest) -> SuiteState:
    state = get_state(request.config)
    if state is None:
        skips.skip(skips.PRECONDITION, "the conformance session is not active")
    return state


class ObjectRef(str):
    """An object's id that also knows its name: "{container}" is the id, "{container.name}" the name."""

    name: str

    def __new__(cls, ident: str, name: str) -> ObjectRef:
        ref = super().__new__(cls, ident)
        ref.name = name
        return ref


def unique_name(state: SuiteState, kind: str) -> str:
    return f"dac-{state.run_id}-{state.worker}-{kind}-{next(_counter)}"


def _quietly(action: Any, *args: Any, **kwargs: Any) -> None:
    try:
        action(*args, **kwargs)
    except docker.errors.APIError:
        pass  # already gone, or the engine refuses: the session sweep tries again


@pytest.fixture(scope="session")
def sdk(request: pytest.FixtureRequest) -> docker.APIClient:
    """The docker SDK's low-level client, for preconditions (at the target's own API version)."""
    return _state(request).sdk


@pytest.fixture(scope="session")
def labels(request: pytest.FixtureRequest) -> dict[str, str]:
    return dict(_state(request).label)


@pytest.fixture(scope="session")
def image(request: pytest.FixtureRequest) -> str:
    return _state(request).image


@pytest.fixture(scope="session")
def image_id(sdk: docker.APIClient, image: str) -> str:
    return sdk.inspect_image(image)["Id"]


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A fresh name for an object the scenario itself creates (its teardown is the label sweep)."""
    return unique_name(_state(request), "new")


@pytest.fixture
def missing(request: pytest.FixtureRequest) -> str:
    """A name or id that no object has."""
    return unique_name(_state(request), "missing")


@pytest.fixture
def clock() -> dict[str, Any]:
    """Times for since/until: `now` with microseconds, so an until that ends now closes the stream at once
    (an until in the future would hold it open until then)."""
    now = time.time() + 0.001  # past every event so far, whatever the rounding of the text below
    return {"now": f"{now:.6f}", "past": int(now) - 60}


def _make_container(request: pytest.FixtureRequest, command: list[str], start: bool = False,
                    wait: bool = False, image: str | None = None, **options: Any) -> Iterator[ObjectRef]:
    state = _state(request)
    sdk = state.sdk
    name = unique_name(state, "ctr")
    labels = options.pop("labels", state.label)
    environment = list(options.pop("environment", None) or []) + state.placement.env()
    created = sdk.create_container(image or state.image, command=command, labels=labels, name=name,
                                   environment=environment or None, **options)
    cid = ObjectRef(created["Id"], name)
    try:
        if start:
            sdk.start(cid)
        if wait:
            sdk.wait(cid, timeout=30)
        yield cid
    finally:
        _quietly(sdk.remove_container, cid, force=True, v=True)


@pytest.fixture
def container(request: pytest.FixtureRequest) -> Iterator[str]:
    """Created, never started."""
    yield from _make_container(request, ["sh", "-c", "echo out; echo err >&2"])


@pytest.fixture
def decoy_container(request: pytest.FixtureRequest) -> Iterator[ObjectRef]:
    """Carries the run label but not this worker's label: a list filtered on both must leave it out."""
    state = _state(request)
    labels = {RUN_LABEL: state.run_id, WORKER_LABEL: f"{state.run_id}-decoy"}
    yield from _make_container(request, ["true"], labels=labels)


@pytest.fixture
def running_container(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _make_container(request, KEEP_ALIVE, start=True)


@pytest.fixture
def ambiguous_prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A one-digit id prefix that two of this test's containers (created, never started) share and that names no
    container: at most 17 are made (16 hex digits), all removed afterwards."""
    state = _state(request)
    sdk = state.sdk
    made: list[str] = []
    try:
        firsts: set[str] = set()
        prefix = ""
        while not prefix and len(made) < 17:
            cid = str(sdk.create_container(state.image, command=["true"], labels=state.label,
                                           name=unique_name(state, "amb"),
                                           environment=state.placement.env() or None)["Id"])
            made.append(cid)
            prefix = cid[0] if cid[0] in firsts else ""
            firsts.add(cid[0])
        try:
            named = sdk.inspect_container(prefix)  # a name wins over an id prefix: then the request would hit it
        except docker.errors.APIError:
            named = None
        if named is not None:
            skips.skip(skips.PRECONDITION, f"a container is named {prefix!r}: no ambiguous one-digit prefix to ask for")
        yield prefix
    finally:
        for cid in made:
            _quietly(sdk.remove_container, cid, force=True)


@pytest.fixture
def exited_container(request: pytest.FixtureRequest) -> Iterator[str]:
    """Ran `echo out; echo err >&2; exit 3` to its end."""
    yield from _make_container(request, ["sh", "-c", "echo out; echo err >&2; exit 3"], start=True, wait=True)


@pytest.fixture
def network(request: pytest.FixtureRequest) -> Iterator[str]:
    state = _state(request)
    name = state.placement.scoped_name(unique_name(state, "net"))
    created = state.sdk.create_network(name, driver="bridge", labels=state.label)
    try:
        yield ObjectRef(created["Id"], name)
    finally:
        release_network(state.sdk, created["Id"])
        _quietly(state.sdk.remove_network, created["Id"])


@pytest.fixture
def volume(request: pytest.FixtureRequest) -> Iterator[str]:
    state = _state(request)
    created = state.sdk.create_volume(state.placement.scoped_name(unique_name(state, "vol")), labels=state.label)
    try:
        yield created["Name"]
    finally:
        _quietly(state.sdk.remove_volume, created["Name"], force=True)


@pytest.fixture
def exec_instance(request: pytest.FixtureRequest, running_container: str) -> str:
    return _state(request).sdk.exec_create(running_container, ["echo", "exec-out"])["Id"]


@pytest.fixture(scope="session")
def run(request: pytest.FixtureRequest) -> dict[str, str]:
    """{run.id}, {run.label} and {run.worker_label} ("key=value", for label filters), {run.prefix} (this
    worker's name prefix).  Prunes filter on both labels, so they only ever touch this worker's objects."""
    state = _state(request)
    return {"id": state.run_id, "label": f"{RUN_LABEL}={state.run_id}",
            "worker_label": f"{WORKER_LABEL}={state.label[WORKER_LABEL]}",
            "prefix": f"dac-{state.run_id}-{state.worker}"}


@pytest.fixture
def paused_container(request: pytest.FixtureRequest, running_container: str) -> Iterator[str]:
    sdk = _state(request).sdk
    sdk.pause(running_container)
    yield running_container
    _quietly(sdk.unpause, running_container)


@pytest.fixture
def tty_container(request: pytest.FixtureRequest) -> Iterator[str]:
    """Running, with a TTY (resizable)."""
    yield from _make_container(request, KEEP_ALIVE, start=True, tty=True, stdin_open=True)


@pytest.fixture
def readonly_container(request: pytest.FixtureRequest) -> Iterator[str]:
    """Created with a read-only root filesystem."""
    state = _state(request)
    yield from _make_container(request, KEEP_ALIVE, host_config=state.sdk.create_host_config(read_only=True))


@pytest.fixture
def network_member(request: pytest.FixtureRequest, network: str, running_container: str) -> str:
    """running_container, connected to network."""
    _state(request).sdk.connect_container_to_network(running_container, network)
    return running_container


@pytest.fixture
def volume_in_use(request: pytest.FixtureRequest, volume: str) -> Iterator[str]:
    """A volume mounted by a (created) container."""
    state = _state(request)
    host_config = state.sdk.create_host_config(binds={volume: {"bind": "/data", "mode": "rw"}})
    for _ in _make_container(request, KEEP_ALIVE, host_config=host_config):
        yield volume


def _own_image(request: pytest.FixtureRequest) -> Iterator[ObjectRef]:
    """A labelled image of our own (a commit of a labelled container), tagged with a run-unique name.

    Image scenarios that tag, delete, save, load or push work on these, never on the test image.
    """
    state = _state(request)
    sdk = state.sdk
    repo = unique_name(state, "img")
    created = sdk.create_container(state.image, command=["true"], labels=state.label,
                                   name=unique_name(state, "ctr"), environment=state.placement.env() or None)
    try:
        image_id = sdk.commit(created["Id"], repository=repo, tag="latest",
                              conf={"Labels": state.label, "Cmd": ["sh"]})["Id"]
    finally:
        _quietly(sdk.remove_container, created["Id"], force=True)
    try:
        yield ObjectRef(image_id, f"{repo}:latest")
    finally:
        _quietly(sdk.remove_image, f"{repo}:latest")
        _quietly(sdk.remove_image, image_id)


@pytest.fixture
def own_image(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _own_image(request)


@pytest.fixture
def image_in_use(request: pytest.FixtureRequest) -> Iterator[str]:
    """An own image that a (created) container uses: deleting it without force is a conflict."""
    for ref in _own_image(request):
        for _ in _make_container(request, KEEP_ALIVE, image=ref.name):
            yield ref


@pytest.fixture
def saved_image(request: pytest.FixtureRequest, own_image: str) -> bytes:
    """An image tar (ImageGet) of own_image, for ImageLoad."""
    return b"".join(_state(request).sdk.get_image(own_image.name))


@pytest.fixture
def exec_tty(request: pytest.FixtureRequest, tty_container: str) -> str:
    """A started exec with a TTY (resizable while it runs)."""
    sdk = _state(request).sdk
    exec_id = sdk.exec_create(tty_container, ["sleep", "60"], tty=True, stdin=True)["Id"]
    sdk.exec_start(exec_id, detach=True, tty=True)
    return exec_id


def _requires(request: pytest.FixtureRequest, *needs: str) -> None:
    missing = skip_reason(request.config, needs)
    if missing:
        skips.skip(*missing)


@pytest.fixture
def registry(request: pytest.FixtureRequest) -> str:
    _requires(request, "registry")
    return str(registries(request.config).open)


@pytest.fixture
def registry_auth(request: pytest.FixtureRequest) -> dict[str, str]:
    """{registry_auth.address}, .user, .password, .header (X-Registry-Auth), .bad_header (wrong password)."""
    _requires(request, "registry-auth")
    reg = registries(request.config)
    return {"address": str(reg.auth), "user": str(reg.user), "password": str(reg.password),
            "header": reg.auth_header(), "bad_header": reg.auth_header(password="dac-wrong-password")}


def _tag_for(request: pytest.FixtureRequest, image_ref: ObjectRef, registry_address: str) -> dict[str, str]:
    """Tag an own image for a registry: {x.ref} "HOST:PORT/repo:v1", {x.repo}, {x.tag}."""
    sdk = _state(request).sdk
    repo = f"{registry_address}/{image_ref.name.split(':')[0]}"
    sdk.tag(image_ref, repo, "v1")
    request.addfinalizer(lambda: _quietly(sdk.remove_image, f"{repo}:v1"))
    return {"ref": f"{repo}:v1", "repo": repo, "tag": "v1"}


def _push(request: pytest.FixtureRequest, tagged: dict[str, str], auth: dict[str, str] | None = None) -> None:
    output = "".join(str(line) for line in _state(request).sdk.push(
        tagged["repo"], tag=tagged["tag"], stream=True, decode=True, auth_config=auth))
    if "error" in output.lower():
        pytest.fail(f"precondition: push of {tagged['ref']} failed: {output[-300:]}")


@pytest.fixture
def registry_image(request: pytest.FixtureRequest, registry: str, own_image: ObjectRef) -> dict[str, str]:
    """own_image tagged for the open registry, not pushed yet ({registry_image.ref}, .repo, .tag)."""
    return _tag_for(request, own_image, registry)


@pytest.fixture
def pushed_image(request: pytest.FixtureRequest, registry_image: dict[str, str]) -> dict[str, str]:
    """registry_image, pushed."""
    _push(request, registry_image)
    return registry_image


@pytest.fixture
def registry_image_auth(request: pytest.FixtureRequest, registry_auth: dict[str, str],
                        own_image: ObjectRef) -> dict[str, str]:
    """own_image tagged for the auth registry, not pushed yet."""
    return _tag_for(request, own_image, registry_auth["address"])


@pytest.fixture
def pushed_image_auth(request: pytest.FixtureRequest, registry_auth: dict[str, str],
                      registry_image_auth: dict[str, str]) -> dict[str, str]:
    """own_image pushed to the auth registry (with credentials)."""
    _push(request, registry_image_auth, {"username": registry_auth["user"], "password": registry_auth["password"]})
    return registry_image_auth


# --- swarm-mode objects (scenarios that need them require swarm-manager) ---------------------------------

def _version_and_spec(found: dict[str, Any]) -> dict[str, Any]:
    """What an update needs of a swarm object: its version index and its spec as it is."""
    return {"version": found["Version"]["Index"], "spec": found["Spec"]}


@pytest.fixture
def node_id(request: pytest.FixtureRequest) -> str:
    _requires(request, "swarm-manager")
    return _state(request).sdk.info()["Swarm"]["NodeID"]


@pytest.fixture
def node(request: pytest.FixtureRequest, node_id: str) -> dict[str, Any]:
    """{node.id}, {node.version}, {node.spec}: this node, for a no-change NodeUpdate."""
    return {"id": node_id, **_version_and_spec(_state(request).sdk.inspect_node(node_id))}


@pytest.fixture
def swarm(request: pytest.FixtureRequest) -> dict[str, Any]:
    """{swarm.version}, {swarm.spec}: the swarm as it is, for a no-change SwarmUpdate."""
    _requires(request, "swarm-manager")
    return _version_and_spec(_state(request).sdk.inspect_swarm())


@pytest.fixture
def service(request: pytest.FixtureRequest) -> Iterator[str]:
    """A labelled replicated service of one task running the test image."""
    _requires(request, "swarm-manager")
    state = _state(request)
    sdk = state.sdk
    name = unique_name(state, "svc")
    task = docker.types.TaskTemplate(docker.types.ContainerSpec(state.image, command=KEEP_ALIVE, labels=state.label),
                                     restart_policy=docker.types.RestartPolicy(condition="none"))
    created = sdk.create_service(task, name=name, labels=state.label)
    try:
        yield ObjectRef(created["ID"], name)
    finally:
        _quietly(sdk.remove_service, created["ID"])


@pytest.fixture
def service_spec(request: pytest.FixtureRequest, service: ObjectRef) -> dict[str, Any]:
    """{service_spec.version}, {service_spec.spec}: the service as it is, for a ServiceUpdate."""
    return _version_and_spec(_state(request).sdk.inspect_service(service))


@pytest.fixture
def task(request: pytest.FixtureRequest, service: ObjectRef) -> str:
    """A task of `service` (waits up to 15 s for the orchestrator to create it)."""
    sdk = _state(request).sdk
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        tasks = sdk.tasks(filters={"service": service.name})
        if tasks:
            return tasks[0]["ID"]
        time.sleep(0.2)
    pytest.fail(f"precondition: service {service.name} has no task after 15 s")


def _swarm_data_object(request: pytest.FixtureRequest, kind: str) -> Iterator[ObjectRef]:
    """A labelled secret or config (same API shape), removed afterwards."""
    _requires(request, "swarm-manager")
    state = _state(request)
    sdk = state.sdk
    create, remove = getattr(sdk, f"create_{kind}"), getattr(sdk, f"remove_{kind}")
    name = unique_name(state, kind)
    created = create(name, f"dac-{kind}-data".encode(), labels=state.label)
    try:
        yield ObjectRef(created["ID"], name)
    finally:
        _quietly(remove, created["ID"])


@pytest.fixture
def secret(request: pytest.FixtureRequest) -> Iterator[ObjectRef]:
    yield from _swarm_data_object(request, "secret")


@pytest.fixture
def secret_spec(request: pytest.FixtureRequest, secret: ObjectRef) -> dict[str, Any]:
    return _version_and_spec(_state(request).sdk.inspect_secret(secret))


@pytest.fixture
def swarm_config(request: pytest.FixtureRequest) -> Iterator[ObjectRef]:
    yield from _swarm_data_object(request, "config")


@pytest.fixture
def swarm_config_spec(request: pytest.FixtureRequest, swarm_config: ObjectRef) -> dict[str, Any]:
    return _version_and_spec(_state(request).sdk.inspect_config(swarm_config))


def sweep(state: SuiteState) -> dict[str, int]:
    """Remove this run's labelled objects; an xdist worker removes only those named for it (others still run)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    selector = Selector(run_id=state.run_id, name_token=f"-{worker}-" if worker else None)
    try:
        return remove_labelled(state.sdk, selector).counts
    except (docker.errors.APIError, OSError, requests.exceptions.RequestException):
        return {}  # the target went away: nothing more to do here


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # Runs after failures and after Ctrl-C as well; the controller (or a serial run) sweeps the whole run.
    state = get_state(session.config)
    if state is not None:
        sweep(state)
