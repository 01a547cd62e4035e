#!/usr/bin/env python3
"""Provision the suite's test image on the engine named by DOCKER_HOST (pull, else import busybox)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docker  # noqa: E402

from conformance.image import ImageUnavailable, ensure_image  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", default="busybox:latest")
    parser.add_argument("--no-pull", action="store_true", help="import straight away, do not try a registry")
    args = parser.parse_args()
    api = docker.from_env().api
    try:
        how = ensure_image(api, args.image, allow_pull=not args.no_pull)
    except ImageUnavailable as exc:
        print(f"make_busybox_image: {exc}", file=sys.stderr)
        return 1
    print(f"make_busybox_image: {args.image} {how}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
