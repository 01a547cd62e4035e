"""The one summary a run prints by default (plugins/reporting.py writes it): counts, failures grouped by
check and operation with the first finding of each, skips grouped by reason with what lifts them, excused
counts, coverage, report paths.  Plain data in, lines out, so it is tested without a session.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import skips

BAD_STATES = ("error", "fail")
# What lifts a skip whose reason names no option (the reasons come from plugins/safety.py and the suites).
LIFTS = (
    ("needs a swarm manager", "a target that is a swarm manager (docker swarm init)"),
    ("needs a node that is not a swarm manager", "a target outside swarm mode"),
    ("needs a node outside any swarm", "a target outside swarm mode"),
    ("checks the deviations of target kind", "--target fake:swarm-classic (or a classic Swarm)"),
    ("relies on Docker Engine behaviour", "a Docker Engine target"),
    ("the target lacks", "a target that has it"),
)
_OPTION_HINT = re.compile(r"[:;,]\s+(?:pass|run with|give)\s+(?=--)")
WIDTH = 200


def _cut(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def split_reason(text: str) -> tuple[str, str, str]:
    """(category, reason, what lifts it) of a typed skip message."""
    category, reason = skips.parse(text)
    found = _OPTION_HINT.search(reason)
    if found:
        return category, reason[: found.start()], reason[found.end():]
    for needle, lift in LIFTS:
        if needle in reason:
            return category, reason, lift
    if category == skips.NOT_IN_SPEC:
        return category, reason, "another --api-version"
    return category, reason, ""


@dataclass
class SkipGroup:
    category: str
    reason: str
    lift: str
    count: int = 0

    def line(self) -> str:
        lift = f" -> {_cut(self.lift, 80)}" if self.lift else ""
        return f"  {self.count:4d} [{self.category}] {_cut(self.reason, 100)}{lift}"


def skip_groups(reasons: Iterable[str]) -> list[SkipGroup]:
    """Skipped tests grouped by (category, reason), most frequent first."""
    groups: dict[tuple[str, str], SkipGroup] = {}
    for text in reasons:
        category, reason, lift = split_reason(text)
        group = groups.setdefault((category, reason), SkipGroup(category, reason, lift))
        group.count += 1
    return sorted(groups.values(), key=lambda g: (-g.count, g.category, g.reason))


@dataclass
class FailureGroup:
    check: str
    operation: str
    state: str
    first: str  # the first finding's message
    nodeid: str  # the first test that has it
    versions: set[str] = field(default_factory=set)
    count: int = 0

    def lines(self) -> list[str]:
        versions = ",".join(sorted(self.versions)) or "-"
        return [f"  {self.state} {self.check} {self.operation} {versions} ({self.count}x): {_cut(self.first, 150)}",
                f"      {self.nodeid}"]


def failure_groups(outcomes: Iterable[dict[str, Any]]) -> list[FailureGroup]:
    """Failing findings grouped by (check, operation), in the order they were recorded."""
    groups: dict[tuple[str, str], FailureGroup] = {}
    for outcome in outcomes:
        if outcome.get("state") not in BAD_STATES:
            continue
        findings = [f for f in outcome.get("findings") or [] if f.get("state") in BAD_STATES] or [
            {"check": "test", "message": outcome.get("reason") or "failed", "state": outcome["state"]}]
        for finding in findings:
            key = (str(finding.get("check")), str(outcome.get("operation")))
            group = groups.setdefault(key, FailureGroup(key[0], key[1], str(finding.get("state")),
                                                        str(finding.get("message") or ""),
                                                        str(outcome.get("nodeid") or "")))
            group.count += 1
            group.versions.add(str(outcome.get("version") or ""))
            if finding.get("state") == "error":
                group.state = "error"
    return list(groups.values())


def coverage_line(coverage: dict[str, Any]) -> str:
    """(operation, status) coverage in one line, whatever the number of versions."""
    rows = coverage.get("versions") or {}
    if not rows:
        return ""
    if len(rows) <= 2:
        return "(operation, status) pairs exercised: " + "; ".join(
            f"API {v} {r['exercised']}/{r['declared']} ({r['ratio']:.1%})" for v, r in rows.items())
    low = min(rows.items(), key=lambda kv: kv[1]["ratio"])
    high = max(rows.items(), key=lambda kv: kv[1]["ratio"])
    hit, declared = sum(r["exercised"] for r in rows.values()), sum(r["declared"] for r in rows.values())
    return (f"(operation, status) pairs exercised over {len(rows)} versions: {hit}/{declared} "
            f"({hit / declared if declared else 1:.1%}); lowest API {low[0]} {low[1]['ratio']:.1%}, "
            f"highest API {high[0]} {high[1]['ratio']:.1%}")


def counts_line(tests: dict[str, int]) -> str:
    order = ("passed", "failed", "error", "skipped", "xfailed", "not run")
    known = [k for k in order if tests.get(k)] + sorted(k for k in tests if k not in order and tests[k])
    return ", ".join(f"{tests[k]} {k}" for k in known) or "no tests"


def paths_line(paths: list[Path]) -> str:
    if not paths:
        return ""
    folders = {p.parent for p in paths}
    if len(folders) == 1:
        return f"reports in {next(iter(folders))}/: " + ", ".join(p.name for p in paths)
    return "reports: " + ", ".join(str(p) for p in paths)


def skip_lines(groups: list[SkipGroup], limit: int) -> list[str]:
    total = sum(g.count for g in groups)
    if not total:
        return []
    lines = [f"skipped {total} tests, by reason (-> what lifts it):"]
    lines += [g.line() for g in groups[:limit]]
    rest = groups[limit:]
    if rest:
        lines.append(f"  {sum(g.count for g in rest):4d} for {len(rest)} other reasons (-ra lists every skipped test)")
    return lines


def failure_lines(groups: list[FailureGroup], limit: int) -> list[str]:
    if not groups:
        return []
    tests = {g.nodeid for g in groups}
    lines = [f"failures by check and operation ({len(groups)}; first finding, first test; --tb=short -ra for "
             f"each test):"] if tests else []
    for group in groups[:limit]:
        lines += group.lines()
    if len(groups) > limit:
        lines.append(f"  ... {len(groups) - limit} more (results.json has them all)")
    return lines
