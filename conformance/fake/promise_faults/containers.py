"""Promise faults of the fake: containers (see conformance/fake/promise_faults/__init__.py)."""

from __future__ import annotations

from ..fault_types import Fault

FAULTS: dict[str, Fault] = {}
