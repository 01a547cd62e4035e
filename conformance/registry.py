"""The declared check registry: every check the suite records, what it verifies, what it rests on.

Read it top to bottom to know what a verdict can be made of.  A check name that is not declared
here cannot be recorded (`Problem` refuses it) and cannot be named by an erratum, a deviation or a
fault of the fake (their loaders refuse it), so a misspelt name is an error, never a silent no-op.

Two families are open-ended and named per entry: `deviation:<id>` (an observation of a documented
deviation of a target kind, one per profile entry with `observe:`) and `promise:<id>` (a behavioural
promise, one per catalogue entry).  Their ids are checked by the loaders that know the entries.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckInfo:
    name: str
    verifies: str  # what a pass means, in one sentence
    rests_on: str  # the spec passage, standard or upstream source that makes it an expectation
    applies_to: str  # "every response" | "streams" | "versioning" | "behaviour" | "suite"


SPEC = "Engine API spec (schemas/engine-X.Y.json, from ../shared/specs/engine)"

REGISTRY: tuple[CheckInfo, ...] = (
    # --- applied to every response by conformance.checks.run_checks --------------------------
    CheckInfo("status_declared", "the status is one the operation declares at that API version (or `default`)",
              f"{SPEC}: paths.<path>.<method>.responses", "every response"),
    CheckInfo("complete_read", "the response ended within the suite's time limit",
              "RFC 9112 6.3 (message body length); a response that never ends cannot be judged", "every response"),
    CheckInfo("content_type", "a JSON body (errors and JSON successes) says Content-Type application/json",
              f"{SPEC}: produces; definitions.ErrorResponse for every error status", "every response"),
    CheckInfo("body_schema", "the body validates against the schema declared for that status, every finding kept",
              f"{SPEC}: responses.<status>.schema and definitions (JSON Schema draft 7)", "every response"),
    CheckInfo("error_body", "an error status carries ErrorResponse JSON with a string `message`",
              f"{SPEC}: definitions.ErrorResponse; api/server/httputils/errors.go (moby) writes it",
              "every response"),
    CheckInfo("label_filter_honoured", "a list answered to filters={label:[...]} holds only matching objects",
              f"{SPEC}: the `filters` parameter of the list operations (label=key / label=key=value)",
              "every response"),
    # --- applied by the scenario runner and the stream tests ---------------------------------
    CheckInfo("status_expected", "the status is the one the scenario's request must get",
              "suites/scenarios/<tag>.yaml `expect`, each resting on the spec's declared statuses", "behaviour"),
    CheckInfo("stream_error", "a 2xx progress stream reports no in-stream error (`error`/`errorDetail`)",
              "moby pkg/jsonmessage: JSONMessage.Error; the status was sent before the work failed", "streams"),
    CheckInfo("stream_content_type", "a stdio or event stream says the media type the spec declares for it",
              f"{SPEC}: produces of ContainerAttach/ContainerLogs/ExecStart/SystemEvents", "streams"),
    CheckInfo("mux_frames", "a non-TTY stdio stream is well-formed 8-byte-header frames with the expected payload",
              f"{SPEC}: ContainerAttach description (stream format)", "streams"),
    CheckInfo("raw_stream", "a TTY stdio stream is raw bytes, not frames",
              f"{SPEC}: ContainerAttach description (TTY: raw stream)", "streams"),
    CheckInfo("json_lines", "a JSON-lines stream is one JSON object per line, no RS bytes",
              f"{SPEC}: SystemEvents/ContainerStats produce application/json (one object per line)", "streams"),
    CheckInfo("json_seq", "an application/json-seq stream is RS, JSON text, LF per record (RFC 7464)",
              f"RFC 7464; {SPEC} 1.52+: SystemEvents produces application/json-seq", "streams"),
    CheckInfo("single_json_object", "a one-shot body (stats with stream=false) is exactly one JSON object",
              f"{SPEC}: ContainerStats `stream` parameter (false: one sample, then close)", "streams"),
    CheckInfo("progress_stream", "progress records are well formed; an error travels as `error`+`errorDetail`",
              "moby pkg/jsonmessage JSONMessage (error, errorDetail.message)", "streams"),
    CheckInfo("event_shape", "an event has Type, Action, Actor{ID, Attributes}, time and timeNano that agree",
              f"{SPEC}: definitions.EventMessage", "streams"),
    CheckInfo("event_sequence", "an object's lifecycle events come in the documented order",
              f"{SPEC}: SystemEvents description (the actions each object type reports)", "streams"),
    CheckInfo("event_filter", "every event matches every filter the request sent",
              f"{SPEC}: SystemEvents `filters` parameter", "streams"),
    CheckInfo("log_timestamps", "timestamps=1 prefixes each log line with an RFC 3339 nano timestamp",
              f"{SPEC}: ContainerLogs `timestamps` parameter", "streams"),
    CheckInfo("log_options", "tail/since/until select the documented lines",
              f"{SPEC}: ContainerLogs `tail`, `since`, `until` parameters", "streams"),
    CheckInfo("log_follow", "follow=1 streams until the container stops, then the stream ends",
              f"{SPEC}: ContainerLogs `follow` parameter", "streams"),
    CheckInfo("stdin_echo", "bytes written to an attached stdin reach the process (its echo comes back)",
              f"{SPEC}: ContainerAttach `stdin` parameter", "streams"),
    CheckInfo("stream_end", "closing stdin of an exec ends its stream",
              f"{SPEC}: ExecStart description (hijacked connection)", "streams"),
    CheckInfo("ws_frames", "the websocket attach stream is well-formed RFC 6455 frames",
              f"RFC 6455 5.2; {SPEC}: ContainerAttachWebsocket", "streams"),
    CheckInfo("upgrade_101", "a request with Connection: Upgrade is answered 101 naming the protocol",
              f"RFC 9110 7.8 / RFC 6455 4.2.2; {SPEC}: ContainerAttach 101 response", "streams"),
    CheckInfo("h2c_session", "after the 101 to Upgrade: h2c the Engine opens HTTP/2 (client preface, SETTINGS)",
              "RFC 9113 3.4; moby vendor/github.com/moby/buildkit/session/manager.go handleConn (grpcClientConn: "
              "the Engine is the session's gRPC client)", "streams"),
    CheckInfo("stats_samples", "a stats stream gives samples whose `read` time increases",
              f"{SPEC}: ContainerStats description and definitions.ContainerStatsResponse", "streams"),
    CheckInfo("tar_body", "a tar body is a whole tar archive holding what the request names",
              f"{SPEC}: ContainerExport/ContainerArchive/ImageGet produce application/x-tar", "streams"),
    CheckInfo("path_stat_header", "X-Docker-Container-Path-Stat is base64 JSON with typed name/size/mode/mtime",
              f"{SPEC}: ContainerArchiveInfo response header X-Docker-Container-Path-Stat", "streams"),
    # --- versioning and ping -------------------------------------------------------------------
    CheckInfo("api_version_header", "every response carries API-Version equal to /version's ApiVersion",
              f"{SPEC}: SystemPing response headers; api/server/middleware/version.go (moby) sets it",
              "versioning"),
    CheckInfo("version_prefix", "a /vX.Y prefix outside the served range is 400 with ErrorResponse JSON",
              "api/server/middleware/version.go (moby): versions below the minimum or above the current",
              "versioning"),
    CheckInfo("ping_headers", "/_ping carries the headers the spec declares for it at that version",
              f"{SPEC}: SystemPing/SystemPingHead response headers", "versioning"),
    CheckInfo("cli_headers", "/_ping carries API-Version, Docker-Experimental and OSType",
              "docker CLI cli/command/cli.go initializeFromClient reads them from every ping", "versioning"),
    CheckInfo("ping_body", "GET /_ping answers OK; HEAD answers no body",
              f"{SPEC}: SystemPing response schema (string OK)", "versioning"),
    # --- limits of the suite itself -----------------------------------------------------------
    CheckInfo("read_limit", "the body was read whole within the suite's size limit (a suite limit, never the "
              "target's fault)", "the suite's --max-body-bytes option", "suite"),
)

DYNAMIC_FAMILIES = ("deviation:", "promise:")
_BY_NAME = {info.name: info for info in REGISTRY}


class UnknownCheck(ValueError):
    """A check name that the registry does not declare."""


def is_declared(name: str) -> bool:
    """Whether `name` is a declared check, or a member of a dynamic family (`deviation:<id>`, `promise:<id>`)."""
    return name in _BY_NAME or any(name.startswith(p) and len(name) > len(p) for p in DYNAMIC_FAMILIES)


def require(name: str) -> str:
    if not is_declared(name):
        raise UnknownCheck(f"check {name!r} is not declared in conformance/registry.py "
                           f"(declared: {', '.join(sorted(_BY_NAME))}; families: {', '.join(DYNAMIC_FAMILIES)}<id>)")
    return name


def info(name: str) -> CheckInfo | None:
    return _BY_NAME.get(name)


def names() -> list[str]:
    return [c.name for c in REGISTRY]
