"""Load normalized spec data (one API version) and expose operations and compiled validators."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from conformance.normalize import SpecError, normalize_file
from conformance.validation import SchemaValidator
from conformance.versions import parse

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"


@dataclass(frozen=True)
class Parameter:
    location: str  # path | query | header | formData
    name: str
    type: str | None
    required: bool
    enum: tuple[Any, ...] | None = None
    default: Any = None


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    tag: str
    parameters: tuple[Parameter, ...]
    body_schema: dict[str, Any] | None
    consumes: tuple[str, ...]
    produces: tuple[str, ...]
    responses: dict[str, dict[str, Any]] = field(hash=False)

    @property
    def statuses(self) -> list[str]:
        return sorted(self.responses)

    def param(self, location: str, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.location == location and p.name == name), None)


class Spec:
    """The operations and definitions of one API version."""

    def __init__(self, data: dict[str, Any]):
        self.version: str = data["api_version"]
        self.source: dict[str, Any] = data.get("source", {})
        self.definitions: dict[str, Any] = data["definitions"]
        self.operations: dict[str, Operation] = {
            op_id: _operation(op_id, raw) for op_id, raw in data["operations"].items()
        }

    def __repr__(self) -> str:
        return f"<Spec {self.version}: {len(self.operations)} operations>"

    @cached_property
    def validator(self) -> SchemaValidator:
        return SchemaValidator(self.definitions)

    def operation(self, op_id: str) -> Operation | None:
        return self.operations.get(op_id)

    def response_schema(self, op: Operation, status: int | str) -> dict[str, Any] | None:
        resp = op.responses.get(str(status))
        return None if resp is None else resp.get("schema")


def _operation(op_id: str, raw: dict[str, Any]) -> Operation:
    params = tuple(
        Parameter(p["in"], p["name"], p.get("type"), bool(p.get("required")),
                  tuple(p["enum"]) if "enum" in p else None, p.get("default"))
        for p in raw["parameters"]
    )
    body = raw.get("body")
    return Operation(
        id=op_id, method=raw["method"], path=raw["path"], tag=raw["tag"], parameters=params,
        body_schema=body["schema"] if body else None, consumes=tuple(raw["consumes"]),
        produces=tuple(raw["produces"]), responses=raw["responses"],
    )


class SpecCatalog:
    """All versions we can test: the generated schema files, or one user-supplied swagger file."""

    def __init__(self, schemas_dir: Path = SCHEMAS_DIR, user_spec: Path | None = None):
        self._cache: dict[str, Spec] = {}
        self._files: dict[str, Path] = {}
        self.user_spec = user_spec
        if user_spec is not None:
            spec = Spec(normalize_file(user_spec))
            self._cache[spec.version] = spec
        else:
            for path in schemas_dir.glob("engine-*.json"):
                self._files[path.stem.removeprefix("engine-")] = path
            if not self._files:
                raise SpecError(f"no engine-*.json spec data in {schemas_dir} (run scripts/build_schemas.py)")

    @property
    def versions(self) -> list[str]:
        return sorted({*self._cache, *self._files}, key=parse)

    def get(self, version: str) -> Spec:
        if version not in self._cache:
            path = self._files.get(version)
            if path is None:
                raise SpecError(f"no spec data for API {version}")
            self._cache[version] = Spec(json.loads(path.read_text()))
        return self._cache[version]
