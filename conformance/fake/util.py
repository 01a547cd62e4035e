"""Small shared helpers: ids, timestamps in the Engine's formats, filters, versions."""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Protocol, TypeVar

from .wire import ApiError

ZERO_TIME = "0001-01-01T00:00:00Z"
Version = tuple[int, int]


def parse_version(text: str) -> Version:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def version_str(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def new_id() -> str:
    return secrets.token_hex(32)


def now_ns() -> int:
    return time.time_ns()


def rfc3339(ns: int) -> str:
    """RFC 3339 with nanoseconds, as Go's time.RFC3339Nano (trailing zeros trimmed)."""
    secs, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(secs, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        base += "." + f"{frac:09d}".rstrip("0")
    return base + "Z"


def parse_time(value: str, now: float | None = None) -> float:
    """since/until values: unix seconds (fractional ok), RFC 3339, or a Go duration back from now."""
    value = value.strip()
    now = time.time() if now is None else now
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", value)
    if match:
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[match.group(2)]
        return now - float(match.group(1)) * unit
    try:
        text = value.replace("Z", "+00:00")
        if "." in text:  # Python wants at most 6 fractional digits
            head, _, rest = text.partition(".")
            digits = re.match(r"\d+", rest)
            frac = digits.group(0) if digits else ""
            text = head + "." + frac[:6].ljust(6, "0") + rest[len(frac):]
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    except ValueError:
        raise ApiError(400, f"failed to parse value as time or duration: {value!r}") from None


def human_duration(seconds: float) -> str:
    """docker's units.HumanDuration, used in container Status strings."""
    seconds = int(seconds)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24} days"


def parse_filters(raw: str | None, allowed: Iterable[str] | None = None) -> dict[str, list[str]]:
    """The `filters` query value: {"k": ["v"]} or the legacy {"k": {"v": true}} form."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(400, f"invalid filter: {raw}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"invalid filter: {raw}")
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = [k for k, on in value.items() if on]
        elif isinstance(value, list):
            out[key] = [str(v) for v in value]
        else:
            out[key] = [str(value)]
    if allowed is not None:
        allowed = set(allowed)
        for key in out:
            if key not in allowed:
                raise ApiError(400, f"invalid filter '{key}'")
    return out


def match_labels(labels: Mapping[str, str] | None, wanted: Iterable[str]) -> bool:
    """All label filters must match: "k", "k=v" or "k!=v"."""
    labels = labels or {}
    for item in wanted:
        if "!=" in item:
            key, _, value = item.partition("!=")
            if labels.get(key) == value:
                return False
        elif "=" in item:
            key, _, value = item.partition("=")
            if key not in labels or labels[key] != value:
                return False
        elif item not in labels:
            return False
    return True


def prune_selects(filters: Mapping[str, list[str]], labels: Mapping[str, str] | None, created: float,
                  until: Iterable[float]) -> bool:
    """A prune's `label`, `label!` and `until` filters (`until` parsed by the caller, seconds)."""
    if filters.get("label") and not match_labels(labels, filters["label"]):
        return False
    if filters.get("label!") and match_labels(labels, filters["label!"]):
        return False
    return not any(created > u for u in until)


class _HasId(Protocol):
    id: str


_Item = TypeVar("_Item", bound=_HasId)


def find_by_ref(items: Iterable[_Item], ref: str, name_of: Callable[[_Item], str | None]) -> _Item | None:
    """The Engine's lookup: exact id or name, else a unique id prefix (an ambiguous prefix matches nothing)."""
    items = list(items)
    for item in items:
        if ref in (item.id, name_of(item)):
            return item
    hits = [item for item in items if item.id.startswith(ref)] if ref else []
    return hits[0] if len(hits) == 1 else None


def truthy(values: list[str]) -> bool:
    return any(v.lower() in ("1", "true") for v in values)


def check_listen_addr(addr: str) -> None:
    """As moby daemon/cluster/listen_addr.go resolveListenAddr: HOST:PORT, HOST an IP or an interface (400)."""
    if not addr:
        return
    host, sep, _ = addr.rpartition(":")
    if not sep or (":" in host and not (host.startswith("[") and host.endswith("]"))):
        raise ApiError(400, f"could not parse listen address {addr}")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if host not in ("lo", "eth0"):  # the fake's interfaces
            raise ApiError(400, "listen address must be an IP address or network interface (with optional port "
                                "number)") from None


# moby/term ToBytes: "ctrl-" and one of these name the control byte; a single character stands for itself.
_CTRL_NAMES = {**{chr(c): c - ord("a") + 1 for c in range(ord("a"), ord("z") + 1)},
               "@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def detach_keys(text: str) -> bytes:
    """A detachKeys value ("ctrl-p,ctrl-q") as the byte sequence that detaches; ValueError when it names
    no key (moby/term ToBytes)."""
    out = bytearray()
    for key in text.split(","):
        lower = key.lower()
        if len(key) == 1:
            out.append(ord(key))
        elif lower.startswith("ctrl-") and len(lower) == 6 and lower[5] in _CTRL_NAMES:
            out.append(_CTRL_NAMES[lower[5]])
        else:
            raise ValueError(f"Unknown character: '{key}'")
    return bytes(out)
