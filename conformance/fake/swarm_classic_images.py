"""The classic Swarm manager fake's image endpoints: the list grouped by ID across nodes (with its node filter
and the manager's own before/since), pulls and imports on every node, load, save, and the calls sent to the
nodes holding an image; build and auth go to the first node.  A mixin of SwarmClassicManager (swarm_classic.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .swarm_classic_base import ManagerBase, Node, filter_values, query_filters
from .util import parse_time
from .wire import Headers, Request, Response, json_bytes, json_response


class ImageHandlers(ManagerBase):
    # --- images -----------------------------------------------------------------------------
    def _first_node(self, req: Request, params: dict[str, str]) -> Response:
        return self.nodes[0].engine.handle(self._sub_request(req, req.path))

    def _every_node(self, req: Request, params: dict[str, str]) -> Response:
        """Send to every node; their bodies one after the other (a failure answers alone)."""
        answers = [node.engine.handle(self._sub_request(req, req.path)) for node in self.nodes]
        failed = next((a for a in answers if a.status >= 400), None)
        if failed is not None:
            return failed
        first = answers[0]
        return Response(first.status, b"".join(a.content() for a in answers), first.headers)

    def _image_viz(self, req: Request, params: dict[str, str]) -> Response:
        return self._error(501, "Not supported in clustering mode.")

    def _images_get(self, req: Request, params: dict[str, str]) -> Response:
        """Save several images: from the first node that holds all of them."""
        names = req.query.get("names") or []
        node = next((n for n in self.nodes if all(n in self._holders(req, name) for name in names)), self.nodes[0])
        return node.engine.handle(self._sub_request(req, req.path))

    def _holders(self, req: Request, ref: str) -> list[Node]:
        return [n for n in self.nodes if self._ask(n, req, f"/images/{ref}/json").status == 200]

    def _image_first_holder(self, req: Request, params: dict[str, str], rest: str) -> Response:
        """The call sent to the first node holding the image (`rest`: json, history, get or push)."""
        ref = params["name"]
        if rest == "push" and req.q("tag"):
            ref = f"{ref}:{req.q('tag')}"  # push names the tag apart from the repository
        holders = self._holders(req, ref)
        if not holders:
            return self._error(404, f"No such image: {params['name']}")
        return holders[0].engine.handle(self._sub_request(req, req.path))

    def _image_all_holders(self, req: Request, params: dict[str, str]) -> Response:
        holders = self._holders(req, params["name"])
        if not holders:
            return self._error(404, f"No such image: {params['name']}")
        answers = [n.engine.handle(self._sub_request(req, req.path)) for n in holders]
        failed = next((a for a in answers if a.status >= 400), None)
        if failed is not None or req.method != "DELETE":
            return failed or answers[0]
        merged: list[Any] = []
        for answer in answers:
            merged += [item for item in self._json(answer) or [] if item not in merged]
        return self._with_json(answers[0], merged)

    def _image_list(self, req: Request, params: dict[str, str]) -> Response:
        filters = query_filters(req)
        nodes = self.nodes
        query = dict(req.query)
        if self.applies("images-node-filter") and "node" in filters:
            wanted = filter_values(filters.pop("node"))
            nodes = [n for n in self.nodes if n.name in wanted or n.id in wanted]
            query["filters"] = [json.dumps(filters)]
        times = self._image_times(req, filters)
        grouped: dict[str, dict[str, Any]] = {}
        for node in nodes:
            node_query, bounds = query, []
            # The manager lists and filters its own record of every node's images (SOURCE.md: grouped by ID across
            # nodes), so an image that before/since names counts wherever it is: a node that lacks it is asked
            # without that filter, and its images are compared with the named image's creation time.
            lacking = [key for key in times if not all(self._ask(node, req, f"/images/{ref}/json").status == 200
                                                       for ref in filter_values(filters[key]))]
            if lacking:
                kept = {key: value for key, value in filters.items() if key not in lacking}
                node_query = {**query, "filters": [json.dumps(kept)]}
                bounds = [(key, t) for key in lacking for t in times[key]]
            answer = self._ask(node, req, "/images/json", query=node_query)
            if answer.status != 200:
                return answer
            for image in self._json(answer) or []:
                created = int(image.get("Created") or 0)
                if any(created >= t if key == "before" else created <= t for key, t in bounds):
                    continue
                seen = grouped.setdefault(image["Id"], image)
                for key in ("RepoTags", "RepoDigests"):
                    values = list(seen.get(key) or [])
                    values += [v for v in image.get(key) or [] if v not in values]
                    seen[key] = values if values or seen.get(key) is not None else seen.get(key)
        return json_response(sorted(grouped.values(), key=lambda i: i.get("Created", 0), reverse=True))

    def _image_times(self, req: Request, filters: dict[str, Any]) -> dict[str, list[int]]:
        """{"before"/"since": the creation times (unix seconds) of the images it names}, for the filters whose every
        image some node holds (otherwise the nodes answer for it, as before)."""
        times: dict[str, list[int]] = {}
        for key in ("before", "since"):
            found = []
            for ref in filter_values(filters.get(key) or []):
                holders = self._holders(req, ref)
                body = self._json(self._ask(holders[0], req, f"/images/{ref}/json")) if holders else None
                if not isinstance(body, dict) or not body.get("Created"):
                    break
                found.append(int(parse_time(str(body["Created"]))))
            else:
                if found:
                    times[key] = found
        return times

    def _image_create(self, req: Request, params: dict[str, str]) -> Response:
        if req.q("fromSrc"):
            if not self.applies("image-import"):
                return self._error(404, "docker import flow not implemented")
            return self._every_node(req, params)
        image = req.q("fromImage") or ""
        answers = [(node, node.engine.handle(self._sub_request(req, "/images/create"))) for node in self.nodes]
        failed = next((a for _, a in answers if a.status >= 400), None)
        if failed is not None:
            return failed

        def records() -> Iterator[bytes]:
            for node, answer in answers:
                for line in answer.content().splitlines():
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if "error" in record or "errorDetail" in record:
                        yield json_bytes(record)
                        continue
                    yield json_bytes({"status": f"Pulling {image}... : {record.get('status', '')}".rstrip(" :"),
                                      "id": node.name})
        return Response(200, records(), Headers([("Content-Type", "application/json")]))
