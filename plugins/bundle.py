"""Every pytest plugin of the suite, in load order, as one plugin.

pytest loads it from the top-level conftest.py (a checkout), from the `pytest11` entry point of the
installed package (so `pytest --pyargs suites` works from any folder) and from `-p plugins.bundle`
(`docker-api-conformance run`).  Loading it twice is harmless: pytest registers a module once.
The fixture modules of the promise checks are found by name (suites/promise_checks/fixtures*.py), so a
new one needs no entry here.
"""

from __future__ import annotations

from pathlib import Path

CORE = [
    "plugins.options",
    "plugins.session",
    "plugins.parametrize",
    "plugins.safety",  # before the modules that import it (else pytest warns it cannot rewrite it)
    "plugins.calls",
    "plugins.fixtures",
    "plugins.reporting",
    "plugins.allure_labels",
    "plugins.target_profile",
]
PROMISE_CHECKS = Path(__file__).resolve().parent.parent / "suites" / "promise_checks"


def fixture_modules() -> list[str]:
    """suites.promise_checks.fixtures, then fixtures_<area> in name order."""
    return [f"suites.promise_checks.{path.stem}" for path in sorted(PROMISE_CHECKS.glob("fixtures*.py"))]


pytest_plugins = [*CORE, *fixture_modules()]
