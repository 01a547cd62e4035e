"""Command-line options of the suite, in one place."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("docker-api-conformance", "Docker Engine API conformance")
    group.addoption("--target", default=None, metavar="URL",
                    help="engine to test: unix:///path.sock, tcp://HOST:PORT, http(s)://HOST:PORT, fake, "
                         "fake:swarm-classic (default: $DOCKER_HOST, else the embedded fake)")
    group.addoption("--target-kind", default=None, metavar="KIND",
                    help="force the target kind (docker, podman, swarm-classic, fake, unknown)")
    group.addoption("--tls", action="store_true", default=False, help="use TLS without verifying the server")
    group.addoption("--tls-verify", action="store_true", default=None, help="use TLS and verify the server")
    group.addoption("--tls-ca", default=None, metavar="FILE", help="CA certificate (implies --tls-verify)")
    group.addoption("--tls-cert", default=None, metavar="FILE", help="client certificate")
    group.addoption("--tls-key", default=None, metavar="FILE", help="client key")
    group.addoption("--api-version", default="auto", metavar="auto|X.Y|X.Y-X.Z|all",
                    help="API versions to test (default auto: the highest the target and the spec data share)")
    group.addoption("--spec", default=None, metavar="PATH",
                    help="an upstream swagger file to test against instead of the bundled spec data")
    group.addoption("--image", default="busybox:latest",
                    help="test image; provisioned (pull, else import of a local busybox) when missing")
    group.addoption("--request-timeout", type=float, default=30.0, metavar="S",
                    help="time limit for one request or stream read (default 30)")
    group.addoption("--max-body-bytes", type=int, default=8 * 1024 * 1024, metavar="N",
                    help="read at most N bytes of a response body (default 8 MiB); a body cut there is an error of "
                         "the suite (check read_limit), never a finding against the target")
    group.addoption("--allow-global-changes", action="store_true", default=False,
                    help="allow operations with engine-wide effect (swarm init/leave, unfiltered prune, plugins)")
    group.addoption("--errata", default=None, metavar="FILE",
                    help="spec errata file (default: schemas/errata.yaml)")
    group.addoption("--deviations", action="append", default=[], metavar="FILE",
                    help="known deviations of the target, as data (repeatable)")
    group.addoption("--reports-dir", default="reports", metavar="DIR",
                    help="where results.json and the reports are written (default: reports)")
    group.addoption("--run-id", default=None, help="label value for objects this run creates (default: random)")
    group.addoption("--record-exchanges", action="store_true", default=False,
                    help="write every checked exchange to REPORTS_DIR/exchanges/ (what `python -m "
                         "conformance.differential` compares between two targets)")
    group.addoption("--fake-fault", action="append", default=[], metavar="NAME",
                    help="with --target fake: inject a catalogued fault (conformance/fake/faults.py; repeatable), "
                         "to see the suite catch a misbehaving engine")
    group.addoption("--fake-swarm", choices=("manager", "inactive"), default="manager",
                    help="with --target fake: the embedded fake starts as a swarm manager (default; the scenarios "
                         "that need one run) or outside swarm mode (the not-a-manager answers run instead)")
    group.addoption("--fake-nulls", choices=("spec", "engine"), default="spec",
                    help="with --target fake: spec-clean bodies (default), or the Engine's nulls (Go nil slices, "
                         "maps and pointers) as dockerd sends them")


_PROJECT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    # pytest picks its root directory before it knows these options, so a path value written as
    # `--reports-dir /tmp/x` is taken for a test path and the run would collect the wrong tree.
    invoked = config.invocation_params.dir
    if config.rootpath != _PROJECT and (invoked == _PROJECT or _PROJECT in invoked.parents):
        raise pytest.UsageError(
            f"pytest took {config.rootpath} for the test root, from an option value written with a space: "
            "write options that name a file or folder with `=` (--reports-dir=DIR, --baseline=FILE, "
            "--spec=FILE, --deviations=FILE, --errata=FILE)")
