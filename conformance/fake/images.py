"""Image handlers: inspect/list/history/tag/delete/prune, pull/import/push, save/load, commit, search,
distribution.  The store and the image records are in image_store.py.

An image id is sha256 of its config blob, as in the Engine, so save -> load keeps ids.  Layers are
tars (a new layer holds what changed, with .wh. whiteouts), the rootfs is their union.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import tarfile
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .build import apply_instruction
from .container_model import get_container
from .fs import FS
from .image_store import (
    REPO_RE,
    TAG_RE,
    Image,
    inspect_json,
    layer_diff,
    make_config_blob,
    normalize,
    sha,
    split_ref,
    summary_json,
)
from .registry import credentials, digest_for, registry_host
from .routing import Route, route
from .util import match_labels, new_id, now_ns, parse_filters, parse_time, prune_selects, rfc3339
from .wire import ApiError, Headers, Response, empty, error_line, json_bytes, json_response, stream_response

if TYPE_CHECKING:
    from .engine import Ctx
    from .state import State


# --- handlers ---------------------------------------------------------------------------------
def image_list(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("before", "dangling", "label", "reference", "since", "until"))
    state = ctx.state
    with state.lock:
        images = list(state.images.images.values())
        result = []
        before = [state.images.get(r) for r in filters.get("before", [])]
        since = [state.images.get(r) for r in filters.get("since", [])]
        until = [parse_time(v) for v in filters.get("until", [])]
        for image in images:
            tags = state.images.repo_tags(image)
            created = parse_time(image.meta["created"])
            if "dangling" in filters:
                dangling = filters["dangling"][0].lower() in ("1", "true")
                if dangling != (not tags):
                    continue
            if not ctx.qbool("all") and not tags and state.images.children(image):
                continue  # intermediate layers only show with all=1
            if filters.get("label") and not match_labels(image.config.get("Labels"), filters["label"]):
                continue
            if any(created >= parse_time(b.meta["created"]) for b in before if b):
                continue
            if any(created <= parse_time(s.meta["created"]) for s in since if s):
                continue
            if any(created > u for u in until):
                continue
            if filters.get("reference"):
                wanted = filters["reference"]
                tags = [t for t in tags if any(_ref_match(t, w) for w in wanted)]
                if not tags:
                    continue
            out = summary_json(state, image, ctx.version, tags)
            if ctx.qbool("shared-size"):
                out["SharedSize"] = 0
            if ctx.at_least("1.47") and ctx.qbool("manifests"):
                out["Manifests"] = []
            result.append(out)
        containers_count = {}
        for container in state.containers.values():
            containers_count[container.image_id] = containers_count.get(container.image_id, 0) + 1
    result.sort(key=lambda item: item["Created"], reverse=True)
    return json_response(result)


def _ref_match(tag: str, pattern: str) -> bool:
    repo, _, tagpart = tag.rpartition(":")
    if ":" in pattern.rsplit("/", 1)[-1]:
        return fnmatch.fnmatchcase(tag, normalize(pattern) if "*" not in pattern else pattern)
    return fnmatch.fnmatchcase(repo, split_ref(pattern)[0] if "*" not in pattern else pattern)


def image_inspect(ctx: Ctx) -> Response:
    with ctx.state.lock:
        image = ctx.state.images.get(ctx.params["name"])
        return json_response(inspect_json(ctx.state, image, ctx.version))


def image_history(ctx: Ctx) -> Response:
    with ctx.state.lock:
        image = ctx.state.images.get(ctx.params["name"])
        # As the Engine (daemon/images/image_history.go): newest first, the image's own entry gets its id and
        # tags, the next its parent's, and so on while the parent is here; older entries are "<missing>".
        lineage: list[tuple[str, list[str]]] = []
        walk: Image | None = image
        while walk is not None:
            lineage.append((walk.id, ctx.state.images.repo_tags(walk)))
            walk = ctx.state.images.images.get(walk.parent) if walk.parent else None
    history = image.meta.get("history") or []
    out = []
    layer_sizes = [len(layer) for layer in image.layers]
    layer_index = 0
    for item in history:
        size = 0
        if not item.get("empty_layer") and layer_index < len(layer_sizes):
            size = layer_sizes[layer_index]
            layer_index += 1
        out.append({"Id": "<missing>", "Created": int(parse_time(item.get("created") or image.meta["created"])),
                    "CreatedBy": item.get("created_by", ""), "Tags": [], "Size": size,
                    "Comment": item.get("comment", "")})
    out.reverse()
    for item, (image_id, tags) in zip(out, lineage, strict=False):  # lineage may be shorter
        item["Id"], item["Tags"] = image_id, tags
    return json_response(out)


def image_tag(ctx: Ctx) -> Response:
    repo = ctx.q("repo") or ""
    tag = ctx.q("tag") or ""
    if not repo:
        raise ApiError(400, "repository name must have at least one component")
    if ":" in repo.rsplit("/", 1)[-1] and not tag:
        repo, tag = repo.rsplit(":", 1)
    repo = split_ref(repo + ":x")[0]
    if not REPO_RE.match(repo):
        raise ApiError(400, f"invalid reference format: repository name ({repo}) must be lowercase")
    if tag and not TAG_RE.match(tag):
        raise ApiError(400, f"invalid tag format: {tag}")
    with ctx.state.lock:
        image = ctx.state.images.get(ctx.params["name"])
        ctx.state.images.tag(image, f"{repo}:{tag or 'latest'}")
    return empty(201)


def image_delete(ctx: Ctx) -> Response:
    name = ctx.params["name"]
    force = ctx.qbool("force")
    state = ctx.state
    out: list[dict[str, str]] = []
    with state.lock:
        image = state.images.get(name)
        tags = state.images.repo_tags(image)
        users = state.images.users(image)
        running = [c for c in users if c.running]
        by_tag = normalize(name) in tags
        if by_tag and len(tags) > 1:
            ref = normalize(name)
            del state.images.tags[ref]
            state.emit("image", "untag", image.id, {"name": ref})
            return json_response([{"Untagged": ref}])
        if by_tag and not force and users:
            raise ApiError(409, f'conflict: unable to remove repository reference "{name}" (must force) - container '
                                f"{users[0].id[:12]} is using its referenced image {image.short}")
        if not by_tag and len(tags) > 1 and not force:
            raise ApiError(409, f"conflict: unable to delete {image.short} (must be forced) - image is referenced in "
                                "multiple repositories")
        if running:
            if by_tag:
                ref = normalize(name)
                del state.images.tags[ref]
                state.emit("image", "untag", image.id, {"name": ref})
                return json_response([{"Untagged": ref}])
            raise ApiError(409, f"conflict: unable to delete {image.short} (cannot be forced) - image is being used "
                                f"by running container {running[0].id[:12]}")
        if users and not force:
            raise ApiError(409, f"conflict: unable to delete {image.short} (must be forced) - image is being used by "
                                f"stopped container {users[0].id[:12]}")
        if state.images.children(image) and not force:
            raise ApiError(409, f"conflict: unable to delete {image.short} (cannot be forced) - image has dependent "
                                "child images")
        state.images.remove_image(image, out)
        if not ctx.qbool("noprune"):
            _prune_parents(state, image.parent, out)
    return json_response(out)


def _prune_parents(state: State, parent_id: str, out: list[dict[str, str]]) -> None:
    """As moby's image delete without noprune: untagged parents left with no child and no container go too
    (dockerd 20.10 observed: removing a built image deletes its intermediate step images)."""
    while parent_id:
        parent = state.images.images.get(parent_id)
        if parent is None or state.images.repo_tags(parent) or state.images.children(parent) \
                or state.images.users(parent):
            return
        parent_id = parent.parent
        state.images.remove_image(parent, out)


def image_prune(ctx: Ctx) -> Response:
    filters = parse_filters(ctx.q("filters"), ("dangling", "label", "label!", "until"))
    dangling_only = filters.get("dangling", ["true"])[0].lower() in ("1", "true")
    until = [parse_time(v) for v in filters.get("until", [])]
    deleted: list[dict[str, str]] = []
    reclaimed = 0
    state = ctx.state
    with state.lock:
        for image in list(state.images.images.values()):
            if image.id not in state.images.images:
                continue
            tags = state.images.repo_tags(image)
            if dangling_only and tags:
                continue
            if state.images.users(image) or state.images.children(image):
                continue
            if not prune_selects(filters, image.config.get("Labels"), parse_time(image.meta["created"]), until):
                continue
            reclaimed += image.size()
            state.images.remove_image(image, deleted)
        if deleted:
            state.emit("image", "prune", "", {"reclaimed": str(reclaimed)})
    return json_response({"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed})


def _progress(**fields: Any) -> bytes:
    return json_bytes(fields)


def image_create(ctx: Ctx) -> Response:
    from_image = ctx.q("fromImage") or ""
    from_src = ctx.q("fromSrc") or ""
    if from_src:
        return _import(ctx, from_src)
    if not from_image:
        raise ApiError(400, "fromImage or fromSrc is required")
    tag = ctx.q("tag") or ""
    repo, parsed_tag, digest = split_ref(from_image)
    if tag.startswith("sha256:"):
        digest, parsed_tag = tag, ""
    elif tag:
        parsed_tag = tag
    ref = f"{repo}@{digest}" if digest and not parsed_tag else f"{repo}:{parsed_tag or 'latest'}"
    state = ctx.state
    host = registry_host(repo)
    creds = credentials(ctx.req.headers.get("X-Registry-Auth"))
    if host and not state.images.registry.admits(host, creds):
        # As dockerd 20.10 answers a registry that wants basic auth (observed with scripts/registry-up).
        raise ApiError(500, "unauthorized: authentication required" if creds else
                       f"Head \"http://{host}/v2/{repo.partition('/')[2]}/manifests/{parsed_tag or digest}\": "
                       "no basic auth credentials")
    with state.lock:
        image = state.images.find(ref)
        source = state.images.registry.get(ref)
        if image is None and source is None and digest:
            source = state.images.registry.by_digest(repo, digest)
        if image is None and source is None:
            raise ApiError(404, f"pull access denied for {repo}, repository does not exist or may require "
                                "'docker login': denied: requested access to the resource is denied")
        fresh = image is None
        image = image or state.images.fetch(source)
        if not digest:
            state.images.tag(image, ref, emit=False)
        dig = digest_for(image.id)
        if f"{repo}@{dig}" not in image.repo_digests:
            image.repo_digests.append(f"{repo}@{dig}")
        state.emit("image", "pull", ref, {"name": ref})
    label = parsed_tag or digest

    def gen() -> Iterator[bytes]:
        yield _progress(status=f"Pulling from {repo if '/' in repo else 'library/' + repo}", id=label)
        if fresh:
            for layer in image.meta.get("rootfs", {}).get("diff_ids", []):
                yield _progress(status="Pulling fs layer", progressDetail={}, id=layer[7:19])
                yield _progress(status="Pull complete", progressDetail={}, id=layer[7:19])
        yield _progress(status=f"Digest: {dig}")
        status = "Downloaded newer image" if fresh else "Image is up to date"
        yield _progress(status=f"Status: {status} for {ref}")
    return stream_response(gen())


def parse_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """Apply Dockerfile-style --change instructions (CMD, ENV, LABEL, ...) to an image config."""
    for change in changes:
        change = change.strip()
        if change:
            keyword, _, args = change.partition(" ")
            apply_instruction(config, keyword.upper(), args.strip(), {})
    return config


def _push_refused(repo: str, message: str) -> Response:
    """The Engine writes "The push refers to repository" before it looks anything up: every refusal is then an
    in-stream error of a 200 (schemas/errata.yaml push-missing-image-in-stream; dockerd 20.10 observed)."""
    domain = registry_host(repo)
    shown = repo if domain else f"docker.io/{repo if '/' in repo else 'library/' + repo}"
    return stream_response(iter([_progress(status=f"The push refers to repository [{shown}]"), error_line(message)]))


def image_push(ctx: Ctx) -> Response:
    name = ctx.params["name"]
    tag = ctx.q("tag") or ""
    repo, parsed, _ = split_ref(name)
    tags = [tag] if tag else []
    state = ctx.state
    with state.lock:
        if not tags:
            tags = [ref.rsplit(":", 1)[1] for ref in state.images.tags if ref.rsplit(":", 1)[0] == repo]
            if ":" in name.rsplit("/", 1)[-1]:
                tags = [parsed]
        if not tags:
            return _push_refused(repo, f"An image does not exist locally with the tag: {repo}")
        host = registry_host(repo)
        creds = credentials(ctx.req.headers.get("X-Registry-Auth"))
        if host and not state.images.registry.admits(host, creds):
            # dockerd 20.10 (observed): 200, then the registry's refusal in the stream
            return _push_refused(repo, "unauthorized: authentication required" if creds else
                                 "no basic auth credentials")
        pushed = []
        for t in tags:
            image = state.images.find(f"{repo}:{t}")
            if image is None:
                return _push_refused(repo, f"An image does not exist locally with the tag: {repo}")
            state.images.registry.put(f"{repo}:{t}", image)
            dig = digest_for(image.id)
            if f"{repo}@{dig}" not in image.repo_digests:
                image.repo_digests.append(f"{repo}@{dig}")
            pushed.append((t, image, dig))
            state.emit("image", "push", f"{repo}:{t}", {"name": f"{repo}:{t}"})
    domain = repo.split("/")[0] if "/" in repo and ("." in repo.split("/")[0] or ":" in repo.split("/")[0]) else ""
    shown = repo if domain else f"docker.io/{repo if '/' in repo else 'library/' + repo}"

    def gen() -> Iterator[bytes]:
        yield _progress(status=f"The push refers to repository [{shown}]")
        for t, image, dig in pushed:
            for layer in image.meta.get("rootfs", {}).get("diff_ids", []):
                yield _progress(status="Preparing", progressDetail={}, id=layer[7:19])
                yield _progress(status="Pushed", progressDetail={}, id=layer[7:19])
            yield _progress(status=f"{t}: digest: {dig} size: 527")
            yield _progress(progressDetail={}, aux={"Tag": t, "Digest": dig, "Size": 527})
    return stream_response(gen())


def _import(ctx: Ctx, src: str) -> Response:
    if src != "-":
        raise ApiError(500, f"Get \"{src}\": the fake engine has no network access")
    fs = FS()
    try:
        fs.extract(ctx.req.body or _empty_tar())
    except ApiError:
        # dockerd 20.10 (observed): refused before the progress stream starts
        raise ApiError(500, "Error processing tar file(exit status 1): unexpected EOF") from None
    layer = fs.tar("/")
    config = parse_changes({}, ctx.req.qlist("changes"))
    created = now_ns()
    history = [{"created": rfc3339(created), "created_by": "", "comment": ctx.q("message") or "Imported from -"}]
    blob = make_config_blob(config, history, [sha(layer)], created, comment=ctx.q("message") or "Imported from -")
    state = ctx.state
    with state.lock:
        image = state.images.add(blob, [layer], fs)
        repo = ctx.q("repo") or ""
        if repo:
            tag = ctx.q("tag") or ""
            if ":" in repo.rsplit("/", 1)[-1] and not tag:
                repo, tag = repo.rsplit(":", 1)
            state.images.tag(image, f"{repo}:{tag or 'latest'}", emit=False)
        state.emit("image", "import", image.id, {"name": image.id})
    return stream_response(iter([json_bytes({"status": image.id})]))


def _empty_tar() -> bytes:
    buf = io.BytesIO()
    tarfile.open(fileobj=buf, mode="w").close()
    return buf.getvalue()


def save_tar(state: State, refs: list[str]) -> bytes:
    """docker save: manifest.json, repositories, config blobs and one dir per layer."""
    buf = io.BytesIO()
    manifest = []
    repositories: dict[str, dict[str, str]] = {}
    written: set[str] = set()
    with state.lock:
        entries = []
        for ref in refs:
            image = state.images.get(ref)
            tags = [normalize(ref)] if state.images.tags.get(normalize(ref)) == image.id else \
                state.images.repo_tags(image)
            entries.append((image, tags))
    with tarfile.open(fileobj=buf, mode="w") as out:
        def add(name: str, data: bytes) -> None:
            if name in written:
                return
            written.add(name)
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            out.addfile(info, io.BytesIO(data))

        for image, tags in entries:
            layer_paths = []
            for layer in image.layers:
                digest = hashlib.sha256(layer).hexdigest()
                add(f"{digest}/VERSION", b"1.0")
                add(f"{digest}/json", json.dumps({"id": digest}).encode())
                add(f"{digest}/layer.tar", layer)
                layer_paths.append(f"{digest}/layer.tar")
            config_name = f"{image.id[7:]}.json"
            add(config_name, image.blob)
            manifest.append({"Config": config_name, "RepoTags": tags or None, "Layers": layer_paths})
            for tag in tags:
                repo, _, t = tag.rpartition(":")
                repositories.setdefault(repo, {})[t] = layer_paths[-1].split("/")[0] if layer_paths else ""
        add("manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
        if repositories:
            add("repositories", json.dumps(repositories).encode())
    return buf.getvalue()


def image_get(ctx: Ctx) -> Response:
    data = save_tar(ctx.state, [ctx.params["name"]])
    state = ctx.state
    state.emit("image", "save", ctx.params["name"], {"name": ctx.params["name"]})
    return Response(200, data, Headers([("Content-Type", "application/x-tar")]))


def image_get_all(ctx: Ctx) -> Response:
    names = ctx.req.qlist("names")
    if not names:
        with ctx.state.lock:
            names = list(ctx.state.images.tags)
    data = save_tar(ctx.state, names)
    return Response(200, data, Headers([("Content-Type", "application/x-tar")]))


def image_load(ctx: Ctx) -> Response:
    quiet = ctx.qbool("quiet")
    lines: list[bytes] = []
    try:
        tar = tarfile.open(fileobj=io.BytesIO(ctx.req.body), mode="r:*")
        files = {m.name.lstrip("./"): tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
    except (tarfile.TarError, ValueError, AttributeError):
        # dockerd 20.10 (observed): the progress stream is open by then, the error comes in it
        return stream_response(iter([error_line("Error processing tar file(exit status 1): unexpected EOF")]))
    try:
        manifest = json.loads(files["manifest.json"])
    except (KeyError, ValueError):
        raise ApiError(500, "open /var/lib/docker/tmp/docker-import/manifest.json: no such file or directory") \
            from None
    state = ctx.state
    for entry in manifest:
        blob = files.get(entry.get("Config", ""))
        if blob is None:
            raise ApiError(500, f"invalid manifest, config {entry.get('Config')} not found")
        layers = [files.get(p, b"") for p in entry.get("Layers") or []]
        fs = FS()
        for layer in layers:
            fs.extract(layer)
        with state.lock:
            image = state.images.add(blob, layers, fs)
            tags = entry.get("RepoTags") or []
            for tag in tags:
                old = state.images.tags.get(normalize(tag))
                if old and old != image.id and not quiet:
                    lines.append(json_bytes({"stream": f"The image {tag} already exists, renaming the old one with "
                                                       f"ID {old} to empty string\n"}))
                state.images.tag(image, tag, emit=False)
                lines.append(json_bytes({"stream": f"Loaded image: {tag}\n"}))
            if not tags:
                lines.append(json_bytes({"stream": f"Loaded image ID: {image.id}\n"}))
            state.emit("image", "load", image.id, {"name": image.id})
    return stream_response(iter(lines))


def image_search(ctx: Ctx) -> Response:
    term = (ctx.q("term") or "").lower()
    if not term:
        raise ApiError(400, "term is required")
    limit = ctx.qint("limit", 25) or 25
    with ctx.state.lock:
        repos = sorted(ctx.state.images.registry.repositories())
    hits = [{"name": r, "description": "", "star_count": 0, "is_official": "/" not in r, "is_automated": False}
            for r in repos if term in r.lower()]
    return json_response(hits[:limit])


def image_commit(ctx: Ctx) -> Response:
    state = ctx.state
    body = ctx.body({}) or {}
    with state.lock:
        container = get_container(state, ctx.q("container") or "")
        base = state.images.images.get(container.image_id)
        config = {k: v for k, v in container.config.items()
                  if k in ("Cmd", "Entrypoint", "Env", "Labels", "WorkingDir", "ExposedPorts", "Volumes", "User",
                           "StopSignal", "OnBuild", "Healthcheck", "Hostname", "Domainname", "AttachStdin",
                           "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce", "Image")}
        for key, value in body.items():
            if value not in (None, "", [], {}):
                config[key] = value
        parse_changes(config, ctx.req.qlist("changes"))
        fs = container.fs.copy()
        layer = layer_diff(fs, base.fs if base else None)
        created = now_ns()
        history = list(base.meta.get("history", [])) if base else []
        history.append({"created": rfc3339(created), "created_by": " ".join(container.argv),
                        **({"comment": ctx.q("comment")} if ctx.q("comment") else {})})
        diff_ids = list(base.meta["rootfs"]["diff_ids"]) if base else []
        diff_ids.append(sha(layer))
        blob = make_config_blob(config, history, diff_ids, created, comment=ctx.q("comment") or "",
                                author=ctx.q("author") or "", container=container.id,
                                container_config=dict(container.config))
        image = state.images.add(blob, (base.layers if base else []) + [layer], fs, parent=base.id if base else "")
        repo = ctx.q("repo") or ""
        if repo:
            state.images.tag(image, f"{repo}:{ctx.q('tag') or 'latest'}", emit=False)
        state.emit("container", "commit", container.id, {"comment": ctx.q("comment") or "", "imageID": image.id,
                                                         "imageRef": repo, "name": container.name.lstrip("/")})
    return json_response({"Id": image.id}, 201)


def distribution_inspect(ctx: Ctx) -> Response:
    name = ctx.params["name"]
    registry = ctx.state.images.registry
    repo, _, digest = split_ref(name)
    host = registry_host(repo)
    if host and not registry.admits(host, credentials(ctx.req.headers.get("X-Registry-Auth"))):
        raise ApiError(401, "unauthorized: authentication required")
    image = registry.by_digest(repo, digest) if digest else registry.get(normalize(name))
    if image is None:
        # What a registry says for a repository it does not have (the spec declares 401, not 404).
        raise ApiError(401, "errors:\ndenied: requested access to the resource is denied\nunauthorized: "
                            "authentication required\n")
    return json_response({"Descriptor": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                                         "digest": digest_for(image.id), "size": 527},
                          "Platforms": [{"architecture": "amd64", "os": "linux"}]})


def image_attestations(ctx: Ctx) -> Response:
    for value in ctx.req.qlist("platform"):  # parsed before the image is looked up, as the router does
        try:
            platform = json.loads(value)
        except ValueError as exc:
            raise ApiError(400, f"failed to parse platform: {exc}") from None
        if not isinstance(platform, dict):
            raise ApiError(400, "failed to parse platform: not a JSON object")
    with ctx.state.lock:
        ctx.state.images.get(ctx.params["name"])
    # The fake's store is the legacy graphdriver one (overlay2, as /info says): it keeps no image index
    raise ApiError(501, "attestations are not supported by the graphdriver image store; enable the containerd "
                        "image store")


def new_build_id() -> str:
    return new_id()


# The routes this module serves, in match order (conformance/fake/routes.py builds the router).
ROUTES: tuple[Route, ...] = (
    route("GET", "/images/json", "ImageList", image_list),
    route("GET", "/images/{name:.+}/json", "ImageInspect", image_inspect),
    route("GET", "/images/{name:.+}/history", "ImageHistory", image_history),
    route("POST", "/images/{name:.+}/tag", "ImageTag", image_tag),
    route("DELETE", "/images/{name:.+}", "ImageDelete", image_delete),
    route("POST", "/images/prune", "ImagePrune", image_prune),
    route("POST", "/images/create", "ImageCreate", image_create),
    route("POST", "/images/{name:.+}/push", "ImagePush", image_push),
    route("GET", "/images/{name:.+}/get", "ImageGet", image_get),
    route("GET", "/images/get", "ImageGetAll", image_get_all),
    route("POST", "/images/load", "ImageLoad", image_load),
    route("GET", "/images/search", "ImageSearch", image_search),
    route("POST", "/commit", "ImageCommit", image_commit),
    route("GET", "/distribution/{name:.+}/json", "DistributionInspect", distribution_inspect),
    route("GET", "/images/{name:.+}/attestations", "ImageAttestations", image_attestations),
)
