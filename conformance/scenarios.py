"""Scenarios as data: operationId -> requests with their preconditions and expected statuses.

Files: suites/scenarios/<tag>.yaml, a mapping `OperationId: [scenario, ...]`.  A scenario:

    name: ok                      # test id suffix ("ok" is omitted from the id)
    needs: [container]            # precondition fixtures (see plugins/fixtures.py)
    path: {id: "{container}"}     # "{fixture}" or "{fixture.Key}" placeholders
    query: {all: true}
    headers: {}
    body: {...}                   # JSON body; or raw_body: "text" for malformed input
    body_tar: {files: {Dockerfile: "FROM {image}\n"}}   # a tar built from rendered files (binary bodies)
    body_fixture: saved_image     # bytes a fixture provides (e.g. an image tar for ImageLoad)
    expect: [200]                 # statuses this scenario may produce
    versions: 1.25-1.56           # optional range where the scenario applies
    requires: [global-changes]    # capabilities, see KNOWN_REQUIRES (resolved in plugins/safety.py)
    read_seconds: 10              # time limit for reading the response
    retry: {status: 409, message: "already running", attempts: 10, wait: 0.5}
                                  # send again (up to `attempts` sends in all, `wait` s apart) while the answer
                                  # is that status with that text in its body (a transient engine-wide state)
    checks: [event_filter]        # checks of the response beyond the standard ones (streams.SCENARIO_CHECKS)
"""

from __future__ import annotations

import io
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance.spec import Operation, Spec
from conformance.streams import SCENARIO_CHECKS
from conformance.versions import VersionError, parse, parse_range

SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "suites" / "scenarios"
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}")
KNOWN_REQUIRES = (
    "global-changes",  # --allow-global-changes: engine-wide effect (swarm init/leave, plugins, daemon settings)
    "registry", "registry-auth",  # --registry / --registry-auth: a local registry to push to and pull from
    "swarm-manager", "not-swarm-manager", "swarm-inactive",  # from /info Swarm (LocalNodeState, ControlAvailable)
    "docker-engine",  # the target identifies as Docker Engine (behaviour the scenario relies on is Docker's)
    "image-index",  # --image-index: the engine reaches its image index (Docker Hub by default) for search
    "containerd-image-store", "graphdriver-image-store",  # from /info DriverStatus (plugins/safety.py image_store)
    "swarm-peer",  # --swarm-peer: a second engine to join a swarm with (the embedded fake brings its own)
    "engine-container-lookup",  # the Engine's own container lookup answers (a kind's profile may lack it)
)


class ScenarioError(ValueError):
    """A malformed scenario file."""


@dataclass(frozen=True)
class Retry:
    """When to send a scenario's request again: `status` with `message` in the body, up to `attempts` sends."""

    status: int
    message: str
    attempts: int
    wait: float

    def wanted(self, status: int, body: bytes) -> bool:
        return status == self.status and self.message.encode() in body


RETRY_FIELDS = {"status": int, "message": str, "attempts": int, "wait": (int, float)}


def _retry(raw: Any, where: str) -> Retry | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != set(RETRY_FIELDS):
        raise ScenarioError(f"{where}: retry needs exactly {{{', '.join(RETRY_FIELDS)}}} (got {raw!r})")
    bad = [k for k, kind in RETRY_FIELDS.items() if not isinstance(raw[k], kind) or isinstance(raw[k], bool)]
    if bad or raw["attempts"] < 1 or raw["wait"] < 0 or not raw["message"]:
        raise ScenarioError(f"{where}: retry: bad {', '.join(bad) or 'attempts, wait or message'} in {raw!r} "
                            "(status: int, message: non-empty text, attempts: >= 1, wait: seconds >= 0)")
    return Retry(raw["status"], raw["message"], raw["attempts"], float(raw["wait"]))


@dataclass(frozen=True)
class Scenario:
    operation: str
    name: str = "ok"
    needs: tuple[str, ...] = ()
    path: dict[str, Any] = field(default_factory=dict, hash=False)
    query: dict[str, Any] = field(default_factory=dict, hash=False)
    headers: dict[str, Any] = field(default_factory=dict, hash=False)
    body: Any = field(default=None, hash=False)
    raw_body: str | None = None
    body_tar: dict[str, Any] | None = field(default=None, hash=False)
    body_fixture: str | None = None
    expect: tuple[int, ...] = (200,)
    versions: tuple[str, str] = ("1.0", "9.99")
    requires: tuple[str, ...] = ()
    read_seconds: float | None = None
    retry: Retry | None = None
    checks: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.operation if self.name == "ok" else f"{self.operation}-{self.name}"

    def applies_to(self, version: str) -> bool:
        return parse(self.versions[0]) <= parse(version) <= parse(self.versions[1])


def _scenario(op_id: str, raw: Any, where: str) -> Scenario:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: {op_id}: each scenario must be a mapping")
    expect = raw.get("expect", [200])
    expect = (expect,) if isinstance(expect, int) else tuple(int(s) for s in expect)
    try:
        versions = parse_range(raw.get("versions"))
    except VersionError as exc:
        raise ScenarioError(f"{where}: {op_id}: {exc}") from exc
    bodies = [k for k in ("body", "raw_body", "body_tar", "body_fixture") if raw.get(k) is not None]
    if len(bodies) > 1:
        raise ScenarioError(f"{where}: {op_id}: one body only (got {', '.join(bodies)})")
    body_tar = raw.get("body_tar")
    if body_tar is not None and not isinstance((body_tar or {}).get("files"), dict):
        raise ScenarioError(f"{where}: {op_id}: body_tar needs `files: {{path: text}}`")
    requires = tuple(raw.get("requires", ()))
    unknown = [r for r in requires if r not in KNOWN_REQUIRES]
    if unknown:
        raise ScenarioError(f"{where}: {op_id}: unknown requires {unknown} (known: {KNOWN_REQUIRES})")
    checks = tuple(raw.get("checks", ()))
    unknown = [c for c in checks if c not in SCENARIO_CHECKS]
    if unknown:
        raise ScenarioError(f"{where}: {op_id}: unknown checks {unknown} (known: {', '.join(SCENARIO_CHECKS)})")
    return Scenario(
        operation=op_id, name=str(raw.get("name", "ok")), needs=tuple(raw.get("needs", ())),
        path=dict(raw.get("path") or {}), query=dict(raw.get("query") or {}),
        headers=dict(raw.get("headers") or {}), body=raw.get("body"), raw_body=raw.get("raw_body"),
        body_tar=body_tar, body_fixture=raw.get("body_fixture"),
        expect=expect, versions=versions, requires=requires,
        read_seconds=raw.get("read_seconds"), retry=_retry(raw.get("retry"), f"{where}: {op_id}"), checks=checks,
    )


def load_scenarios(folder: Path = SCENARIOS_DIR) -> dict[str, list[Scenario]]:
    """All scenarios, keyed by operationId; names are unique per operation."""
    registry: dict[str, list[Scenario]] = {}
    for path in sorted(folder.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text()) or {}
        if not isinstance(raw, dict):
            raise ScenarioError(f"{path}: expected a mapping OperationId -> scenarios")
        for op_id, items in raw.items():
            if op_id.startswith("."):
                continue  # `.name: &anchor [...]` holds scenarios shared by several operationIds
            if op_id in registry:
                raise ScenarioError(f"{path}: {op_id} is also defined in another scenario file")
            scenarios = [_scenario(op_id, item, str(path)) for item in (items or [])]
            names = [s.name for s in scenarios]
            if len(set(names)) != len(names):
                raise ScenarioError(f"{path}: {op_id}: duplicate scenario names {names}")
            registry[op_id] = scenarios
    return registry


def _lookup(context: dict[str, Any], dotted: str) -> Any:
    head, *rest = dotted.split(".")
    if head not in context:
        raise KeyError(f"placeholder {{{dotted}}} names no precondition (have: {sorted(context)})")
    value = context[head]
    for key in rest:
        value = value[key] if isinstance(value, dict) else getattr(value, key)
    return value


def render(template: Any, context: dict[str, Any]) -> Any:
    """Fill placeholders; a string that is one whole placeholder keeps the value's type."""
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return _lookup(context, whole.group(1))
        return _PLACEHOLDER.sub(lambda m: str(_lookup(context, m.group(1))), template)
    if isinstance(template, dict):
        return {render(k, context): render(v, context) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, context) for v in template]
    return template


def _resolve(spec: Spec, schema: dict[str, Any] | None) -> dict[str, Any] | None:
    seen = 0
    while schema and "$ref" in schema and seen < 20:
        schema = spec.definitions.get(schema["$ref"].rsplit("/", 1)[-1])
        seen += 1
    return schema


def declared_properties(spec: Spec, schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """Property name -> schema a body schema declares (through $ref and allOf); None = open/unknown."""
    schema = _resolve(spec, schema)
    if not schema:
        return None
    props: dict[str, Any] = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        sub = declared_properties(spec, part)
        if sub is None:
            return None
        props.update(sub)
    return props or None  # no declared properties: open (a map, or undescribed)


def body_properties(spec: Spec, schema: dict[str, Any] | None) -> set[str] | None:
    """Top-level property names a body schema declares; None = open/unknown."""
    props = declared_properties(spec, schema)
    return None if props is None else set(props)


def shape_body(spec: Spec, schema: dict[str, Any] | None, body: Any) -> Any:
    """Drop object fields this version's schema does not declare, at every depth it describes."""
    if not isinstance(body, dict):
        return body
    props = declared_properties(spec, schema)
    if props is None:
        return body  # a free-form map (labels, options): keep as written
    return {k: shape_body(spec, props[k], v) for k, v in body.items() if k in props}


def shape_for_version(spec: Spec, op: Operation, query: dict[str, Any], body: Any) -> tuple[dict[str, Any], Any]:
    """Drop query parameters and body fields (at any depth) that this version's spec does not declare.

    Scenarios are written once; a parameter or field introduced at version N is then only sent at >= N.
    """
    declared = {p.name for p in op.parameters if p.location == "query"}
    shaped_query = {k: v for k, v in query.items() if k in declared}
    return shaped_query, shape_body(spec, op.body_schema, body)


def tar_bytes(files: dict[str, Any]) -> bytes:
    """A tar archive of {path: text or bytes}; directories come from the paths (for binary request bodies)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in files.items():
            data = content if isinstance(content, bytes) else str(content).encode()
            info = tarfile.TarInfo(str(name))
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
