"""API version arithmetic and `--api-version` selection."""

from __future__ import annotations

import re
from dataclasses import dataclass

Version = tuple[int, int]


class VersionError(ValueError):
    """An --api-version value we cannot read or satisfy."""


def parse(text: str) -> Version:
    """'1.41' -> (1, 41); raises VersionError with the offending text."""
    parts = str(text).strip().lstrip("v").split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise VersionError(f"{text!r} is not an API version like 1.41")
    return int(parts[0]), int(parts[1])


def fmt(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


ANY_RANGE = "1.0-9.99"


def parse_range(text: object) -> tuple[str, str]:
    """'1.25-1.41' -> ('1.25', '1.41'); '1.30' -> ('1.30', '1.30'); empty -> every version."""
    first, _, last = str(text or ANY_RANGE).partition("-")
    parse(first)
    parse(last or first)
    return first.strip(), (last or first).strip()


@dataclass(frozen=True)
class Selection:
    """Versions to run, and versions the user asked for that the target cannot serve."""

    run: tuple[str, ...]
    not_applicable: tuple[str, ...]


def select(request: str, available: list[str], target_min: str | None, target_max: str | None) -> Selection:
    """Resolve `auto | X.Y | X.Y-X.Z | all` against our schema versions and the target's range.

    `available` are the versions we have spec data for.  Requested versions outside the
    target's range are returned as not applicable rather than dropped silently.
    """
    ours = sorted(parse(v) for v in available)
    if not ours:
        raise VersionError("no spec data available")
    lo = parse(target_min) if target_min else ours[0]
    hi = parse(target_max) if target_max else ours[-1]
    in_target = [v for v in ours if lo <= v <= hi]
    request = (request or "auto").strip()
    if request == "auto":
        if not in_target:
            raise VersionError(
                f"the target serves API {fmt(lo)}-{fmt(hi)} and our spec data covers {fmt(ours[0])}-{fmt(ours[-1])}: "
                "no version in common"
            )
        return Selection((fmt(in_target[-1]),), ())
    if request == "all":
        wanted = ours
    elif "-" in request:
        first, _, last = request.partition("-")
        a, b = parse(first), parse(last)
        if a > b:
            raise VersionError(f"--api-version {request}: the range is reversed")
        wanted = [v for v in ours if a <= v <= b]
        if not wanted:
            raise VersionError(f"--api-version {request}: no spec data in that range ({fmt(ours[0])}-{fmt(ours[-1])})")
    else:
        one = parse(request)
        if one not in ours:
            raise VersionError(
                f"--api-version {request}: no spec data for that version (have {fmt(ours[0])}-{fmt(ours[-1])}; "
                "pass --spec FILE to use another spec)"
            )
        wanted = [one]
    run = tuple(fmt(v) for v in wanted if lo <= v <= hi)
    skipped = tuple(fmt(v) for v in wanted if not lo <= v <= hi)
    return Selection(run, skipped)


# --- engine releases ("20.10.24+dfsg1", "28.4.0", "v23.0.1-rc.1") ---------------------------

Release = tuple[int, ...]


def parse_release(text: str) -> Release:
    """The leading numeric parts of an engine release: '20.10.24+dfsg1' -> (20, 10, 24); () when none."""
    parts: list[int] = []
    for piece in str(text).strip().lstrip("v").replace("-", ".").replace("+", ".").split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def parse_release_range(text: str) -> tuple[Release, Release]:
    """'20.10' (that line), '20.10-22' (inclusive), '23-' (23 and later), '-22' (up to 22.x); '' -> any.

    A bound names a release line by prefix: '22' includes 22.0.0 … 22.x.y.  VersionError on anything else.
    """
    text = str(text or "").strip()
    if not text:
        return (), ()
    low, dash, high = text.partition("-") if not text.startswith("v") else text[1:].partition("-")
    if not dash:
        high = low
    low, high = low.strip(), high.strip()
    if any(bound and not re.fullmatch(r"\d+(\.\d+)*", bound) for bound in (low, high)):
        raise VersionError(f"{text!r} is not an engine release range like 20.10, 20.10-22, 23- or -22")
    lo, hi = parse_release(low) if low else (), parse_release(high) if high else ()
    if lo and hi and lo[:len(hi)] > hi:
        raise VersionError(f"engine release range {text!r} is reversed")
    return lo, hi


def release_in(version: str, bounds: tuple[Release, Release]) -> bool:
    """Whether an engine release lies in a range from parse_release_range (unknown releases never do)."""
    lo, hi = bounds
    if not lo and not hi:
        return True
    found = parse_release(version)
    if not found:
        return False
    return (not lo or found[:len(lo)] >= lo) and (not hi or found[:len(hi)] <= hi)
