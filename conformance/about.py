"""What this copy of the suite is: its package version (one place: `conformance.__version__`, which
pyproject.toml reads too), the git checkout it runs from (when it is one) and where its spec data comes
from (schemas/upstream.yaml, written by scripts/build_schemas.py).  Shown by `docker-api-conformance
--version`, in summary.yaml, in matrix.* and in the Allure environment.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

import yaml

from conformance import __version__

# The folder holding conformance/, plugins/, suites/ and schemas/: the repository, or site-packages
# when installed from the wheel (the wheel keeps the repository's layout).
BUNDLE = Path(__file__).resolve().parent.parent
SCHEMAS = BUNDLE / "schemas"
UPSTREAM_FILE = SCHEMAS / "upstream.yaml"
NAME = "docker-api-conformance"


@cache
def checkout() -> str:
    """`git describe --always --dirty` when the suite runs from its own git checkout, else ""."""
    # Only the suite's own checkout: an installed copy inside another repository (a CI job's .venv)
    # must not report that repository's revision.
    if not (BUNDLE / ".git").exists():
        return ""
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=BUNDLE, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


@cache
def spec_upstream() -> dict[str, str]:
    """{repository, commit, date} of the upstream swagger files behind schemas/ ({} when not recorded)."""
    try:
        data = yaml.safe_load(UPSTREAM_FILE.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def spec_versions() -> tuple[str, str]:
    """The lowest and highest API version of the bundled spec data."""
    from conformance.versions import parse

    versions = sorted((p.stem.removeprefix("engine-") for p in SCHEMAS.glob("engine-*.json")), key=parse)
    return (versions[0], versions[-1]) if versions else ("?", "?")


def _short_repo(url: str) -> str:
    return url.removeprefix("https://").removeprefix("github.com/")


def suite_version() -> str:
    """One line for reports: package version, checkout, spec data commit."""
    parts = [__version__]
    if checkout():
        parts.append(f"(git {checkout()})")
    upstream = spec_upstream()
    if upstream.get("commit"):
        parts.append(f"spec {_short_repo(upstream.get('repository', '?'))}@{upstream['commit'][:12]}")
    return " ".join(parts)


def details() -> dict[str, str]:
    """The same as fields (summary.yaml `suite`, the Allure environment)."""
    low, high = spec_versions()
    upstream = spec_upstream()
    out = {"name": NAME, "version": __version__}
    if checkout():
        out["checkout"] = checkout()
    out["spec_api_versions"] = f"{low}-{high}"
    if upstream:
        out["spec_repository"] = upstream.get("repository", "")
        out["spec_commit"] = upstream.get("commit", "")
    return out


def version_text() -> str:
    """What `docker-api-conformance --version` prints."""
    low, high = spec_versions()
    upstream = spec_upstream()
    first = f"{NAME} {__version__}" + (f" (git {checkout()})" if checkout() else "") + f" from {BUNDLE}"
    origin = (f"{upstream.get('repository', '?')} at commit {upstream.get('commit', '?')}"
              + (f" ({upstream['date']})" if upstream.get("date") else "")) if upstream else "upstream not recorded"
    return f"{first}\nspec data: API {low}-{high}, {origin}"
