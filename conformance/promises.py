"""The promise catalogue: what the Engine API promises in words, as data (suites/promises/<tag>.yaml).

A file is `{tag: Container, promises: [...]}`; a promise:

    id: container-wait-exit-code      # stable, kebab-case, unique over the catalogue
    must: ContainerWait MUST answer the exit code of the container's process as StatusCode.
    source: {spec: "1.41", operation: ContainerWait}     # the spec passage that states it (operation or
                                      # definition), or {moby: daemon/wait.go, ref: v20.10.24} for behaviour
                                      # the Engine's source shows
    versions: 1.25-1.56               # API versions it applies to (default: every version)
    operations: [ContainerWait]       # what it exercises; the first is its cell in the matrix
    test: exit-code                   # the checker (suites/promise_checks, CHECKERS) that judges it
    with: {...}                       # the checker's parameters
    requires: [swarm-manager]         # session capabilities (conformance.scenarios.KNOWN_REQUIRES)
    violation:                        # an answer that breaks it, schema still valid (the fake's fault
      operation: ContainerWait        # `break-<id>`; the self-tests prove the promise fails on it):
      pointer: /StatusCode            #   a named edit of a 2xx JSON body (conformance/edits.py),
      edit: add:1                     #   or {operation: X, ignore_filter: key} (the request's filter dropped),
                                      #   or {fault: name} (a fault of conformance/fake/faults.py)

Each promise is one check of the registry, `promise:<id>`, so errata and deviations name it like any check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from conformance import edits
from conformance.datafiles import read_yaml
from conformance.scenarios import KNOWN_REQUIRES
from conformance.versions import VersionError, parse, parse_range

PROMISES_DIR = Path(__file__).resolve().parent.parent / "suites" / "promises"
TAGS = ("Container", "Image", "Network", "Volume", "Exec", "System", "Swarm", "Node", "Service", "Task", "Secret",
        "Config", "Plugin", "Distribution")
FIELDS = {"id", "must", "source", "versions", "operations", "test", "with", "requires", "violation"}
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class PromiseError(ValueError):
    """A malformed promise file or entry."""


@dataclass(frozen=True)
class Violation:
    """An answer that breaks a promise while its schema still holds."""

    operation: str = ""
    pointer: str = ""
    edit: str = ""
    ignore_filter: str = ""
    fault: str = ""  # a named fault of the fake instead of a generated one

    @property
    def kind(self) -> str:
        return "fault" if self.fault else "ignore-filter" if self.ignore_filter else "edit"


@dataclass(frozen=True)
class Promise:
    id: str
    tag: str
    must: str
    source: dict[str, str]
    versions: tuple[str, str]
    operations: tuple[str, ...]
    test: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    requires: tuple[str, ...] = ()
    violation: Violation = field(default_factory=Violation)

    @property
    def check(self) -> str:
        """The check name its findings are recorded under."""
        return f"promise:{self.id}"

    @property
    def operation(self) -> str:
        """Its matrix cell's operation."""
        return self.operations[0]

    def applies_to(self, version: str) -> bool:
        return parse(self.versions[0]) <= parse(version) <= parse(self.versions[1])

    def source_text(self) -> str:
        if "moby" in self.source:
            return f"moby {self.source['moby']} ({self.source['ref']})"
        where = self.source.get("operation") or f"definitions.{self.source.get('definition')}"
        return f"API {self.source['spec']} spec: {where}"


def _source(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise PromiseError(f"{where}: source must be {{spec, operation|definition}} or {{moby, ref}}")
    keys = set(raw)
    if keys in ({"spec", "operation"}, {"spec", "definition"}):
        try:
            parse(str(raw["spec"]))
        except VersionError as exc:
            raise PromiseError(f"{where}: source spec: {exc}") from None
    elif keys != {"moby", "ref"}:
        raise PromiseError(f"{where}: source {raw!r}: give {{spec, operation}}, {{spec, definition}} or {{moby, ref}}")
    return {k: str(v) for k, v in raw.items()}


def _violation(raw: Any, where: str) -> Violation:
    if not isinstance(raw, dict):
        raise PromiseError(f"{where}: violation is required (a mapping): how the fake breaks this promise")
    if set(raw) == {"fault"}:
        return Violation(fault=str(raw["fault"]))
    if set(raw) == {"operation", "ignore_filter"}:
        return Violation(operation=str(raw["operation"]), ignore_filter=str(raw["ignore_filter"]))
    if set(raw) == {"operation", "pointer", "edit"}:
        problem = edits.check(str(raw["pointer"]), str(raw["edit"]))
        if problem:
            raise PromiseError(f"{where}: violation: {problem}")
        return Violation(operation=str(raw["operation"]), pointer=str(raw["pointer"]), edit=str(raw["edit"]))
    raise PromiseError(f"{where}: violation {raw!r}: give {{operation, pointer, edit}}, "
                       "{operation, ignore_filter} or {fault}")


def _promise(raw: Any, tag: str, where: str) -> Promise:
    if not isinstance(raw, dict):
        raise PromiseError(f"{where}: a promise must be a mapping")
    pid = str(raw.get("id", ""))
    where = f"{where}: {pid or '(no id)'}"
    unknown = sorted(set(raw) - FIELDS)
    missing = sorted({"id", "must", "source", "operations", "test", "violation"} - set(raw))
    if unknown or missing:
        raise PromiseError(f"{where}: {'unknown field(s) ' + ', '.join(unknown) if unknown else ''}"
                           f"{'; ' if unknown and missing else ''}{'missing ' + ', '.join(missing) if missing else ''}")
    if not _ID.match(pid):
        raise PromiseError(f"{where}: the id must be kebab-case (a-z, 0-9, '-')")
    must = str(raw["must"])
    if " MUST " not in f" {must} ":
        raise PromiseError(f"{where}: `must` states the promise with the word MUST")
    operations = raw["operations"]
    if not isinstance(operations, list) or not operations or not all(isinstance(o, str) for o in operations):
        raise PromiseError(f"{where}: operations must be a non-empty list of operationIds")
    try:
        versions = parse_range(raw.get("versions"))
    except VersionError as exc:
        raise PromiseError(f"{where}: versions: {exc}") from None
    params = raw.get("with") or {}
    requires = raw.get("requires") or []
    if not isinstance(params, dict) or not isinstance(requires, list):
        raise PromiseError(f"{where}: `with` must be a mapping and `requires` a list")
    bad = [r for r in requires if r not in KNOWN_REQUIRES]
    if bad:
        raise PromiseError(f"{where}: unknown requires {bad} (known: {', '.join(KNOWN_REQUIRES)})")
    return Promise(pid, tag, must, _source(raw["source"], where), versions, tuple(operations), str(raw["test"]),
                   params, tuple(requires), _violation(raw["violation"], where))


def load_file(path: Path) -> list[Promise]:
    raw = read_yaml(path, PromiseError)
    if not isinstance(raw, dict) or set(raw) != {"tag", "promises"} or not isinstance(raw["promises"], list):
        raise PromiseError(f"{path}: expected {{tag: <Tag>, promises: [...]}}")
    if raw["tag"] not in TAGS:
        raise PromiseError(f"{path}: tag {raw['tag']!r} is not one of {', '.join(TAGS)}")
    return [_promise(item, raw["tag"], path.name) for item in raw["promises"]]


def load(directory: Path = PROMISES_DIR) -> list[Promise]:
    """Every promise of the catalogue, in file order; PromiseError for the first malformed entry."""
    out: list[Promise] = []
    for path in sorted(directory.glob("*.yaml")):
        out += load_file(path)
    ids = [p.id for p in out]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise PromiseError(f"{directory}: promise ids used twice: {', '.join(twice)}")
    return out


@cache
def catalogue() -> dict[str, Promise]:
    """The bundled catalogue by id (loaded once)."""
    return {p.id: p for p in load()}


def validate(promises: list[Promise], catalog: Any) -> None:
    """Every operation, source passage and violation names what the spec data has (PromiseError otherwise)."""
    versions = catalog.versions
    for p in promises:
        in_range = [v for v in versions if p.applies_to(v)]
        if not in_range:
            raise PromiseError(f"{p.id}: no spec version in {p.versions[0]}-{p.versions[1]}")
        for op in {*p.operations, *([p.violation.operation] if p.violation.operation else [])}:
            if not any(catalog.get(v).operation(op) for v in in_range):
                raise PromiseError(f"{p.id}: operation {op!r} is in no spec version of {p.versions[0]}-{p.versions[1]}")
        if "spec" in p.source:
            if p.source["spec"] not in versions:
                raise PromiseError(f"{p.id}: source spec {p.source['spec']} is not a version of the spec data")
            spec = catalog.get(p.source["spec"])
            if "operation" in p.source and spec.operation(p.source["operation"]) is None:
                raise PromiseError(f"{p.id}: source operation {p.source['operation']} is not in API {spec.version}")
            if "definition" in p.source and p.source["definition"] not in spec.definitions:
                raise PromiseError(f"{p.id}: source definition {p.source['definition']} is not in API {spec.version}")
