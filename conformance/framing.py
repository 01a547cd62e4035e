"""Which operations stream, and how their bodies are framed (data: schemas/streams.yaml)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

STREAMS_FILE = Path(__file__).resolve().parent.parent / "schemas" / "streams.yaml"
FRAMINGS = ("json-lines", "stdio", "tar")
RS = b"\x1e"


@cache
def framings() -> dict[str, str]:
    data = yaml.safe_load(STREAMS_FILE.read_text()) or {}
    bad = {k: v for k, v in data.items() if v not in FRAMINGS}
    if bad:
        raise ValueError(f"{STREAMS_FILE}: unknown framing {bad}; known: {FRAMINGS}")
    return data


def framing(op_id: str) -> str | None:
    return framings().get(op_id)


def split_json_records(body: bytes) -> list[tuple[int, bytes]]:
    """(offset, record) pairs of a newline- or RS-separated JSON stream; blank records dropped."""
    records = []
    offset = 0
    for line in body.replace(RS, b"\n").split(b"\n"):
        if line.strip():
            records.append((offset, line))
        offset += len(line) + 1
    return records


def parse_json_records(body: bytes) -> tuple[list[Any], list[str]]:
    """Decoded records and, for each record that is not a JSON value, a message naming its offset."""
    values, errors = [], []
    for offset, record in split_json_records(body):
        try:
            values.append(json.loads(record))
        except ValueError as exc:
            errors.append(f"record at byte {offset} is not JSON ({exc}): {record[:80]!r}")
    return values, errors
