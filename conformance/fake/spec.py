"""Which operations exist at which API version, from the suite's normalized schemas/engine-X.Y.json.

Gating is by (method, path template), not operationId: ids were renamed across versions (the
archive endpoints) while the routes stayed put.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .conform import Conformer
from .util import Version, parse_version

SCHEMAS_DIR = Path(os.environ.get("DAC_SCHEMAS_DIR") or Path(__file__).resolve().parents[2] / "schemas")


@dataclass(frozen=True)
class OpInfo:
    op_id: str
    statuses: frozenset[str]
    produces: tuple[str, ...]
    schemas: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    version: Version = (0, 0)


_lock = threading.Lock()


@lru_cache(maxsize=1)
def available_versions() -> tuple[Version, ...]:
    found = []
    for path in SCHEMAS_DIR.glob("engine-*.json"):
        match = re.fullmatch(r"engine-(\d+\.\d+)\.json", path.name)
        if match:
            found.append(parse_version(match.group(1)))
    return tuple(sorted(found))


def nearest(version: Version) -> Version | None:
    """The schema to use for a version: itself, else the closest older one, else the oldest."""
    versions = available_versions()
    if not versions:
        return None
    older = [v for v in versions if v <= version]
    return older[-1] if older else versions[0]


@lru_cache(maxsize=64)
def _load(version: Version) -> dict[tuple[str, str], OpInfo]:
    path = SCHEMAS_DIR / f"engine-{version[0]}.{version[1]}.json"
    with path.open() as handle:
        data = json.load(handle)
    _DEFINITIONS[version] = data.get("definitions", {})
    out = {}
    for op_id, op in data.get("operations", {}).items():
        responses = op.get("responses", {})
        schemas = {status: r["schema"] for status, r in responses.items() if isinstance(r, dict) and r.get("schema")}
        out[(op["method"].upper(), op["path"])] = OpInfo(op_id, frozenset(responses), tuple(op.get("produces") or ()),
                                                        schemas, version)
    return out


_DEFINITIONS: dict[Version, dict[str, Any]] = {}
_CONFORMERS: dict[Version, Any] = {}


def conformer(version: Version) -> Any:
    """The schema-driven body fitter for the schema file that serves `version`."""
    use = nearest(version)
    if use is None:
        return None
    with _lock:
        _load(use)
        if use not in _CONFORMERS:
            _CONFORMERS[use] = Conformer(_DEFINITIONS[use])
        return _CONFORMERS[use]


def operations(version: Version) -> dict[tuple[str, str], OpInfo] | None:
    """(METHOD, /path/{template}) -> OpInfo at that version; None when no schema files exist."""
    use = nearest(version)
    if use is None:
        return None
    with _lock:
        return _load(use)


def lookup(version: Version, method: str, template: str) -> OpInfo | None:
    ops = operations(version)
    if ops is None:  # no spec data shipped: serve everything
        return OpInfo("", frozenset(), ())
    return ops.get((method, template))
