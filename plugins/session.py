"""The suite's session: connect to the target, pick versions, parametrize, record outcomes.

Active only when the run collects the conformance suites (so `pytest selftests` never needs a
target).  Bad input ends the run with one pytest usage error, never a storm of failures.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import docker
import pytest

from conformance.cleanup import RUN_LABEL
from conformance.expectations import ERRATA, ExpectationBook, ExpectationsError, kind_profile, profile_label
from conformance.image import ImageUnavailable, ensure_image
from conformance.normalize import SpecError
from conformance.placement import UNPINNED, Placement, placement_for
from conformance.promises import Promise, PromiseError, catalogue
from conformance.promises import validate as validate_promises
from conformance.recorder import USER_PROPERTY, results_document, write_results
from conformance.redact import register_secret
from conformance.scenarios import Scenario, ScenarioError, load_scenarios
from conformance.spec import SpecCatalog
from conformance.target import TargetConfig, TargetError, TargetInfo, identify, open_client, resolve
from conformance.versions import Selection, VersionError, select

ROOT = Path(__file__).resolve().parent.parent
SUITES = ROOT / "suites"
STATE_KEY = pytest.StashKey["SuiteState"]()
WORKER_LABEL = "com.docker-api-conformance.worker"
DIST_KEY = "dac_dist"  # the controller's --dist, for its xdist workers


@dataclass
class SuiteState:
    config: TargetConfig
    url: str  # where we connect (the fake's own address when the target is the fake)
    api: docker.APIClient
    target: TargetInfo
    catalog: SpecCatalog
    selection: Selection
    book: ExpectationBook
    scenarios: dict[str, list[Scenario]]
    image: str
    image_provisioning: str
    run_id: str
    worker: str
    allow_global_changes: bool
    reports_dir: Path
    fake: Any = None  # the embedded fake engine, when the target is one
    placement: Placement = UNPINNED  # where fixtures put their objects (multi-node targets)
    max_body_bytes: int = 8 * 1024 * 1024  # --max-body-bytes: where the suite stops reading a body
    promises: list[Promise] = field(default_factory=list)  # the catalogue (suites/promises), validated
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> dict[str, str]:
        """Labels of every object this run creates; the run label comes first (cleanup selects by it).

        The worker label keeps one xdist worker's label-filtered prune off another worker's objects.
        """
        return {RUN_LABEL: self.run_id, WORKER_LABEL: f"{self.run_id}-{self.worker}"}

    def results(self) -> dict[str, Any]:
        """The session's results document (written as results.json; the matrix is built from it)."""
        meta = {"api_versions": list(self.selection.run), "not_applicable": list(self.selection.not_applicable),
                "run_id": self.run_id, "image": self.image}
        return results_document(self.target.as_dict(), meta, self.outcomes)

    @cached_property
    def sdk(self) -> docker.APIClient:
        """SDK client for preconditions, at the highest version both sides know."""
        version = self.target.api_max or (self.selection.run or self.catalog.versions)[-1]
        return open_client(self.config, self.url, version)


def _module_path(name: str) -> Path | None:
    """Where `pytest --pyargs NAME` collects from (None when NAME is no importable module)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin) if spec.origin else None


def is_active(config: pytest.Config) -> bool:
    """True when the collected paths include the conformance suites (also as `--pyargs suites...`)."""
    pyargs = bool(getattr(config.option, "pyargs", False))
    for arg in config.args or [str(SUITES)]:
        text = str(arg).split("::")[0]
        path = Path(text).resolve()
        if pyargs and not path.exists():
            path = (_module_path(text) or path).resolve()
        if path == SUITES or SUITES in path.parents or path in SUITES.parents:
            return True
    return False


def get_state(config: pytest.Config) -> SuiteState | None:
    return config.stash.get(STATE_KEY, None)


def _start_fake(config: TargetConfig, api_range: tuple[str, str], faults: list[str], swarm: str,
                nulls: str) -> Any:
    from conformance.fake import FAULTS, KINDS, start_fake

    kind = config.url.partition(":")[2] or "docker"
    if kind not in KINDS:
        raise TargetError(f"--target {config.url}: the embedded fake comes as {', '.join('fake:' + k for k in KINDS)}")
    unknown = [f for f in faults if f not in FAULTS and not f.startswith(f"{kind}:")]
    if unknown:
        raise TargetError(f"--fake-fault {', '.join(unknown)}: unknown fault (known: {', '.join(sorted(FAULTS))})")
    return start_fake(min_api=api_range[0], max_api=api_range[1], kind=kind, faults=faults,
                      swarm=swarm if kind == "docker" else "inactive", nulls=nulls)


def own_fake(state: SuiteState, swarm: str = "inactive") -> SuiteState:
    """The session on a new embedded fake of its own (same API range and faults; stop it with `.fake.stop()`):
    for a flow that changes the engine as a whole, so that it leaves the session's fake as it is."""
    from conformance.fake import start_fake

    if state.fake is None:
        raise ValueError("own_fake needs a session whose target is the embedded fake")
    fake = start_fake(min_api=state.catalog.versions[0], max_api=state.catalog.versions[-1],
                      faults=set(state.fake.faults), swarm=swarm, nulls=getattr(state.fake.engine, "nulls", "spec"))
    register_secret(fake.registries["password"])
    return replace(state, url=fake.url, api=open_client(state.config, fake.url), fake=fake)


def _run_id(config: pytest.Config) -> str:
    # xdist workers share the controller's id through the environment it sets before spawning them.
    given = config.getoption("--run-id") or os.environ.get("DAC_RUN_ID")
    if not given:
        given = secrets.token_hex(4)
        os.environ["DAC_RUN_ID"] = given
    return given


def _build_state(config: pytest.Config) -> SuiteState:
    opt = config.getoption
    target_config = resolve(
        opt("--target"), tls=opt("--tls"), tls_verify=opt("--tls-verify"), tls_ca=opt("--tls-ca"),
        tls_cert=opt("--tls-cert"), tls_key=opt("--tls-key"), kind_override=opt("--target-kind"),
        timeout=opt("--request-timeout"),
    )
    spec_path = opt("--spec")
    catalog = SpecCatalog(user_spec=Path(spec_path)) if spec_path else SpecCatalog()
    fake = None
    url = target_config.url
    if target_config.is_fake:
        fake = _start_fake(target_config, (catalog.versions[0], catalog.versions[-1]), opt("--fake-fault"),
                           opt("--fake-swarm"), opt("--fake-nulls"))
        url = fake.url
        register_secret(fake.registries["password"])
        if opt("--registry-auth") and opt("--registry-user"):  # the fake stands for the user's registry too
            fake.require_login(opt("--registry-auth"), opt("--registry-user"), opt("--registry-password") or "")
    elif opt("--fake-fault"):
        raise TargetError("--fake-fault only applies to --target fake")
    api = open_client(target_config, url)
    info = identify(api, target_config, url if not fake else target_config.url)
    selection = select(opt("--api-version"), catalog.versions, info.api_min, info.api_max)
    if not selection.run:
        raise VersionError(f"--api-version {opt('--api-version')}: {', '.join(selection.not_applicable)} "
                           f"outside the target's API range {info.api_min}-{info.api_max}: not applicable, "
                           "nothing to run")
    errata = Path(opt("--errata")) if opt("--errata") else ERRATA
    book = ExpectationBook.load(errata, [Path(p) for p in opt("--deviations")], info.kind)
    book.validate(catalog)
    promises = list(catalogue().values())
    validate_promises(promises, catalog)
    try:
        placement = placement_for(kind_profile(info.kind), api.info, profile_label(info.kind))
    except docker.errors.APIError as exc:
        raise TargetError(f"could not read /info for the placement of objects: {exc.explanation}") from exc
    image = opt("--image")
    try:
        provisioning = ensure_image(api, image)
    except ImageUnavailable as exc:
        raise TargetError(str(exc)) from exc
    except docker.errors.APIError as exc:
        raise TargetError(f"could not check or provision the test image {image!r}: {exc.explanation}") from exc
    return SuiteState(
        config=target_config, url=url, api=api, target=info, catalog=catalog, selection=selection, book=book,
        scenarios=load_scenarios(), image=image, image_provisioning=provisioning, run_id=_run_id(config),
        worker=os.environ.get("PYTEST_XDIST_WORKER", "main"),
        # The embedded fake is the run's own engine (each process starts one): nothing of a user's to protect.
        allow_global_changes=opt("--allow-global-changes") or fake is not None,
        reports_dir=Path(opt("--reports-dir")), fake=fake, placement=placement,
        max_body_bytes=opt("--max-body-bytes"), promises=promises,
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not is_active(config) or config.option.help or config.option.version:
        return
    try:
        state = _build_state(config)
    except (TargetError, VersionError, SpecError, ExpectationsError, ScenarioError, PromiseError) as exc:
        raise pytest.UsageError(f"docker-api-conformance: {exc}") from None
    config.stash[STATE_KEY] = state
    if getattr(config.option, "dist", "no") == "load" and not hasattr(config, "workerinput"):
        # -n N: keep each xdist_group (the swarm-mode flow) on one worker, whose engine (its own embedded
        # fake, or the shared target) it turns into a manager and back.  Workers learn it from their
        # workerinput (pytest_configure_node below): they name grouped tests for the scheduler.
        config.option.dist = "loadgroup"
    if getattr(config, "workerinput", {}).get(DIST_KEY) == "loadgroup":
        config.option.loadgroup = True
    config.pluginmanager.register(SessionPlugin(state), "dac-session")
    config.add_cleanup(lambda: state.fake.stop() if state.fake else None)


class SessionPlugin:
    """Registered once the target is known: header lines, outcome gathering, results.json."""

    def __init__(self, state: SuiteState):
        self.state = state

    def pytest_report_header(self) -> list[str]:
        state = self.state
        spec_from = f", from --spec {state.catalog.user_spec}" if state.catalog.user_spec else ""
        lines = [state.target.header_line(),
                 f"api versions: {', '.join(state.selection.run) or '(none)'} "
                 f"(spec data: {state.catalog.versions[0]}-{state.catalog.versions[-1]}{spec_from}); "
                 f"test image: {state.image} ({state.image_provisioning}); run label: {RUN_LABEL}={state.run_id}"]
        if state.placement.note:
            lines.append(f"placement: {state.placement.note}")
        if state.selection.not_applicable:
            lines.append("not applicable (outside the target's API range): "
                         + ", ".join(state.selection.not_applicable))
        return lines

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[DIST_KEY] = node.config.option.dist

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # On the controller this sees every worker's reports, with their user_properties.
        for name, value in report.user_properties:
            if name == USER_PROPERTY and report.when == "call":
                self.state.outcomes.append({**value, "nodeid": report.nodeid, "test_outcome": report.outcome})

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if os.environ.get("PYTEST_XDIST_WORKER"):
            return
        write_results(self.state.reports_dir / "results.json", self.state.results())
