"""Send one request to the target at one API version and capture what came back, bounded."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import docker
import requests

from conformance.redact import redact_headers, redact_text

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_READ_SECONDS = 30.0


@dataclass
class Exchange:
    """A request and its response, as the checks and the reports see them."""

    operation: str
    version: str
    method: str
    path: str  # /vX.Y/... with the query string
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int = 0
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False  # stopped at the byte limit
    timed_out: bool = False  # stopped at the time limit
    elapsed: float = 0.0

    @property
    def media_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lower), None)

    def json(self) -> Any:
        return json.loads(self.body)

    def excerpt(self, limit: int = 300) -> str:
        text = self.body[:limit].decode("utf-8", "replace")
        return redact_text(text) + ("..." if len(self.body) > limit else "")

    def summary(self) -> dict[str, Any]:
        """A redacted, size-limited view for reports and attachments."""
        body = self.request_body[:500].decode("utf-8", "replace") if self.request_body else None
        return {
            "request": {"method": self.method, "path": redact_text(self.path),
                        "headers": redact_headers(self.request_headers),
                        "body": redact_text(body) if body else None},
            "response": {"status": self.status, "headers": redact_headers(self.headers), "body": self.excerpt(800)},
        }


def expand_path(template: str, values: dict[str, Any]) -> str:
    """Fill {name} placeholders of a spec path; values are URL-quoted (names may hold '/')."""
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return path


def _encode_query(params: dict[str, Any] | None) -> str:
    if not params:
        return ""
    flat = {}
    for key, value in params.items():
        if isinstance(value, bool):
            flat[key] = "1" if value else "0"
        elif isinstance(value, (dict, list)):
            flat[key] = json.dumps(value)
        else:
            flat[key] = str(value)
    return "?" + urlencode(flat)


# --- hijacked and upgraded connections -------------------------------------------------------
# A hijacked or upgraded connection is never used for another request.  Attach, exec start, session and
# websocket hand the TCP connection over to a stream, with or without an Upgrade header, and what the
# connection is afterwards is up to the target: a classic Swarm manager proxies a plain exec start and then
# hijacks the connection as well, so that connection becomes a raw tunnel to the node's engine and a client
# that pools it sends its next requests to the engine directly (shared/specs/swarm-classic/SOURCE.md, tag
# v1.2.9; api/handlers.go postExecStart).  The docker CLI never reuses such a connection, nor does the suite.
HIJACK_OPERATIONS = frozenset({"ContainerAttach", "ContainerAttachWebsocket", "ExecStart", "Session"})
_HIJACK_ROUTES = (("POST", re.compile(r"^/containers/[^/]+/attach$")),
                  ("GET", re.compile(r"^/containers/[^/]+/attach/ws$")),
                  ("POST", re.compile(r"^/exec/[^/]+/start$")), ("POST", re.compile(r"^/(session|grpc)$")))
_VERSION_PREFIX = re.compile(r"^/v\d[^/]*(?=/)")
STREAM_MEDIA_TYPES = ("application/vnd.docker.raw-stream", "application/vnd.docker.multiplexed-stream")
_GUARDED = "_dac_hijack_guard"


def hijacks(method: str, path: str, request_headers: Any = None, status: int = 0, response_headers: Any = None) -> bool:
    """Whether an exchange hands its connection over (or may): a hijacking route, an Upgrade request,
    a 101, an Upgrade answer or a raw/multiplexed stdio stream.  `path` may carry /vX.Y and a query."""
    bare = _VERSION_PREFIX.sub("", urlsplit(path).path or path, count=1)
    if any(method.upper() == m and pattern.match(bare) for m, pattern in _HIJACK_ROUTES):
        return True
    if _header(request_headers, "Upgrade") or status == 101 or _header(response_headers, "Upgrade"):
        return True
    media = (_header(response_headers, "Content-Type") or "").split(";")[0].strip().lower()
    return media in STREAM_MEDIA_TYPES


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    lower = name.lower()
    return next((str(v) for k, v in dict(headers).items() if str(k).lower() == lower), None)


class _DiscardOnRelease:
    """Stands in for a response's connection pool: the connection is closed instead of pooled again, and the
    pool gets its slot back empty, so its next request opens a new connection."""

    def __init__(self, pool: Any):
        self.pool = pool

    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            conn.close()
        self.pool._put_conn(None)


def _discard_connection(response: requests.Response) -> None:
    raw = response.raw
    pool = getattr(raw, "_pool", None)
    if pool is not None and not isinstance(pool, _DiscardOnRelease):
        raw._pool = _DiscardOnRelease(pool)
    elif pool is None and getattr(raw, "_connection", None) is not None:
        raw._connection.close()  # no pool to return to: make sure no one can reuse it


def _on_response(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    request = response.request
    if hijacks(str(request.method or ""), str(request.url or ""), request.headers, response.status_code,
               response.headers):
        _discard_connection(response)
    return response


def guard_hijacks(session: requests.Session) -> requests.Session:
    """Make `session` (a docker SDK APIClient is one) close, never pool, every connection that was hijacked
    or upgraded (see `hijacks`).  Idempotent; returns the session."""
    if not getattr(session, _GUARDED, False):
        session.hooks.setdefault("response", []).append(_on_response)
        setattr(session, _GUARDED, True)
    return session


class EngineClient:
    """Versioned requests over the docker SDK's transport (unix, tcp, TLS), with bounded reads.

    An exchange that hijacks or upgrades its connection gets a connection of its own: the request says
    `Connection: close` (unless it asks for an Upgrade) and the connection is closed afterwards."""

    def __init__(self, api: docker.APIClient, max_bytes: int = DEFAULT_MAX_BYTES,
                 read_seconds: float = DEFAULT_READ_SECONDS):
        self.api = guard_hijacks(api)
        self.max_bytes = max_bytes
        self.read_seconds = read_seconds

    def request(
        self,
        operation: str,
        version: str | None,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        max_bytes: int | None = None,
        read_seconds: float | None = None,
    ) -> Exchange:
        prefix = f"/v{version}" if version else ""
        full_path = prefix + path + _encode_query(query)
        send_headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            send_headers.setdefault("Content-Type", "application/json")
        own_connection = operation in HIJACK_OPERATIONS or hijacks(method, path, send_headers)
        if own_connection and not _header(send_headers, "Upgrade"):
            send_headers.setdefault("Connection", "close")
        exchange = Exchange(operation, version or "", method, full_path, send_headers, data)
        limit = max_bytes or self.max_bytes
        deadline_s = read_seconds or self.read_seconds
        start = time.monotonic()
        resp = self.api.request(method, self.api.base_url + full_path, headers=send_headers, data=data,
                                stream=True, timeout=(10, deadline_s))
        if own_connection:
            _discard_connection(resp)  # the response hook judges by route and answer; the operation says so too
        try:
            exchange.status, exchange.reason = resp.status_code, resp.reason or ""
            exchange.headers = dict(resp.headers)
            exchange.body, exchange.truncated, exchange.timed_out = _read_bounded(
                resp, limit, start + deadline_s)
        finally:
            resp.close()
        exchange.elapsed = time.monotonic() - start
        return exchange


def _read_bounded(resp: requests.Response, limit: int, deadline: float) -> tuple[bytes, bool, bool]:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in resp.iter_content(chunk_size=65536):
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                return b"".join(chunks)[:limit], True, False
            if time.monotonic() > deadline:
                return b"".join(chunks), False, True
    except (requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout) as exc:
        if "timed out" in str(exc).lower():
            return b"".join(chunks), False, True
        raise
    return b"".join(chunks), False, False
