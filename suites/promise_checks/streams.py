"""Promise checkers: streams (registered by name in suites/promise_checks/__init__.py)."""

from __future__ import annotations

CHECKERS: dict[str, object] = {}
