#!/usr/bin/env python3
"""Generate schemas/engine-X.Y.json from upstream swagger files.

Usage: python scripts/build_schemas.py ../shared/specs/engine [--out schemas]
Every *.yaml in the folder is read; the API version comes from the file's info.version,
so latest.yaml lands as the version it declares.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.normalize import SpecError, normalize_file  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder with upstream swagger files")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "schemas")
    args = parser.parse_args(argv)
    files = sorted(args.source.glob("*.yaml"))
    if not files:
        print(f"build_schemas: no *.yaml in {args.source}", file=sys.stderr)
        return 2
    seen: dict[str, str] = {}
    for path in files:
        try:
            data = normalize_file(path)
        except SpecError as exc:
            print(f"build_schemas: {exc}", file=sys.stderr)
            return 2
        version = data["api_version"]
        if version in seen:
            print(f"build_schemas: {path.name} and {seen[version]} both declare {version}", file=sys.stderr)
            return 2
        seen[version] = path.name
        out = args.out / f"engine-{version}.json"
        out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
        counts = f"{len(data['operations'])} operations, {len(data['definitions'])} definitions"
        print(f"{path.name} -> {out.name}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
