#!/usr/bin/env python3
"""Generate schemas/engine-X.Y.json from upstream swagger files.

Usage: python scripts/build_schemas.py ../shared/specs/engine [--out schemas]
Every *.yaml in the folder is read; the API version comes from the file's info.version,
so latest.yaml lands as the version it declares.  When the folder has a SOURCE.md naming the
upstream repository and snapshot commit, they are written to schemas/upstream.yaml (shown by
`docker-api-conformance --version` and in every report).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.normalize import SpecError, normalize_file  # noqa: E402


def upstream(source: Path) -> dict[str, str]:
    """Repository and snapshot commit from the folder's SOURCE.md ({} when it has none)."""
    try:
        text = (source / "SOURCE.md").read_text()
    except OSError:
        return {}
    repo = re.search(r"Repository:\s*(\S+)", text)
    commit = re.search(r"Snapshot commit:\s*`([0-9a-f]{40})`", text)
    date = re.search(r"Commit date:\s*([0-9-]{10})", text)
    if not (repo and commit):
        return {}
    return {"repository": repo.group(1), "commit": commit.group(1), **({"date": date.group(1)} if date else {})}


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
    origin = upstream(args.source)
    if origin:
        header = "# Where engine-*.json come from (written by scripts/build_schemas.py from the source's SOURCE.md).\n"
        (args.out / "upstream.yaml").write_text(header + yaml.safe_dump(origin, sort_keys=False))
        print(f"upstream: {origin['repository']} @ {origin['commit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
