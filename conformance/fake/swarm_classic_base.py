"""What every part of the classic Swarm manager fake (swarm_classic.py) shares: its identity constants, the
Node record, the `filters` helpers, and ManagerBase, the plumbing its handler mixins are written against
(behaviour switches, the errors the manager writes itself, sub-requests to a node, locating an object)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from .wire import ApiError, Headers, Request, Response, error_response, json_response

if TYPE_CHECKING:
    from .engine import Engine
    from .registry import Registry

SWARM_VERSION = "swarm/1.2.9"
SWARM_API = "1.40"  # the APIVERSION constant of the archived code
FAULT_PREFIX = "swarm-classic:no-"


@dataclass
class Node:
    name: str
    ip: str
    cpus: int
    memory: int
    engine: Engine
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def addr(self) -> str:
        return f"{self.ip}:2375"

    @property
    def id(self) -> str:
        return self.engine.state.engine_id


class NotFound(Exception):
    """A 404 the manager writes itself (its message is the body)."""


class ManagerBase:
    """The manager's state and plumbing; SwarmClassicManager sets the attributes in its __init__."""

    name: str
    faults: set[str]
    max_api: tuple[int, int]
    min_api: tuple[int, int]
    registry: Registry
    nodes: list[Node]

    # --- switches ---------------------------------------------------------------------------
    def applies(self, deviation: str) -> bool:
        return FAULT_PREFIX + deviation not in self.faults

    # --- plumbing ---------------------------------------------------------------------------
    def _error(self, status: int, message: str) -> Response:
        """An error the manager writes itself: text/plain, the message and a newline (Go's http.Error), or
        the Engine's JSON when the text-plain-errors switch is off."""
        if not self.applies("text-plain-errors"):
            return error_response(status, message)
        return Response(status, message.encode() + b"\n", Headers([("Content-Type", "text/plain; charset=utf-8"),
                                                                      ("X-Content-Type-Options", "nosniff")]))

    def _daemon_error(self, answer: Response) -> Response:
        """An engine error on a call the manager makes itself: 500 "Error response from daemon: <message>"."""
        if not self.applies("engine-errors-500"):
            return answer
        body = self._json(answer)
        message = body.get("message") if isinstance(body, dict) else answer.content().decode("utf-8", "replace")
        return self._error(500, f"Error response from daemon: {str(message).strip()}")

    def _sub_request(self, req: Request, path: str, query: dict[str, list[str]] | None = None,
                     method: str | None = None, body: bytes | None = None,
                     headers: Headers | None = None, proxied: bool | None = None) -> Request:
        """A request for one node: same headers, body and client connection, rewritten path.

        A proxied call (the client's own body and headers, or `proxied=True`) keeps the client's /vX.Y prefix,
        so the node applies its own range to it; the manager's own calls use a version both know.
        """
        if proxied is None:
            proxied = body is None and headers is None
        prefix = getattr(req, "client_prefix", None) if proxied else None
        version = f"/v{prefix}" if prefix else f"/v{req.version[0]}.{req.version[1]}"
        params = req.query if query is None else query
        target = version + quote(path, safe="/:@")
        if params:
            target += "?" + urlencode([(k, v) for k, values in params.items() for v in values])
        return Request(method or req.method, target, headers or req.headers.copy(),
                       req.body if body is None else body, req.conn)

    def _ask(self, node: Node, req: Request, path: str, method: str = "GET",
             query: dict[str, list[str]] | None = None) -> Response:
        """An internal request of the manager (no client body, no hijack)."""
        return node.engine.handle(self._sub_request(req, path, query or {}, method, b"", Headers()))

    @staticmethod
    def _json(response: Response) -> Any:
        try:
            return json.loads(response.content())
        except ValueError:
            return None

    @staticmethod
    def _with_json(response: Response, value: Any) -> Response:
        out = json_response(value, response.status)
        for key, val in response.headers.items():
            if key.lower() not in ("content-type", "content-length"):
                out.headers[key] = val
        return out

    def _split_node(self, ref: str, kind: str = "containers") -> tuple[Node | None, str]:
        """"node-1/name" -> (node-1, "name"); anything else -> (None, ref).  Network and volume names are split
        only while the node-scoped-names behaviour applies."""
        if kind in ("networks", "volumes") and not self.applies("node-scoped-names"):
            return None, ref
        head, sep, tail = ref.partition("/")
        node = next((n for n in self.nodes if n.name == head), None) if sep else None
        return (node, tail) if node else (None, ref)

    def _locate(self, req: Request, kind: str, ref: str) -> tuple[Node, str]:
        """The node holding container/exec/network/volume `ref`, and the ref that node knows it by."""
        node, local = self._split_node(ref, kind)
        inspect = {"containers": "/containers/{}/json", "exec": "/exec/{}/json", "networks": "/networks/{}",
                   "volumes": "/volumes/{}"}[kind]
        for candidate in [node] if node else self.nodes:
            answer = self._ask(candidate, req, inspect.format(local))
            if answer.status == 200:
                body = self._json(answer) or {}
                return candidate, str(body.get("Id") or body.get("ID") or body.get("Name") or local)
        noun = {"containers": "container", "exec": "exec instance", "networks": "network", "volumes": "volume"}[kind]
        raise NotFound(f"No such {noun}: {ref}")


def query_filters(req: Request) -> dict[str, Any]:
    """The `filters` query value as a mapping; 400 when it is not JSON (as the Engine answers)."""
    raw = req.q("filters")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"invalid filter: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid filter: expected a JSON object")
    return value


def filter_values(value: Any) -> list[str]:
    """A filters value in either wire form: ["a", "b"] or {"a": true}."""
    if isinstance(value, dict):
        return [k for k, v in value.items() if v]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
