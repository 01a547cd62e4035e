"""The classic Swarm manager fake's network and volume endpoints: lists across nodes (local ones named
"<node>/<name>"), create on the node a "<node>/" prefix names (else the first), connect and disconnect on the
container's node, and the calls proxied to the node of a network or volume.  A mixin of SwarmClassicManager
(swarm_classic.py)."""

from __future__ import annotations

import json
from typing import Any

from .swarm_classic_base import ManagerBase, filter_values, query_filters
from .wire import Request, Response, json_response

_REF = {"networks": "id", "volumes": "name"}  # the path parameter naming the object, as the spec spells it


class ScopedHandlers(ManagerBase):
    # --- networks and volumes ---------------------------------------------------------------
    def _scoped_list(self, req: Request, params: dict[str, str], kind: str) -> Response:
        path = f"/{kind}"
        out: list[Any] = []
        filters = query_filters(req)
        query = dict(req.query)
        nodes = self.nodes
        if kind == "volumes" and "node" in filters:
            wanted = filter_values(filters.pop("node"))
            nodes = [n for n in self.nodes if n.name in wanted or n.id in wanted]
            query["filters"] = [json.dumps(filters)]
        warnings = None
        for node in nodes:
            answer = self._ask(node, req, path, query=query)
            if answer.status != 200:
                return answer
            body = self._json(answer)
            items = (body or {}).get("Volumes") or [] if kind == "volumes" else body or []
            for item in items:
                local = item.get("Scope") == "local" if kind == "networks" else item.get("Driver") == "local"
                if local and self.applies("node-scoped-names"):
                    item["Name"] = f"{node.name}/{item['Name']}"
                if kind == "networks" and any(o.get("Id") == item.get("Id") for o in out):
                    continue
                out.append(item)
        if kind == "volumes":
            return json_response({"Volumes": out, "Warnings": warnings})
        return json_response(out)

    def _scoped_create(self, req: Request, params: dict[str, str], kind: str) -> Response:
        body = req.json({}) or {}
        node, local = self._split_node(str(body.get("Name") or ""), kind) if isinstance(body, dict) else (None, "")
        data = req.body
        if node is not None:
            body["Name"] = local
            data = json.dumps(body).encode()
        target = node or self.nodes[0]
        headers = req.headers.copy()
        headers["Content-Length"] = str(len(data))
        return target.engine.handle(self._sub_request(req, f"/{kind}/create", body=data, headers=headers))

    def _network_attach(self, req: Request, params: dict[str, str], rest: str) -> Response:
        """Connect/disconnect (`rest`) goes to the container's node: a local network of another node is not found
        there."""
        self._locate(req, "networks", params["id"])
        body = req.json({}) or {}
        container = str(body.get("Container") or "") if isinstance(body, dict) else ""
        node, ident = self._locate(req, "containers", container)
        data = json.dumps({**body, "Container": ident}).encode()
        headers = req.headers.copy()
        headers["Content-Length"] = str(len(data))
        local = self._split_node(params["id"], "networks")[1]
        disconnect = rest == "disconnect"
        answer = node.engine.handle(self._sub_request(req, f"/networks/{local}/{rest}", body=data,
                                                      headers=headers, proxied=not disconnect))
        if disconnect and self.applies("network-disconnect-204"):
            # SOURCE.md (v1.2.9): the manager disconnects itself: 204 (the engine says 200), every error 404.
            if answer.status >= 400:
                found = self._json(answer)
                return self._error(404, str(found.get("message") if isinstance(found, dict) else "disconnect failed"))
            return Response(204, b"")
        return answer

    def _scoped_proxy(self, req: Request, params: dict[str, str], kind: str, rest: str = "") -> Response:
        """The call proxied to the node of the network or volume (`rest`: "", "/connect" or "/disconnect")."""
        node, ident = self._locate(req, kind, params[_REF[kind]])
        return node.engine.handle(self._sub_request(req, f"/{kind}/{ident}{rest}"))
