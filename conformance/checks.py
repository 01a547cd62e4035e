"""Small named checks of one exchange against one operation of one spec version.

Each check returns a list of Problems and knows nothing of pytest: tests compose them and the
recorder keeps their results.  `CHECKS` is the order in which `run_checks` applies them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from conformance.exchange import Exchange
from conformance.framing import framing, parse_json_records
from conformance.pointers import segments
from conformance.registry import require
from conformance.spec import Operation, Spec

JSON_TYPES = ("application/json",)
LIST_ITEMS_FILE = Path(__file__).resolve().parent.parent / "schemas" / "list_items.yaml"
NO_BODY_STATUSES = (204, 304)


@dataclass(frozen=True)
class Problem:
    check: str  # a name declared in conformance/registry.py
    message: str
    pointer: str = ""  # JSON pointer into the body, for schema problems
    schema_type: str = ""  # body_schema type mismatches: the type the schema declares at `pointer`
    found: str = ""  # body_schema: an excerpt of the value found there ("null")
    instance: Any = field(default=None, compare=False, repr=False)  # body_schema: the value at `pointer`

    def __post_init__(self) -> None:
        require(self.check)


def _declared(op: Operation, status: int) -> bool:
    return str(status) in op.responses or "default" in op.responses


def status_declared(spec: Spec, op: Operation, ex: Exchange) -> list[Problem]:
    if _declared(op, ex.status):
        return []
    return [Problem("status_declared",
                    f"{op.id} at API {spec.version} answered {ex.status}, which the spec does not declare "
                    f"(declared: {', '.join(op.statuses)}); body: {ex.excerpt(200)!r}")]


def _expects_json(spec: Spec, op: Operation, ex: Exchange) -> bool:
    """Whether the body must be JSON: errors always; successes when the status has a JSON schema.

    A schema with no type (swagger's binary/file bodies) or a framed stream (schemas/streams.yaml:
    stdio, tar) is not JSON; json-lines streams are JSON records and are validated record by record.
    """
    if ex.status >= 400:
        return True
    if framing(op.id) in ("stdio", "tar"):
        return False
    schema = spec.response_schema(op, ex.status)
    if not schema or schema.get("type") == "string":
        return False
    return any(p in JSON_TYPES for p in op.produces)


def content_type(spec: Spec, op: Operation, ex: Exchange) -> list[Problem]:
    if ex.method == "HEAD" or ex.status in NO_BODY_STATUSES or not ex.body:
        return []
    media = ex.media_type
    if ex.status >= 400:
        wanted = "application/json (errors are ErrorResponse JSON)"
    elif _expects_json(spec, op, ex):
        wanted = "application/json"
    else:
        return []  # text, tar and stdio bodies: their own framing checks own the media type
    if media in JSON_TYPES:
        return []
    return [Problem("content_type", f"{op.id} {ex.status}: Content-Type {media or '(none)'!r}, expected {wanted}")]


def body_schema(spec: Spec, op: Operation, ex: Exchange) -> list[Problem]:
    if ex.method == "HEAD" or ex.status in NO_BODY_STATUSES or not _declared(op, ex.status):
        return []
    schema = spec.response_schema(op, ex.status)
    if not schema or not _expects_json(spec, op, ex) or ex.media_type not in (*JSON_TYPES, ""):
        return []  # a non-JSON media type is content_type's finding; a missing one does not spare the body
    key = f"{op.id}:{ex.status}"
    if ex.status < 300 and framing(op.id) == "json-lines":
        # A stream of records, each validated against the declared schema; pointers get /<index>.
        records, errors = parse_json_records(ex.body)
        out = [Problem("body_schema", f"{op.id} {ex.status}: {e}") for e in errors]
        for index, record in enumerate(records):
            for p in spec.validator.problems(key, schema, record):
                pointer = f"/{index}{p.pointer}"
                out.append(Problem("body_schema", f"{op.id} {ex.status} at API {spec.version}: record {index} {p}",
                                   pointer, p.schema_type, p.found, p.instance))
        return out
    try:
        body = json.loads(ex.body)
    except ValueError as exc:
        return [Problem("body_schema", f"{op.id} {ex.status}: body is not JSON ({exc}): {ex.excerpt(120)!r}")]
    found = spec.validator.problems(key, schema, body, size=len(ex.body))
    return [Problem("body_schema", f"{op.id} {ex.status} at API {spec.version}: {p}", p.pointer, p.schema_type,
                    p.found, p.instance) for p in found]


def error_body(spec: Spec, op: Operation, ex: Exchange) -> list[Problem]:
    """Error statuses carry ErrorResponse JSON ({"message": string}), declared or not."""
    if ex.status < 400 or ex.method == "HEAD":
        return []
    try:
        body = json.loads(ex.body)
    except ValueError:
        return [Problem("error_body", f"{op.id} {ex.status}: error body is not JSON: {ex.excerpt(120)!r}")]
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return [Problem("error_body", f"{op.id} {ex.status}: error body lacks a string `message`: {ex.excerpt(120)!r}")]
    return []


def read_limit(spec: Spec, op: Operation, ex: Exchange) -> list[Problem]:
    """A body cut at the suite's size limit cannot be judged: an error of the suite, naming the limit."""
    if ex.truncated:
        return [Problem("read_limit", f"{op.id}: the suite stopped reading the body at its limit of {len(ex.body)} "
                                      "bytes (--max-body-bytes); the body's checks were not run")]
    return []


def complete_read(spec: Spec, op: Operation, ex: Exchange) -> list[Problem]:
    if ex.timed_out:
        return [Problem("complete_read", f"{op.id}: the response did not end within the time limit "
                                         f"({ex.elapsed:.1f} s, {len(ex.body)} bytes read)")]
    return []


def request_filters(ex: Exchange) -> dict[str, Any]:
    """The request's `filters` query parameter as sent (a JSON object; {} when absent or not JSON)."""
    query = parse_qs(urlsplit(ex.path).query)
    try:
        filters = json.loads(query.get("filters", ["{}"])[0])
    except ValueError:
        return {}
    return filters if isinstance(filters, dict) else {}


def _label_filters(ex: Exchange) -> list[str]:
    """The `label` entries of the request's `filters` query parameter (both JSON forms)."""
    labels = request_filters(ex).get("label")
    if isinstance(labels, dict):  # the old {"label": {"k=v": true}} form
        return [k for k, v in labels.items() if v]
    return [str(v) for v in labels] if isinstance(labels, list) else []


@cache
def list_items() -> dict[str, str]:
    """operationId -> JSON pointer to the array of items in its list body (data: schemas/list_items.yaml)."""
    data = yaml.safe_load(LIST_ITEMS_FILE.read_text()) or {}
    if not isinstance(data, dict) or not all(isinstance(v, str) and v.startswith("/") for v in data.values()):
        raise ValueError(f"{LIST_ITEMS_FILE}: expected `OperationId: /json/pointer` lines")
    return data


def _items(op: Operation, body: object) -> tuple[str, list[object]]:
    """(pointer, items) of a list body: the body itself when it is an array, else the array at the
    operation's pointer in schemas/list_items.yaml (no items when the operation has no entry there)."""
    pointer = ""
    if not isinstance(body, list):
        pointer = list_items().get(op.id, "")
        if not pointer:
            return "", []
        for part in segments(pointer):
            body = body.get(part) if isinstance(body, dict) else None
    return pointer, body if isinstance(body, list) else []


def label_filter_honoured(spec: Spec, op: Operation, ex: Exchange) -> list[Problem]:
    """A list answered to filters={"label": [...]} holds only objects carrying those labels."""
    wanted = _label_filters(ex)
    if ex.status != 200 or not wanted or ex.media_type not in JSON_TYPES or framing(op.id):
        return []
    try:
        where, items = _items(op, json.loads(ex.body))
    except ValueError:
        return []  # body_schema reports it
    problems = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue  # body_schema reports it
        labels = item.get("Labels") or (item.get("Spec") or {}).get("Labels") or {}
        for entry in wanted:
            key, has_value, value = entry.partition("=")
            if key not in labels or (has_value and labels[key] != value):
                name = item.get("Id") or item.get("ID") or item.get("Name") or index
                problems.append(Problem("label_filter_honoured", f"{op.id}: item {index} ({str(name)[:24]}) does "
                                        f"not match the label filter {entry!r} (its labels: {labels})",
                                        f"{where}/{index}"))
                break
    return problems


def is_stream_error(record: object) -> bool:
    """A progress record that reports failure: the Engine's in-stream error (`error` / `errorDetail`)."""
    return isinstance(record, dict) and ("error" in record or "errorDetail" in record)


def stream_error(spec: Spec, op: Operation, ex: Exchange) -> list[Problem]:
    """A 2xx JSON-lines stream must not carry an error: the status was sent before the work failed.

    Not in CHECKS: a test that provokes an in-stream error on purpose judges the stream itself
    (streams.progress_stream); the scenario runner, whose successes must succeed, adds this one."""
    if not 200 <= ex.status < 300 or framing(op.id) != "json-lines" or not ex.body:
        return []
    records, _ = parse_json_records(ex.body)  # records that are not JSON are body_schema's finding
    failed = next((r for r in records if is_stream_error(r)), None)
    if failed is None:
        return []
    return [Problem("stream_error", f"{op.id} {ex.status}: the stream reports an error: {json.dumps(failed)[:200]}")]


Check = Callable[[Spec, Operation, Exchange], list[Problem]]
CHECKS: dict[str, Check] = {
    "read_limit": read_limit,
    "status_declared": status_declared,
    "complete_read": complete_read,
    "content_type": content_type,
    "body_schema": body_schema,
    "error_body": error_body,
    "label_filter_honoured": label_filter_honoured,
}


for _name in CHECKS:
    require(_name)


def merge_problems(*groups: dict[str, list[Problem]]) -> dict[str, list[Problem]]:
    """Problems of several responses (or several sources) per check, none dropped."""
    merged: dict[str, list[Problem]] = {}
    for group in groups:
        for name, found in group.items():
            merged.setdefault(name, []).extend(found)
    return merged


BODY_CHECKS = ("content_type", "body_schema", "error_body", "label_filter_honoured")


def run_checks(spec: Spec, op: Operation, ex: Exchange, names: Iterable[str] | None = None) -> dict[str, list[Problem]]:
    """Every named check's problems (an empty list means it passed).  A body cut at the read limit is
    not judged by the body checks: read_limit reports the suite's limit instead."""
    wanted = [n for n in (names or CHECKS) if not (ex.truncated and n in BODY_CHECKS)]
    return {name: CHECKS[name](spec, op, ex) for name in wanted}


def status_expected(op: Operation, ex: Exchange, expected: Iterable[int]) -> list[Problem]:
    wanted = sorted(set(expected))
    if ex.status in wanted:
        return []
    return [Problem("status_expected", f"{op.id}: expected HTTP {'/'.join(map(str, wanted))}, got {ex.status}: "
                                       f"{ex.excerpt(200)!r}")]
