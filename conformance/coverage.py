"""(operation, status) coverage: the non-5xx statuses each version declares, against those a run saw.

A pair counts as exercised when some recorded outcome of that version and operation carries
that status (whatever its verdict: a failed check is still an exercised status).  Several
results files (e.g. a run on a plain engine and one on a swarm manager) can be merged:

    python -m conformance.coverage reports/results.json other/results.json [--out reports/coverage.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conformance.spec import Spec, SpecCatalog
from conformance.versions import parse


def declared_pairs(spec: Spec) -> set[tuple[str, int]]:
    """(operationId, status) for every declared status below 500 (`default` is not a status)."""
    return {(op.id, int(status)) for op in spec.operations.values()
            for status in op.responses if status.isdigit() and int(status) < 500}


def exercised_pairs(outcomes: Iterable[dict[str, Any]], version: str) -> set[tuple[str, int]]:
    return {(o["operation"], int(o["status"])) for o in outcomes
            if o.get("version") == version and o.get("status")}


def compute(catalog: SpecCatalog, versions: Iterable[str], outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """Per version: declared, exercised (declared and seen), ratio, and the pairs still missing."""
    per_version: dict[str, Any] = {}
    for version in sorted(set(versions), key=parse):
        declared = declared_pairs(catalog.get(version))
        seen = exercised_pairs(outcomes, version)
        hit = declared & seen
        missing = sorted(declared - seen)
        per_version[version] = {
            "declared": len(declared),
            "exercised": len(hit),
            "ratio": round(len(hit) / len(declared), 4) if declared else 1.0,
            "missing": [f"{op} {status}" for op, status in missing],
            "undeclared_seen": [f"{op} {status}" for op, status in sorted(seen - declared) if status < 500],
        }
    return {"format": 1, "versions": per_version}


def summary_lines(coverage: dict[str, Any], show_missing: int = 0) -> list[str]:
    lines = []
    for version, row in coverage["versions"].items():
        lines.append(f"API {version}: {row['exercised']}/{row['declared']} declared non-5xx (operation, status) "
                     f"pairs exercised ({row['ratio']:.1%})")
        if show_missing and row["missing"]:
            shown = row["missing"][:show_missing]
            more = f" (+{len(row['missing']) - len(shown)} more)" if len(row["missing"]) > len(shown) else ""
            lines.append(f"  not exercised: {', '.join(shown)}{more}")
    return lines


def write(path: Path, coverage: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(coverage, indent=1))
    tmp.replace(path)


def main(argv: list[str] | None = None, prog: str = "python -m conformance.coverage") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="results.json files of one or more runs")
    parser.add_argument("--out", type=Path, default=None, help="write the merged coverage JSON here")
    args = parser.parse_args(argv)
    outcomes: list[dict[str, Any]] = []
    versions: set[str] = set()
    for path in args.results:
        data = json.loads(path.read_text())
        outcomes += data.get("tests", [])
        versions |= set(data.get("meta", {}).get("api_versions", []))
    coverage = compute(SpecCatalog(), versions, outcomes)
    print("\n".join(summary_lines(coverage, show_missing=1000)))
    if args.out:
        write(args.out, coverage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
