"""The Engine fake's route table: every resource module's ROUTES, in match order (the first match wins, so a
literal path such as /images/json comes before /images/{name:.+}/json)."""

from __future__ import annotations

from . import (
    build,
    container_files,
    container_io,
    containers,
    execs,
    images,
    networks,
    plugins,
    services,
    swarm,
    system,
    volumes,
)
from .routing import Route, Router

ENGINE_ROUTES: tuple[Route, ...] = (
    *networks.ROUTES, *images.ROUTES, *build.ROUTES, *volumes.ROUTES, *containers.ROUTES, *container_files.ROUTES,
    *container_io.ROUTES, *execs.ROUTES, *plugins.ROUTES, *swarm.ROUTES, *services.ROUTES,
    *system.ROUTES,
)
ENGINE_ROUTER = Router(ENGINE_ROUTES)
