"""Strict validators of streamed bodies: stdio frames, raw streams, JSON lines and sequences, tar.

Pure functions over bytes (no I/O): each returns `Problem`s named after its check, with the byte
offset or record index of what was wrong, so a self-test can feed them corrupt input directly.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import tarfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.checks import Problem, is_stream_error, request_filters
from conformance.exchange import Exchange
from conformance.framing import RS, parse_json_records

MUX_HEADER = 8
MUX_STREAMS = {0: "stdin", 1: "stdout", 2: "stderr"}
MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"
# RFC 3339 with nanoseconds as Go's time.RFC3339Nano writes it (trailing zeros trimmed, Z or offset).
RFC3339_NANO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}) ")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
# Headers the docker CLI reads from every /_ping whatever the spec version declares (it picks the
# API version, the experimental flag and the OS of the daemon from them).
PING_BASELINE_HEADERS = ("API-Version", "Docker-Experimental", "OSType")
EVENT_FIELDS = {"Type": str, "Action": str, "Actor": dict, "time": int, "timeNano": int}
PATH_STAT_FIELDS = {"name": str, "size": int, "mode": int, "mtime": str, "linkTarget": str}


# --- multiplexed stdio ----------------------------------------------------------------------

@dataclass
class MuxParse:
    frames: list[tuple[int, int, bytes]] = field(default_factory=list)  # (offset, stream, payload)
    error: str = ""  # the first framing error, naming its byte offset
    consumed: int = 0  # bytes of whole frames

    def payload(self, stream: int) -> bytes:
        return b"".join(p for _, s, p in self.frames if s == stream)


def parse_mux(data: bytes, complete: bool = True) -> MuxParse:
    """Split a multiplexed stream into frames, stopping at the first violation.

    `complete=False` accepts a trailing partial frame (a live stream cut at the read limit).
    """
    out = MuxParse()
    offset = 0
    while offset < len(data):
        header = data[offset:offset + MUX_HEADER]
        if len(header) < MUX_HEADER:
            if complete:
                out.error = f"truncated frame header at byte {offset}: {len(header)} of 8 bytes"
            break
        if header[0] not in MUX_STREAMS:
            out.error = f"bad stream byte {header[0]} at byte {offset} (expected 0, 1 or 2)"
            break
        if header[1:4] != b"\0\0\0":
            out.error = f"non-zero padding {header[1:4].hex()} in the frame header at byte {offset}"
            break
        size = int.from_bytes(header[4:8], "big")
        payload = data[offset + MUX_HEADER:offset + MUX_HEADER + size]
        if len(payload) < size:
            if complete:
                out.error = (f"short frame at byte {offset}: header says {size} bytes, "
                             f"{len(payload)} follow before the end")
            break
        out.frames.append((offset, header[0], payload))
        offset += MUX_HEADER + size
        out.consumed = offset
    return out


def mux_frames(data: bytes, complete: bool = True, expect: dict[int, bytes] | None = None) -> list[Problem]:
    """The stream is well-formed frames; `expect` maps stream -> bytes that stream must contain."""
    parsed = parse_mux(data, complete)
    if parsed.error:
        return [Problem("mux_frames", f"multiplexed stream: {parsed.error} ({len(data)} bytes: {data[:48]!r})")]
    problems = []
    for stream, wanted in (expect or {}).items():
        got = parsed.payload(stream)
        if wanted not in got:
            problems.append(Problem("mux_frames", f"{MUX_STREAMS[stream]} frames carry {got[:120]!r}, "
                                                  f"which lacks {wanted!r}"))
    return problems


def raw_stream(data: bytes, expect: bytes) -> list[Problem]:
    """A TTY stream is raw: the expected text appears as is, and the bytes are not stdio frames of it."""
    parsed = parse_mux(data)
    if data and not parsed.error and parsed.frames and expect in b"".join(p for _, _, p in parsed.frames):
        return [Problem("raw_stream", f"TTY stream is multiplexed ({len(parsed.frames)} frames, first header "
                                      f"{data[:8].hex()}), expected raw bytes")]
    normalized = data.replace(b"\r\n", b"\n")
    if expect not in data and expect not in normalized:
        return [Problem("raw_stream", f"raw stream lacks {expect!r}: {data[:120]!r}")]
    return []


def stream_content_type(produces: Sequence[str], media_type: str, tty: bool, upgraded: bool = True) -> list[Problem]:
    """The Content-Type of a stdio stream against the operation's declared `produces`.

    When the spec names both vnd.docker stream types (1.42+) the header must say which one the body is:
    moby labels a non-TTY stream multiplexed only on the 101 Upgrade path of attach and exec start, and
    raw-stream on a plain (non-Upgrade) hijack whatever the TTY (api/server/router/container/
    container_routes.go postContainersAttach, exec.go postContainerExecStart); logs are not hijacked and
    follow the TTY.  Otherwise the header, if any, must be one the operation declares.
    """
    declared = [p.lower() for p in produces if p]
    if MULTIPLEXED in declared and RAW in declared:
        wanted = RAW if tty or not upgraded else MULTIPLEXED
        if media_type != wanted:
            return [Problem("stream_content_type", f"Content-Type {media_type or '(none)'!r} for a "
                                                   f"{'TTY' if tty else 'non-TTY'}{'' if upgraded else ' plain'} "
                                                   f"stream, expected {wanted}")]
        return []
    if not media_type:
        return [Problem("stream_content_type", f"no Content-Type; the spec declares {', '.join(declared)}")]
    if declared and media_type not in declared:
        return [Problem("stream_content_type", f"Content-Type {media_type!r} is not declared "
                                               f"(declared: {', '.join(declared)})")]
    return []


# --- JSON streams ---------------------------------------------------------------------------

def json_lines(body: bytes, complete: bool = True) -> tuple[list[Any], list[Problem]]:
    """Newline-delimited JSON objects: every non-blank line one object; no RS bytes."""
    records: list[Any] = []
    problems: list[Problem] = []
    offset = 0
    lines = body.split(b"\n")
    if not complete and lines and lines[-1]:
        lines = lines[:-1]  # a live stream cut mid-record
    for index, line in enumerate(lines):
        start = offset
        offset += len(line) + 1
        if not line.strip():
            continue
        if RS in line:
            problems.append(Problem("json_lines", f"record at byte {start} contains an RS (0x1E) byte; "
                                                  "json-lines has none"))
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            problems.append(Problem("json_lines", f"line {index} at byte {start} is not JSON ({exc}): {line[:80]!r}"))
            continue
        if not isinstance(value, dict):
            problems.append(Problem("json_lines", f"line {index} at byte {start} is a JSON "
                                                  f"{type(value).__name__}, not an object"))
            continue
        records.append(value)
    return records, problems


def json_seq(body: bytes) -> tuple[list[Any], list[Problem]]:
    """RFC 7464: every record is RS, a JSON text, LF."""
    records: list[Any] = []
    if not body:
        return records, []
    if not body.startswith(RS):
        return records, [Problem("json_seq", f"json-seq body does not start with RS (0x1E) at byte 0: {body[:40]!r}")]
    offset = 0
    for part in body.split(RS)[1:]:
        offset += 1
        if not part.endswith(b"\n"):
            return records, [Problem("json_seq", f"record at byte {offset} does not end with LF: {part[:60]!r}")]
        try:
            records.append(json.loads(part))
        except ValueError as exc:
            return records, [Problem("json_seq", f"record at byte {offset} is not JSON ({exc}): {part[:60]!r}")]
        offset += len(part)
    return records, []


def single_json_object(body: bytes) -> tuple[Any, list[Problem]]:
    """Exactly one JSON object (optionally followed by a newline): stats with stream=false."""
    text = body.strip()
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, [Problem("single_json_object", f"expected one JSON object, got {len(body)} bytes that do "
                                                    f"not parse as one ({exc}): {body[:80]!r}")]
    if not isinstance(value, dict):
        return None, [Problem("single_json_object", f"expected one JSON object, got a {type(value).__name__}")]
    return value, []


def progress_stream(records: list[dict[str, Any]], expect_error: bool) -> list[Problem]:
    """Progress records; an error travels in-stream as `error` with `errorDetail.message`."""
    problems = []
    errors = []
    if not records:
        problems.append(Problem("progress_stream", "no progress records at all"))
    for index, record in enumerate(records):
        if is_stream_error(record):
            errors.append(index)
            detail = record.get("errorDetail")
            if not isinstance(record.get("error"), str) or not isinstance(detail, dict) \
                    or not isinstance(detail.get("message"), str):
                problems.append(Problem("progress_stream", f"record {index}: an in-stream error needs a string "
                                                           f"`error` and `errorDetail.message`: {record}"))
    if expect_error and not errors:
        problems.append(Problem("progress_stream", f"no in-stream error among {len(records)} records; "
                                                   f"last: {records[-1] if records else None}"))
    if not expect_error and errors:
        problems.append(Problem("progress_stream", f"unexpected in-stream error: {records[errors[0]]}"))
    return problems


def event_shape(event: Any, index: int) -> list[Problem]:
    if not isinstance(event, dict):
        return [Problem("event_shape", f"event {index} is not an object")]
    problems = [Problem("event_shape", f"event {index}: `{name}` missing or not {kind.__name__}: {event.get(name)!r}")
                for name, kind in EVENT_FIELDS.items() if not isinstance(event.get(name), kind)]
    actor = event.get("Actor")
    if isinstance(actor, dict):
        if not isinstance(actor.get("ID"), str):
            problems.append(Problem("event_shape", f"event {index}: Actor.ID missing or not a string"))
        if not isinstance(actor.get("Attributes"), dict):
            problems.append(Problem("event_shape", f"event {index}: Actor.Attributes missing or not an object"))
    if isinstance(event.get("time"), int) and isinstance(event.get("timeNano"), int) \
            and event["timeNano"] // 1_000_000_000 != event["time"]:
        problems.append(Problem("event_shape", f"event {index}: timeNano {event['timeNano']} is not time "
                                               f"{event['time']} in nanoseconds"))
    return problems


def event_sequence(events: list[dict[str, Any]], actor_id: str, expected: Sequence[str]) -> list[Problem]:
    """The actor's actions contain `expected` in order (other actions may come between)."""
    actions = [e.get("Action") for e in events if (e.get("Actor") or {}).get("ID") == actor_id]
    position = 0
    for action in actions:
        if position < len(expected) and action == expected[position]:
            position += 1
    if position == len(expected):
        return []
    return [Problem("event_sequence", f"events of {actor_id[:12]}: {actions}; expected {list(expected)} in order "
                                      f"(missing from {expected[position]!r})")]


def _by_name_or_id(event: dict[str, Any], values: list[str]) -> bool:
    """`<key>=<name or ID>`: a value is a prefix of the actor's ID or of its `name` attribute (moby FuzzyMatch)."""
    actor = event.get("Actor") or {}
    candidates = [str(actor.get("ID") or ""), str((actor.get("Attributes") or {}).get("name") or "")]
    return any(c and c.startswith(v) for v in values for c in candidates)


def _familiar(image: str) -> str:
    """An image reference without tag or digest, in its familiar form (moby stripTag: reference.FamiliarName)."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    name = f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]
    name = name.removeprefix("docker.io/").removeprefix("index.docker.io/")
    return name.removeprefix("library/") if name.count("/") == 1 else name


def _image_matches(event: dict[str, Any], values: list[str]) -> bool:
    """`image=<name or ID>`: the actor's ID, or the image it names (`name` of an image event, `image` of others),
    with or without tag (moby matchImage, exact matches only)."""
    actor = event.get("Actor") or {}
    ident = str(actor.get("ID") or "")
    named = str((actor.get("Attributes") or {}).get("name" if event.get("Type") == "image" else "image") or "")
    candidates = {c for c in (ident, named, _familiar(ident), _familiar(named)) if c}
    return any(v in candidates for v in values)


# Actions that carry a detail after a colon ("exec_start: sh -c ...", "health_status: healthy"): moby matches
# them by prefix when the filter names them without the detail (daemon/events/filter.go matchEvent).
_DETAILED_ACTIONS = ("health_status", "exec_create", "exec_start")


def _event_matches(event: dict[str, Any], values: list[str]) -> bool:
    action = str(event.get("Action") or "")
    if action in values:
        return True
    return any(v in _DETAILED_ACTIONS for v in values) and any(action.startswith(v) for v in values)


# Every `filters` key of SystemEvents in the Engine API spec ("Available filters": config, container, daemon,
# event, image, label, network, node, plugin, scope, secret, service, type, volume) and how an event matches it,
# as moby's daemon/events/filter.go Filter.Include decides (each key given must match; within a key, any value).
EVENT_FILTER_KEYS: dict[str, Any] = {
    "type": lambda e, vs: e.get("Type") in vs,
    "event": _event_matches,
    "scope": lambda e, vs: e.get("scope") in vs,
    "label": lambda e, vs: all(_label_matches((e.get("Actor") or {}).get("Attributes") or {}, v) for v in vs),
    "image": _image_matches,
    **{key: _by_name_or_id for key in ("config", "container", "daemon", "network", "node", "plugin", "secret",
                                       "service", "volume")},
}


def filter_values(filters: dict[str, Any]) -> dict[str, list[str]]:
    """A `filters` value in either JSON form ({"k": ["v"]} or the old {"k": {"v": true}}) as key -> values."""
    out = {}
    for key, values in filters.items():
        if isinstance(values, dict):
            values = [v for v, on in values.items() if on]
        out[str(key)] = [str(v) for v in values] if isinstance(values, list) else [str(values)]
    return out


def event_filter(events: list[dict[str, Any]], filters: dict[str, Any]) -> list[Problem]:
    """Every event matches every filter given (the keys of EVENT_FILTER_KEYS).

    A key the suite cannot check is the suite's own error (ValueError), never a pass: a scenario must not
    send a filter whose effect nothing judges."""
    wanted = filter_values(filters)
    unknown = sorted(set(wanted) - set(EVENT_FILTER_KEYS))
    if unknown:
        raise ValueError(f"event_filter cannot check the filter key(s) {', '.join(unknown)} "
                         f"(it knows {', '.join(sorted(EVENT_FILTER_KEYS))}): do not send them, or teach it")
    problems = []
    for index, event in enumerate(events):
        actor = event.get("Actor") or {}
        for key, values in wanted.items():
            if values and not EVENT_FILTER_KEYS[key](event, values):
                problems.append(Problem("event_filter", f"event {index} ({event.get('Type')} {event.get('Action')} "
                                                        f"{str(actor.get('ID'))[:12]}) does not match filter "
                                                        f"{key}={values}"))
    return problems


def events_filtered(ex: Exchange) -> list[Problem]:
    """event_filter of a scenario's event stream (`checks: [event_filter]`): every record of a success
    against the `filters` its request sent."""
    if not 200 <= ex.status < 300:
        return []
    records, _ = parse_json_records(ex.body)  # records that are not JSON are body_schema's finding
    return event_filter([r for r in records if isinstance(r, dict)], request_filters(ex))


# Checks a scenario names in `checks:` (conformance/scenarios.py), each judging one response.
SCENARIO_CHECKS: dict[str, Callable[[Exchange], list[Problem]]] = {"event_filter": events_filtered}


def _label_matches(attrs: dict[str, Any], spec: str) -> bool:
    key, sep, value = spec.partition("=")
    return key in attrs and (not sep or attrs[key] == value)


# --- logs -----------------------------------------------------------------------------------

def log_timestamps(lines: Iterable[bytes]) -> list[Problem]:
    """Every line starts with an RFC 3339 (nano) timestamp and a space."""
    problems = []
    for index, line in enumerate(lines):
        if not RFC3339_NANO.match(line.decode("utf-8", "replace")):
            problems.append(Problem("log_timestamps",
                                    f"line {index} lacks an RFC 3339 timestamp prefix: {line[:60]!r}"))
    return problems


def split_lines(data: bytes) -> list[bytes]:
    return [line for line in data.replace(b"\r\n", b"\n").split(b"\n") if line]


# --- tar and archive stat -------------------------------------------------------------------

def tar_members(data: bytes) -> tuple[dict[str, tarfile.TarInfo], list[Problem], tarfile.TarFile | None]:
    """Members by name (leading ./ and / dropped); a body that is not a whole tar is a problem."""
    if not data:
        return {}, [Problem("tar_body", "empty body where a tar archive was expected")], None
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
        members = {m.name.lstrip("./").lstrip("/") or ".": m for m in archive.getmembers()}
    except (tarfile.TarError, EOFError) as exc:
        return {}, [Problem("tar_body", f"not a valid tar ({exc}); {len(data)} bytes: {data[:40]!r}")], None
    for member in members.values():
        if member.isfile() and member.offset_data + member.size > len(data):
            return members, [Problem("tar_body", f"tar member {member.name!r} is truncated")], archive
    return members, [], archive


def tar_body(data: bytes, required: Iterable[str] = ()) -> tuple[dict[str, tarfile.TarInfo], list[Problem]]:
    members, problems, _ = tar_members(data)
    if problems:
        return members, problems
    missing = [name for name in required if name not in members]
    if missing:
        problems.append(Problem("tar_body", f"tar lacks {missing}; has {sorted(members)[:10]}"))
    return members, problems


def tar_file(data: bytes, name: str) -> bytes | None:
    members, problems, archive = tar_members(data)
    member = members.get(name)
    if problems or archive is None or member is None or not member.isfile():
        return None
    handle = archive.extractfile(member)
    return handle.read() if handle else None


def image_archive(data: bytes) -> list[Problem]:
    """An image save: manifest.json lists Config and Layers that exist in the archive."""
    members, problems = tar_body(data, ["manifest.json"])
    if problems:
        return problems
    raw = tar_file(data, "manifest.json")
    try:
        manifest = json.loads(raw or b"")
    except ValueError as exc:
        return [Problem("tar_body", f"manifest.json is not JSON: {exc}")]
    if not isinstance(manifest, list) or not manifest:
        return [Problem("tar_body", f"manifest.json is not a non-empty list: {str(manifest)[:80]}")]
    for index, entry in enumerate(manifest):
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str) \
                or not isinstance(entry.get("Layers"), list):
            problems.append(Problem("tar_body", f"manifest.json entry {index} lacks Config/Layers: {entry}"))
            continue
        for name in [entry["Config"], *entry["Layers"]]:
            if name not in members:
                problems.append(Problem("tar_body", f"manifest.json entry {index} names {name!r}, not in the tar"))
    return problems


def decode_path_stat(value: str | None) -> tuple[dict[str, Any] | None, list[Problem]]:
    """X-Docker-Container-Path-Stat: base64 (standard alphabet) of a JSON object with typed fields."""
    if not value:
        return None, [Problem("path_stat_header", "X-Docker-Container-Path-Stat header is missing")]
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        return None, [Problem("path_stat_header",
                              f"X-Docker-Container-Path-Stat is not base64 ({exc}): {value[:60]!r}")]
    try:
        stat = json.loads(raw)
    except ValueError as exc:
        return None, [Problem("path_stat_header", f"X-Docker-Container-Path-Stat is not base64 JSON ({exc}): "
                                                  f"{raw[:60]!r}")]
    if not isinstance(stat, dict):
        return None, [Problem("path_stat_header", f"X-Docker-Container-Path-Stat is not an object: {raw[:60]!r}")]
    problems = [Problem("path_stat_header", f"path stat `{name}` missing or not {kind.__name__}: {stat.get(name)!r}")
                for name, kind in PATH_STAT_FIELDS.items() if not isinstance(stat.get(name), kind)
                or isinstance(stat.get(name), bool)]
    if isinstance(stat.get("mtime"), str) and not RFC3339.match(stat["mtime"]):
        problems.append(Problem("path_stat_header", f"path stat mtime {stat['mtime']!r} is not RFC 3339"))
    return stat, problems


# --- versioning -----------------------------------------------------------------------------

def api_version_header(headers: dict[str, str], expected: str | None) -> list[Problem]:
    """API-Version names the server's API version (the one /version reports)."""
    value = next((v for k, v in headers.items() if k.lower() == "api-version"), None)
    if value is None:
        return [Problem("api_version_header", "API-Version header is missing")]
    if not re.fullmatch(r"\d+\.\d+", value):
        return [Problem("api_version_header", f"API-Version {value!r} is not a version like 1.41")]
    if expected and value != expected:
        return [Problem("api_version_header", f"API-Version {value} differs from /version ApiVersion {expected}")]
    return []


def required_headers(check: str, headers: dict[str, str], names: Iterable[str]) -> list[Problem]:
    present = {k.lower() for k in headers}
    return [Problem(check, f"header {name} is missing (have: {', '.join(sorted(headers))})")
            for name in names if name.lower() not in present]


def version_rejected(status: int, media_type: str, body: bytes, what: str) -> list[Problem]:
    """A request at an unsupported /vX.Y prefix: 400 with ErrorResponse JSON."""
    problems = []
    if status != 400:
        problems.append(Problem("version_prefix", f"{what}: expected HTTP 400, got {status}: {body[:120]!r}"))
    if media_type != "application/json":
        problems.append(Problem("version_prefix", f"{what}: error Content-Type {media_type or '(none)'!r}, "
                                                  f"expected application/json: {body[:120]!r}"))
        return problems
    try:
        message = json.loads(body).get("message")
    except (ValueError, AttributeError):
        message = None
    if not isinstance(message, str):
        problems.append(Problem("version_prefix", f"{what}: error body lacks a string `message`: {body[:120]!r}"))
    return problems


# --- upgrades -------------------------------------------------------------------------------

def upgrade_101(status: int, headers: dict[str, str], protocol: str, body_excerpt: bytes = b"") -> list[Problem]:
    """A hijack request with `Connection: Upgrade` is answered 101 naming the protocol."""
    if status != 101:
        return [Problem("upgrade_101", f"expected 101 Switching Protocols for Upgrade: {protocol}, got "
                                       f"{status or 'no response'}: {body_excerpt[:120]!r}")]
    lower = {k.lower(): v for k, v in headers.items()}
    problems = []
    if "upgrade" not in lower.get("connection", "").lower():
        problems.append(Problem("upgrade_101", f"101 without `Connection: Upgrade` ({lower.get('connection')!r})"))
    if lower.get("upgrade", "").lower() != protocol:
        problems.append(Problem("upgrade_101", f"101 with `Upgrade: {lower.get('upgrade')}`, expected {protocol}"))
    return problems


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # RFC 9113 3.4, the client connection preface
H2_SETTINGS = 0x4


def h2c_session(data: bytes) -> list[Problem]:
    """After its 101 to `Upgrade: h2c` the Engine is the gRPC client of the session: it opens HTTP/2 with the
    client preface and a SETTINGS frame (RFC 9113 3.4, 6.5)."""
    if not data.startswith(H2_PREFACE):
        return [Problem("h2c_session", f"after the 101, expected the HTTP/2 client preface, got {data[:40]!r}")]
    frame = data[len(H2_PREFACE):len(H2_PREFACE) + 9]
    if len(frame) < 9 or frame[3] != H2_SETTINGS:
        return [Problem("h2c_session", f"the HTTP/2 preface is not followed by a SETTINGS frame: {frame!r}")]
    return []


def ws_upgrade(status: int, headers: dict[str, str], accept: str) -> list[Problem]:
    """RFC 6455 4.2.2: 101, Upgrade: websocket, and Sec-WebSocket-Accept derived from our key."""
    problems = upgrade_101(status, headers, "websocket")
    if status == 101:
        got = next((v for k, v in headers.items() if k.lower() == "sec-websocket-accept"), None)
        if got != accept:
            problems.append(Problem("upgrade_101", f"Sec-WebSocket-Accept {got!r}, expected {accept!r}"))
    return problems
