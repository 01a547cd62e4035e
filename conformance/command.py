"""`docker-api-conformance`: the installed product's one command.

    docker-api-conformance run [--target URL] [--api-version ...] [any pytest option]
    docker-api-conformance matrix merge|diff|render ...      (also installed as `conformance-matrix`)
    docker-api-conformance fake --listen URL [--api ...] [--kind ...] [--fault ...]
    docker-api-conformance cleanup --target URL [--run-id ID]
    docker-api-conformance coverage results.json ... [--out FILE]
    docker-api-conformance --version

`run` runs the bundled suite (the wheel carries suites/, schemas/ and the plugins; a checkout works the
same) from any folder: reports go to ./reports unless --reports-dir says otherwise.  Its own pytest
settings (plugins/run.ini) and root (the folder holding suites/) are fixed, so whatever pytest
configuration the current folder has does not change the run.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

from conformance.about import BUNDLE, NAME, version_text

SUITES = BUNDLE / "suites"
RUN_INI = BUNDLE / "plugins" / "run.ini"
USAGE = __doc__.split("\n\n")[1]


def suite_args(args: list[str]) -> tuple[list[str], bool]:
    """The arguments with test paths of the bundle (`suites/...`, as in a checkout) made absolute; and
    whether one was given (else the whole suite runs)."""
    out, selected = [], False
    for arg in args:
        path = arg.split("::", 1)[0]
        if not arg.startswith("-") and (path == "suites" or path.startswith("suites/")) and (BUNDLE / path).exists():
            out.append(str(BUNDLE / arg))
            selected = True
        else:
            out.append(arg)
    return out, selected


def _sets_verbosity(arg: str) -> bool:
    return arg in ("--verbose", "--quiet") or bool(re.fullmatch(r"-[vq]+", arg))


def pytest_argv(args: list[str]) -> list[str]:
    """The pytest command line of `run`: quiet (-q: the progress dots without the installed files' long paths,
    then the suite's summary) unless -v/-q are given."""
    given, selected = suite_args(args)
    quiet = [] if any(_sets_verbosity(arg) for arg in args) else ["-q"]
    return ["-p", "plugins.bundle", "-c", str(RUN_INI), f"--rootdir={BUNDLE}", *quiet, *given,
            *([] if selected else [str(SUITES)])]


def cmd_run(args: list[str]) -> int:
    import pytest

    if args[:1] in (["-h"], ["--help"]):
        print(f"usage: {NAME} run [--target URL] [--api-version auto|X.Y|X.Y-X.Z|all] [suites/...] "
              "[any pytest option]\n\nRuns the bundled suite (default target: $DOCKER_HOST, else the embedded "
              "fake); reports go to ./reports (--reports-dir=DIR).  The suite's options follow (pytest --help):\n")
    return int(pytest.main(pytest_argv(args)))


def _matrix(args: list[str]) -> int:
    from conformance import cli

    return cli.main(args, prog=f"{NAME} matrix")


def _fake(args: list[str]) -> int:
    from conformance.fake.__main__ import main

    return main(args, prog=f"{NAME} fake")


def _cleanup(args: list[str]) -> int:
    from conformance.cleanup import main

    return main(args, prog=f"{NAME} cleanup")


def _coverage(args: list[str]) -> int:
    from conformance.coverage import main

    return main(args, prog=f"{NAME} coverage")


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "run": cmd_run, "matrix": _matrix, "fake": _fake, "cleanup": _cleanup, "coverage": _coverage}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(f"usage:\n{USAGE}\n\n{__doc__.split(chr(10) * 2)[2]}")
        return 0 if args else 2
    if args[0] == "--version":
        print(version_text())
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"{NAME}: unknown command {args[0]!r} (one of: {', '.join(COMMANDS)}, --version)", file=sys.stderr)
        return 2
    return command(args[1:])


if __name__ == "__main__":
    sys.exit(main())

