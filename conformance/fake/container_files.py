"""A container's filesystem over the API: changes, export, archive (HEAD/GET/PUT)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .container_model import path_container
from .fs import norm
from .routing import Route, route
from .wire import ApiError, Headers, Response, json_response

if TYPE_CHECKING:
    from .engine import Ctx


def container_changes(ctx: Ctx) -> Response:
    with ctx.state.lock:
        container = path_container(ctx)
        return json_response(container.fs.changes(container.base_fs) or None)  # nil when nothing changed


def container_export(ctx: Ctx) -> Response:
    with ctx.state.lock:
        container = path_container(ctx)
        data = container.fs.tar("/")
        ctx.state.emit("container", "export", container.id, container.attrs(ctx.state))
    return Response(200, data, Headers([("Content-Type", "application/octet-stream")]))


# --- archive ---------------------------------------------------------------------------------
def _archive_path(ctx: Ctx) -> str:
    path = ctx.q("path")
    if not path:
        raise ApiError(400, "path must not be empty")
    return path


def container_archive_head(ctx: Ctx) -> Response:
    path = _archive_path(ctx)
    with ctx.state.lock:
        container = path_container(ctx)
        cwd = container.config.get("WorkingDir") or "/"
        try:
            header = container.fs.stat_header(norm(path, cwd))
        except ApiError:
            raise ApiError(404, f"Could not find the file {path} in container {ctx.params['id']}") from None
    return Response(200, b"", Headers([("X-Docker-Container-Path-Stat", header)]))


def container_archive_get(ctx: Ctx) -> Response:
    path = _archive_path(ctx)
    with ctx.state.lock:
        container = path_container(ctx)
        cwd = container.config.get("WorkingDir") or "/"
        full = norm(path, cwd)
        try:
            header = container.fs.stat_header(full)
        except ApiError:
            raise ApiError(404, f"Could not find the file {path} in container {ctx.params['id']}") from None
        follow = path.endswith("/.") or path.endswith("/")
        data = container.fs.tar(container.fs.resolve(full) if follow else full)
        ctx.state.emit("container", "archive-path", container.id, container.attrs(ctx.state, path=path))
    return Response(200, data, Headers([("Content-Type", "application/x-tar"),
                                        ("X-Docker-Container-Path-Stat", header)]))


def container_archive_put(ctx: Ctx) -> Response:
    path = _archive_path(ctx)
    with ctx.state.lock:
        container = path_container(ctx)
        if container.host_config.get("ReadonlyRootfs"):
            raise ApiError(403, "container rootfs is marked read-only")
        full = norm(path, container.config.get("WorkingDir") or "/")
        entry = container.fs.get(full)
        if entry is None:
            raise ApiError(404, f"Could not find the file {path} in container {ctx.params['id']}")
        if entry.kind != "dir":
            raise ApiError(400, "extraction point is not a directory")
        container.fs.extract(ctx.req.body, full, no_overwrite_dir_non_dir=ctx.qbool("noOverwriteDirNonDir"))
        ctx.state.emit("container", "extract-to-dir", container.id, container.attrs(ctx.state, path=path))
    return Response(200, b"")  # dockerd 20.10: an empty 200, no Content-Type


# The routes this module serves (conformance/fake/routes.py builds the router).
ROUTES: tuple[Route, ...] = (
    route("GET", "/containers/{id}/changes", "ContainerChanges", container_changes),
    route("GET", "/containers/{id}/export", "ContainerExport", container_export),
    route("HEAD", "/containers/{id}/archive", "ContainerArchiveInfo", container_archive_head),
    route("GET", "/containers/{id}/archive", "ContainerArchive", container_archive_get),
    route("PUT", "/containers/{id}/archive", "PutContainerArchive", container_archive_put),
)
