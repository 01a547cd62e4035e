"""Serve the fake engine: `docker-api-conformance fake` (or python -m conformance.fake).

    --listen unix:///tmp/fake.sock [--api 1.25-1.56 | --min-api X --max-api Y] [--kind K] [--fault NAME ...]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from . import KINDS, NULLS, start_fake
from .faults import FAULTS


def main(argv: list[str] | None = None, prog: str = "python -m conformance.fake") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Run the fake Docker Engine.")
    parser.add_argument("--listen", default="tcp://127.0.0.1:2375", help="unix:///path.sock or tcp://HOST:PORT")
    parser.add_argument("--api", default=None, metavar="X.Y|X.Y-X.Z",
                        help="the API versions the fake answers (default 1.25-1.56; same as --min-api/--max-api)")
    parser.add_argument("--min-api", default="1.25")
    parser.add_argument("--max-api", default="1.56")
    parser.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS), metavar="NAME",
                        help="inject a fault (repeatable): " + ", ".join(sorted(FAULTS)))
    parser.add_argument("--kind", default="docker", choices=KINDS)
    parser.add_argument("--nulls", default="spec", choices=NULLS,
                        help="spec: spec-clean bodies (default); engine: the Engine's nulls as it sends them")
    parser.add_argument("--swarm", default="inactive", choices=("inactive", "manager"),
                        help="start outside swarm mode (default) or as a single-node swarm manager")
    args = parser.parse_args(argv)
    if args.api:
        low, _, high = args.api.partition("-")
        args.min_api, args.max_api = low, high or low
    fake = start_fake(args.listen, args.min_api, args.max_api, args.fault, args.kind, swarm=args.swarm,
                      nulls=args.nulls)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    print(f"fake engine listening on {fake.url} (API {args.min_api}..{args.max_api}, faults: "
          f"{', '.join(args.fault) or 'none'})", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
