"""Safety and reach of the run: capabilities (`requires:`), the prune guard, registries, stale cleanup,
operation coverage (which operations have no scenario) and (operation, status) coverage.

Options: --cleanup-stale, --registry, --registry-auth, --registry-user, --registry-password, --swarm-peer,
--swarm-peer-addr.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import pytest

from conformance import coverage, skips
from conformance.cleanup import RUN_LABEL, Selector, remove_labelled
from conformance.expectations import kind_profile, load_ineligible, profile_label
from conformance.redact import register_secret
from plugins.parametrize import missing_scenarios
from plugins.session import SuiteState, get_state

CAPABILITIES_KEY = pytest.StashKey[dict]()
PRUNE_OPERATIONS = ("ContainerPrune", "ImagePrune", "NetworkPrune", "VolumePrune", "BuildPrune")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("docker-api-conformance")
    group.addoption("--cleanup-stale", action="store_true", default=False,
                    help="remove objects left by earlier (killed) runs, selected by the run label (any value, "
                         "or --run-id's only), then exit")
    group.addoption("--registry", default=os.environ.get("DAC_REGISTRY"), metavar="HOST:PORT",
                    help="an open registry the engine can push to (e.g. scripts/registry-up); $DAC_REGISTRY")
    group.addoption("--image-index", action="store_true", default=False,
                    help="the engine can reach its image index (ImageSearch runs; without it the scenario is skipped)")
    group.addoption("--registry-auth", default=os.environ.get("DAC_REGISTRY_AUTH"), metavar="HOST:PORT",
                    help="a registry with basic auth (htpasswd); $DAC_REGISTRY_AUTH")
    group.addoption("--swarm-peer", default=os.environ.get("DAC_SWARM_PEER"), metavar="URL",
                    help="a second engine, outside any swarm, that the target reaches over the network: SwarmJoin "
                         "joins its swarm and NodeDelete removes it from the target's (the embedded fake brings "
                         "its own); $DAC_SWARM_PEER")
    group.addoption("--swarm-peer-addr", default=os.environ.get("DAC_SWARM_PEER_ADDR"), metavar="IP",
                    help="the address the target reaches --swarm-peer at (its swarm's advertise address; default "
                         "its URL's host, 127.0.0.1 for a unix socket); $DAC_SWARM_PEER_ADDR")
    group.addoption("--registry-user", default=os.environ.get("DAC_REGISTRY_USER"), metavar="USER")
    group.addoption("--registry-password", default=os.environ.get("DAC_REGISTRY_PASSWORD"), metavar="PASSWORD",
                    help="password for --registry-auth (never written to reports); $DAC_REGISTRY_PASSWORD")


@dataclass(frozen=True)
class Registries:
    open: str | None
    auth: str | None
    user: str | None
    password: str | None

    def auth_header(self, password: str | None = None) -> str:
        """X-Registry-Auth: base64url JSON of the credentials for the auth registry."""
        creds = {"username": self.user or "", "password": password if password is not None else self.password or "",
                 "serveraddress": self.auth or ""}
        return base64.urlsafe_b64encode(json.dumps(creds).encode()).decode()


def registries(config: pytest.Config) -> Registries:
    """The registries the options name; against the embedded fake, its own stand in for those not named."""
    opt = config.getoption
    given = Registries(opt("--registry"), opt("--registry-auth"), opt("--registry-user"), opt("--registry-password"))
    state = get_state(config)
    own = state.fake.registries if state is not None and state.fake is not None else None
    if not own:
        return given
    auth = (given.auth, given.user, given.password) if given.auth else (own["auth"], own["user"], own["password"])
    return Registries(given.open or own["open"], *auth)


def pytest_configure(config: pytest.Config) -> None:
    register_secret(config.getoption("--registry-password"))


# --- capabilities: what `requires:` names, and why a scenario is skipped without it -------------------------

def swarm_info(state: SuiteState) -> dict[str, Any]:
    """/info's Swarm block ({} when the target does not answer it)."""
    return _info(state).get("Swarm") or {}


def _info(state: SuiteState) -> dict[str, Any]:
    try:
        return state.api.info() or {}
    except docker.errors.APIError:
        return {}


# moby daemon/containerd (the containerd image store) reports its snapshotter in /info's DriverStatus as
# ["driver-type", "io.containerd.snapshotter.v1"]; the graphdriver store reports the driver's own status.
CONTAINERD_SNAPSHOTTER = ["driver-type", "io.containerd.snapshotter.v1"]


def image_store(info: dict[str, Any]) -> str:
    """'containerd' or 'graphdriver' (from /info), '' when the target answers no Driver."""
    if not info.get("Driver"):
        return ""
    return "containerd" if CONTAINERD_SNAPSHOTTER in (info.get("DriverStatus") or []) else "graphdriver"


def is_swarm_manager(swarm: dict[str, Any]) -> bool:
    return swarm.get("LocalNodeState") == "active" and bool(swarm.get("ControlAvailable"))


Missing = tuple[str, str]  # (skip category of conformance/skips.py, reason)

# Needs that the embedded fake, a swarm manager, meets with a twin of its own outside swarm mode: the
# scenarios that require them are sent there (plugins/calls.py `engine`).
OUTSIDE_SWARM = ("not-swarm-manager", "swarm-inactive")


def needs_outside_swarm_twin(state: SuiteState | None, requires: tuple[str, ...]) -> bool:
    """Whether a scenario with these requirements runs on the fake's twin outside swarm mode."""
    return (state is not None and state.fake is not None and bool(set(requires) & set(OUTSIDE_SWARM))
            and is_swarm_manager(swarm_info(state)))


def target_lacks(state: SuiteState | None) -> dict[str, str]:
    """Capabilities the target declares it lacks, capability -> why: the `lacks:` mapping of its kind's
    profile (schemas/deviations/<kind>.yaml), then what the running target itself declares (`lacks`)."""
    if state is None:
        return {}
    profile = kind_profile(state.target.kind).get("lacks") or {}
    if not isinstance(profile, dict):
        raise pytest.UsageError(f"{profile_label(state.target.kind)}: `lacks:` must map capability -> reason")
    declared = getattr(state.fake, "lacks", None) or {}
    return {str(k): f"{v} ({profile_label(state.target.kind)})" for k, v in profile.items()} | dict(declared)


def target_provides(state: SuiteState | None) -> tuple[str, ...]:
    """Capabilities the running target declares it stands for beyond the session's options (the embedded
    fake: its registry is an image index; a twin outside swarm mode meets the not-a-manager needs)."""
    return tuple(getattr(state.fake, "provides", ())) if state is not None else ()


def capabilities(config: pytest.Config) -> dict[str, Missing | None]:
    """requirement -> None when this session provides it, else (skip category, reason) (computed once per process)."""
    cached = config.stash.get(CAPABILITIES_KEY, None)
    if cached is not None:
        return cached
    state = get_state(config)
    reg = registries(config)
    info = _info(state) if state else {}
    swarm = info.get("Swarm") or {}
    store = image_store(info)
    node_state = swarm.get("LocalNodeState", "unknown")
    manager = is_swarm_manager(swarm)
    kind = state.target.kind if state else "unknown"
    caps: dict[str, Missing | None] = {
        "global-changes": None if state and state.allow_global_changes else (skips.NOT_OPTED_IN,
        "changes the whole engine (swarm, plugins, unfiltered prune): run with --allow-global-changes"),
        "registry": None if reg.open else (skips.NEEDS_CAPABILITY, "needs a registry the engine can reach: pass "
                                           "--registry HOST:PORT (scripts/registry-up starts one)"),
        "registry-auth": None if reg.auth and reg.user and reg.password is not None else (skips.NEEDS_CAPABILITY,
        "needs a registry with basic auth: pass --registry-auth HOST:PORT --registry-user U --registry-password P"),
        "swarm-manager": None if manager else
        (skips.PRECONDITION, f"needs a swarm manager (this node's swarm state: {node_state})"),
        "not-swarm-manager": None if not manager else
        (skips.PRECONDITION, "needs a node that is not a swarm manager (this one is)"),
        "swarm-inactive": None if node_state == "inactive" else
        (skips.PRECONDITION, f"needs a node outside any swarm (this node's swarm state: {node_state})"),
        "docker-engine": None if kind == "docker" else
        (skips.NEEDS_CAPABILITY, f"relies on Docker Engine behaviour (target kind: {kind})"),
        "image-index": None if config.getoption("--image-index") else (skips.NEEDS_CAPABILITY,
        "needs an image index the engine can reach (Docker Hub by default): pass --image-index"),
        "engine-container-lookup": None,  # unless the target's kind profile lacks it (target_lacks)
        "swarm-peer": None if config.getoption("--swarm-peer") else
        (skips.NEEDS_CAPABILITY, "needs a second engine the target reaches: pass --swarm-peer URL"),
        "containerd-image-store": None if store == "containerd" else
        (skips.PRECONDITION, f"needs the containerd image store (this engine's: {store or 'unknown'})"),
        "graphdriver-image-store": None if store == "graphdriver" else
        (skips.PRECONDITION, f"needs the graphdriver image store (this engine's: {store or 'unknown'})"),
    }
    caps.update(dict.fromkeys(target_provides(state)))
    for need, why in target_lacks(state).items():
        caps[need] = (skips.NEEDS_CAPABILITY, f"the target lacks {need}: {why}")
    config.stash[CAPABILITIES_KEY] = caps
    return caps


def skip_reason(config: pytest.Config, requires: tuple[str, ...]) -> Missing | None:
    """(skip category, reason) for the first requirement this session does not provide; None when all are."""
    caps = capabilities(config)
    for need in requires:
        missing = caps.get(need, (skips.NEEDS_CAPABILITY, f"requires {need}, which this session does not provide"))
        if missing:
            return missing
    return None


# --- the prune guard ---------------------------------------------------------------------------------------

def _label_values(filters: Any) -> list[str]:
    if isinstance(filters, str):
        try:
            filters = json.loads(filters)
        except ValueError:
            return []
    if not isinstance(filters, dict):
        return []
    labels = filters.get("label")
    if isinstance(labels, dict):  # the old {"label": {"k=v": true}} form
        return [k for k, v in labels.items() if v]
    return [str(v) for v in labels] if isinstance(labels, list) else []


def prune_refusal(op_id: str, query: dict[str, Any], run_id: str, allow_global: bool) -> str | None:
    """Why this request must not be sent: a prune not limited to this run's label (unless allowed)."""
    if op_id not in PRUNE_OPERATIONS or allow_global:
        return None
    wanted = f"{RUN_LABEL}={run_id}"
    if wanted in _label_values(query.get("filters")):
        return None
    return (f"refusing to send {op_id} without the filter label={wanted} (it would remove objects this run "
            "did not create); pass --allow-global-changes to allow it")


# --- operation coverage, stale cleanup, (operation, status) coverage -------------------------------------

def unaccounted(state: SuiteState) -> dict[str, list[str]]:
    """Per selected version: operations with neither a scenario nor an ineligible entry."""
    ineligible = load_ineligible()
    return {v: missing_scenarios(state.catalog, v, state.scenarios, ineligible) for v in state.selection.run}


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = get_state(config)
    if state is None:
        return []
    ineligible = load_ineligible()
    lines, sizes, skipped_any = [], [], set()
    for version, missing in unaccounted(state).items():
        spec_ops = state.catalog.get(version).operations
        skipped = sorted(op for op in spec_ops if op in ineligible and not state.scenarios.get(op))
        sizes.append(len(spec_ops))
        skipped_any |= set(skipped)
        line = f"operations at {version}: {len(spec_ops)}, ineligible {len(skipped)}"
        line += f" ({', '.join(skipped)})" if skipped else ""
        if missing:
            line += f"; WITHOUT scenario or ineligible entry: {', '.join(missing)}"
        if missing or config.get_verbosity() > 0 or (skipped and len(state.selection.run) == 1):
            lines.append(line)  # else one line for all versions below, or none when there is nothing to say
    if len(sizes) > 1 and not lines and skipped_any:  # one line for many versions (-v: one per version)
        names = f" ({', '.join(sorted(skipped_any))})" if skipped_any else ""
        lines.append(f"operations at {state.selection.run[0]}..{state.selection.run[-1]}: {min(sizes)}..{max(sizes)} "
                     f"per version, ineligible {len(skipped_any)}{names}")
    return lines


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if not config.getoption("--cleanup-stale"):
        return
    state = get_state(config)
    if state is None:
        raise pytest.UsageError("--cleanup-stale needs a target (run it on the suites: pytest suites --target URL)")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    # Any value of the run label (runs that were killed), or only --run-id's objects when it is given.
    removed = remove_labelled(state.sdk, Selector(run_id=config.getoption("--run-id")))
    details = "; ".join(f"{k}: {', '.join(v)}" for k, v in removed.objects.items())
    errors = f"; could not remove: {'; '.join(removed.errors)}" if removed.errors else ""
    pytest.exit(f"cleanup-stale: removed {removed.summary()} (label {RUN_LABEL}){': ' + details if details else ''}"
                f"{errors}", returncode=1 if removed.errors else 0)


def pair_coverage(state: SuiteState) -> dict[str, Any]:
    """(operation, status) coverage of this run's outcomes."""
    return coverage.compute(state.catalog, state.selection.run, state.outcomes)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    state = get_state(session.config)
    if state is None or os.environ.get("PYTEST_XDIST_WORKER") or not state.outcomes:
        return
    coverage.write(state.reports_dir / "coverage.json", pair_coverage(state))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    # The default summary (plugins/reporting.py) has coverage in one line; -v lists the missing pairs.
    state = get_state(config)
    if state is None or not state.outcomes or config.get_verbosity() <= 0:
        return
    terminalreporter.section("(operation, status) coverage")
    for line in coverage.summary_lines(pair_coverage(state), show_missing=200):
        terminalreporter.write_line(line)
