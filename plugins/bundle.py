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
    "plugins.fixtures_cluster",
    "plugins.fixtures_peer",
    "plugins.fixtures_plugins",
    "plugins.reporting",
    "plugins.allure_labels",
    "plugins.target_profile",
]
PROMISE_CHECKS = Path(__file__).resolve().parent.parent / "suites" / "promise_checks"


def fixture_modules() -> list[str]:
    """The promise checks' package, then its fixtures, fixtures_<area> in name order.

    The package comes first so that pytest marks all its modules for assert rewriting before any is
    imported (its checker modules import fixture modules; a module imported before pytest marks it
    cannot be rewritten, and pytest warns)."""
    return ["suites.promise_checks",
            *(f"suites.promise_checks.{path.stem}" for path in sorted(PROMISE_CHECKS.glob("fixtures*.py")))]


pytest_plugins = [*CORE, *fixture_modules()]
