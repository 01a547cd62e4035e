"""`conformance-matrix`: merge, diff and render compatibility matrices (matrix.json or results.json).

Exit codes: 0 ok; 1 `diff` found a regression; 2 bad input (one error line, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from conformance import matrix, render


def _spec_operations(versions: list[str]) -> dict[str, dict[str, str]]:
    """Bundled spec data, for the n/a and not-covered cells of a matrix built from a results.json."""
    try:
        from conformance.spec import SpecCatalog

        return matrix.spec_operations(SpecCatalog(), versions)
    except Exception:  # noqa: BLE001 - the spec data only refines the matrix; rendering works without it
        return {}


def _load(path: str) -> dict[str, Any]:
    return matrix.load(path, _spec_operations)


def _write_text(path: str, text: str) -> None:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    except OSError as exc:
        raise matrix.MatrixError(f"{path}: cannot write: {exc.strerror}") from None


def cmd_merge(args: argparse.Namespace) -> int:
    doc = matrix.merge([_load(p) for p in args.inputs])
    _write_text(args.output, matrix.to_json(doc))
    print(f"merged {len(args.inputs)} files: {len(doc['targets'])} targets, {len(doc['versions'])} versions, "
          f"{len(doc['cells'])} cells -> {args.output}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    result = matrix.diff(_load(args.old), _load(args.new), args.fail_on)
    for name in ("regressions", "improvements", "new_failures", "changes"):
        items = result[name]
        if name == "changes" and not args.verbose:
            if items:
                print(f"{len(items)} other changes (use -v to list)")
            continue
        print(f"{name.replace('_', ' ')}: {len(items)}")
        for item in items:
            reason = f" - {render.one_line(item['reason'], 160)}" if item.get("reason") else ""
            kind = f" ({item['kind']}, excused {item['excused']}: {', '.join(item['entries'])})" \
                if item.get("kind") in ("excused", "excused-count") else ""
            print(f"  {item['operation']} {item['version']} [{item['target']}]: {item['old']} -> {item['new']}"
                  f"{kind}{reason}")
    return 1 if result["regressions"] else 0


def cmd_render(args: argparse.Namespace) -> int:
    if not (args.html or args.md or args.json):
        raise matrix.MatrixError("render: give at least one of --html, --md, --json")
    doc = _load(args.input)
    for path, text in ((args.html, render.to_html), (args.md, render.to_markdown), (args.json, matrix.to_json)):
        if path:
            _write_text(path, text(doc))
            print(f"wrote {path}")
    return 0


def _fail_on(text: str) -> tuple[str, ...]:
    try:
        return matrix.parse_fail_on(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser(prog: str = "conformance-matrix") -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=prog,
                                  description="Merge, diff and render Docker Engine API compatibility matrices. "
                                              "Inputs are matrix.json or results.json files.")
    sub = top.add_subparsers(dest="command", required=True)
    merge = sub.add_parser("merge", help="put several targets side by side: operation x (target, version)")
    merge.add_argument("inputs", nargs="+", metavar="IN.json")
    merge.add_argument("-o", "--output", required=True, metavar="OUT.json")
    merge.set_defaults(func=cmd_merge)
    diff = sub.add_parser("diff", help="compare two matrices; exit 1 on any regression (see --fail-on)")
    diff.add_argument("old", metavar="OLD.json")
    diff.add_argument("new", metavar="NEW.json")
    diff.add_argument("-v", "--verbose", action="store_true", help="also list other state changes")
    diff.add_argument("--fail-on", type=_fail_on, default=matrix.REGRESSION_KINDS, metavar="KINDS",
                      help="regression kinds, comma separated: fail (accepted -> fail/error), excused (pass -> "
                           "known-deviation/spec-erratum), excused-count (more excused findings); default: all")
    diff.set_defaults(func=cmd_diff)
    rend = sub.add_parser("render", help="write Markdown and/or self-contained HTML")
    rend.add_argument("input", metavar="IN.json")
    rend.add_argument("--html", metavar="OUT.html")
    rend.add_argument("--md", metavar="OUT.md")
    rend.add_argument("--json", metavar="OUT.json", help="the matrix document (e.g. built from a results.json)")
    rend.set_defaults(func=cmd_render)
    return top


def main(argv: list[str] | None = None, prog: str = "conformance-matrix") -> int:
    """`conformance-matrix ...`, also `docker-api-conformance matrix ...` (conformance/command.py)."""
    args = parser(prog).parse_args(argv)
    try:
        return args.func(args)
    except matrix.MatrixError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
