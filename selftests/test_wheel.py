"""The wheel is the product: build it (`python -m build`), install it into a fresh venv, and run the
installed `docker-api-conformance` from an empty folder, against the embedded fake (the whole default
suite) and, when DAC_REAL_DOCKER_HOST names one, against a real dockerd (a narrow selection).

The venv sees the system's site-packages (the dependencies are installed there; pip may have no index
to reach) and gets only the wheel, with --no-deps --no-index.  The tests check that the installed copy,
not this checkout, is what runs.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib
import yaml

from conformance import __version__
from conformance.about import spec_upstream

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = ("conformance", "plugins", "suites", "schemas")
DATA_SUFFIXES = {".py", ".yaml", ".json", ".ini"}


def _env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no DOCKER_HOST (the fake is the default target), no path to here."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DOCKER_HOST", "PYTHONPATH", "DAC_RUN_ID") and not k.startswith("PYTEST_")}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def _product_files() -> set[str]:
    """The checkout's files that the wheel must carry (paths relative to the repository)."""
    return {str(p.relative_to(ROOT)) for top in PACKAGED for p in (ROOT / top).rglob("*")
            if p.is_file() and p.suffix in DATA_SUFFIXES and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """(the wheel, the product files of the checkout just before the build)."""
    if importlib.util.find_spec("build") is None:
        pytest.skip("the `build` package is missing: pip install build (or '.[dev]')")
    expected = _product_files()
    out = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=300, env=_env())
    if done.returncode != 0 and importlib.util.find_spec("wheel") is not None:
        # No index to fetch the build backend from: build with the installed setuptools and wheel.
        done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
                              capture_output=True, text=True, timeout=300, env=_env())
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1 and list(out.glob("*.tar.gz")), list(out.iterdir())
    print(f"built {wheels[0].name} ({wheels[0].stat().st_size // 1024} KiB) in {time.monotonic() - started:.1f} s")
    return wheels[0], expected


@pytest.fixture(scope="module")
def venv(built: tuple[Path, set[str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; its bin/ folder."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(folder)],
                   check=True, timeout=120)
    python = folder / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                           "--no-index", str(built[0])], capture_output=True, text=True, timeout=300, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    where = subprocess.run([str(python), "-c", "import conformance, plugins, suites; print(conformance.__file__)"],
                           capture_output=True, text=True, timeout=60, env=_env(), cwd=folder)
    assert where.returncode == 0 and where.stdout.startswith(str(folder)), where.stdout + where.stderr
    return folder / "bin"


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "empty"
    folder.mkdir()
    yield folder


def _run(bin_dir: Path, cwd: Path, *args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / "docker-api-conformance"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=_env(**env))


def test_run_settings_match_pyproject() -> None:
    """`run` uses plugins/run.ini; a plain pytest in the checkout uses pyproject.toml: the same settings."""
    ini = configparser.ConfigParser()
    ini.read(ROOT / "plugins" / "run.ini")
    run = ini["pytest"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert run["addopts"].split() == project["addopts"].split()
    assert run.getboolean("xfail_strict") == project["xfail_strict"]
    assert [line for line in run["filterwarnings"].splitlines() if line.strip()] == project["filterwarnings"]


def test_the_wheel_carries_the_product(built: tuple[Path, set[str]]) -> None:
    wheel, expected = built
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(expected - names)
    assert not missing, f"not in the wheel: {missing[:20]}"
    assert not [n for n in names if n.startswith(("selftests/", "bench/", "docs/")) or "__pycache__" in n]
    for needed in ("schemas/upstream.yaml", "schemas/errata.yaml", "plugins/run.ini", "suites/conftest.py"):
        assert needed in names
    meta = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(meta).decode()
    assert "docker-api-conformance = conformance.command:main" in entry_points
    assert "conformance-matrix = conformance.cli:main" in entry_points
    assert "plugins.bundle = plugins.bundle" in entry_points
    assert f"-{__version__}-" in wheel.name


def test_installed_command_runs_the_whole_suite_on_the_fake(venv: Path, empty: Path) -> None:
    version = _run(venv, empty, "--version")
    assert version.returncode == 0 and __version__ in version.stdout, version.stdout + version.stderr
    assert str(venv.parent) in version.stdout  # the installed copy, not this checkout
    assert spec_upstream()["commit"] in version.stdout
    started = time.monotonic()
    done = _run(venv, empty, "run")
    took = time.monotonic() - started
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert (empty / "reports" / "matrix.html").is_file()
    # Quiet by default: the progress line and one summary, no per-test lines (issue 14: at most 40 lines).
    lines = done.stdout.splitlines()
    assert len(lines) <= 40 and not [line for line in lines if line.startswith(("SKIPPED", "XFAIL", "PASSED"))], \
        done.stdout
    assert any(line.startswith("skipped ") and "by reason" in line for line in lines), done.stdout
    summary = yaml.safe_load((empty / "reports" / "summary.yaml").read_text())
    assert summary["suite"]["version"] == __version__ and summary["suite"]["spec_commit"]
    assert summary["target"]["kind"] == "fake"
    assert not summary["counts"]["tests"].get("failed") and summary["counts"]["tests"]["passed"] > 100
    print(f"installed run on the fake: {took:.1f} s, {len(lines)} lines, {summary['counts']['tests']}")
    # The matrix command of the same install reads that run's matrix.
    rendered = _run(venv, empty, "matrix", "render", "reports/matrix.json", "--md=again.md")
    assert rendered.returncode == 0 and (empty / "again.md").read_text().startswith("#"), rendered.stderr


def test_pytest_pyargs_from_any_folder(venv: Path, empty: Path) -> None:
    done = subprocess.run([str(venv / "python"), "-m", "pytest", "--pyargs", "suites.test_versioning", "-q",
                           "-p", "no:cacheprovider"], cwd=empty, capture_output=True, text=True, timeout=300,
                          env=_env())
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert re.search(r"\b[1-9]\d* passed", done.stdout) and (empty / "reports" / "results.json").is_file()


def test_fake_and_cleanup_commands(venv: Path, empty: Path) -> None:
    sock = empty / "fake.sock"
    server = subprocess.Popen([str(venv / "docker-api-conformance"), "fake", f"--listen=unix://{sock}",
                               "--api=1.41-1.44"], cwd=empty, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=_env())
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        failed = server.stderr.read() if server.poll() is not None else ""
        assert "listening on" in first and "1.41..1.44" in first, first + failed
        cleanup = _run(venv, empty, "cleanup", "--target", f"unix://{sock}", timeout=120)
        assert cleanup.returncode == 0 and "cleanup: removed" in cleanup.stdout, cleanup.stdout + cleanup.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.skipif(not os.environ.get("DAC_REAL_DOCKER_HOST"),
                    reason="set DAC_REAL_DOCKER_HOST to a real dockerd (.ci/run starts one)")
def test_installed_command_runs_against_a_real_dockerd(venv: Path, empty: Path) -> None:
    done = _run(venv, empty, "run", "suites/test_operations.py", "suites/test_versioning.py", "-k",
                "System or Version or ping or unknown_path", DOCKER_HOST=os.environ["DAC_REAL_DOCKER_HOST"])
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    summary = yaml.safe_load((empty / "reports" / "summary.yaml").read_text())
    assert summary["target"]["kind"] == "docker" and (empty / "reports" / "matrix.html").is_file()
