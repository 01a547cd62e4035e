"""Excuses accounted for: what each erratum and deviation explained in a run, and which ones are stale.

An entry is *matched* when it explained at least one finding, *stale* when the responses it is about
were checked by its check and it explained none of them ("exercised and not seen": evidence that the
behaviour is gone), and *not exercised* when no response it is about was checked in this run (a skip,
another version, another engine release): that is no evidence either way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from conformance.expectations import Expectation

RAN = ("pass", "fail", "known-deviation", "spec-erratum", "not-observed", "error")


def _about(entry: Expectation, test: dict[str, Any]) -> bool:
    """Whether a checked response could show what the entry explains: pointers into a body exist only in the
    success bodies they were named from, so an error answer (a 503 of a non-manager) does not exercise them."""
    if entry.check == "body_schema" and any(entry.pointers):
        return 200 <= int(test.get("status") or 0) < 300
    return True


def excused_findings(findings: Iterable[dict[str, Any]]) -> Counter[str]:
    """Entry id -> how many findings it excused."""
    return Counter(f["expectation"] for f in findings if f.get("expectation") and f.get("state") != "fail")


def account(entries: list[Expectation], tests: list[dict[str, Any]], kind: str,
            engine_version: str) -> dict[str, Any]:
    """{matched: {id: count}, stale: [...], not_exercised: [...]} over a run's outcomes."""
    matched: Counter[str] = Counter()
    for test in tests:
        matched.update(excused_findings(test.get("findings") or []))
    stale, idle = [], []
    for entry in entries:
        if matched[entry.id]:
            continue
        exercised = sorted({f"{t['operation']} {t['version']}" for t in tests
                            if t.get("version") not in (None, "-")
                            and (t.get("checks") or {}).get(entry.check) in RAN and _about(entry, t)
                            and entry.covers(kind, t["version"], t["operation"], engine_version)}, key=str)
        item = {"id": entry.id, "state": entry.state, "check": entry.check, "reason": entry.reason}
        if exercised:
            stale.append({**item, "exercised": exercised[:20], "exercised_count": len(exercised)})
        else:
            idle.append(item)
    return {"matched": dict(sorted(matched.items())), "stale": stale, "not_exercised": idle}
