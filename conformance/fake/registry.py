"""The fake's registry: what was pushed, and which registry hosts want credentials.

It stands apart from any one engine so that several engines can share it, as real nodes share a real
registry (the classic Swarm fake's nodes push to and pull from one).  It keeps its own lock because
engines with their own state locks reach it at the same time.

Every registry host is open (any credentials, or none, are taken) unless `require_login` named it:
then only its user and password are.  The embedded fake offers one host of each kind (`OWN_HOSTS`),
so that a run on the fake covers push, pull, login and distribution without a registry of its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .image_store import Image

OPEN_HOST = "open.registry.fake.local"
AUTH_HOST = "auth.registry.fake.local"
AUTH_USER = "dac"


def digest_for(image_id: str) -> str:
    """The manifest digest the fake gives an image (stable: derived from the image id)."""
    return "sha256:" + hashlib.sha256(("manifest:" + image_id).encode()).hexdigest()


def registry_host(repo: str) -> str:
    """The registry part of a repository name ("" for Docker Hub), as the Engine splits it."""
    first, sep, _ = repo.partition("/")
    return first if sep and ("." in first or ":" in first or first == "localhost") else ""


def credentials(header: str | None) -> dict[str, Any]:
    """The X-Registry-Auth header decoded (base64url JSON, padding optional); {} when absent or unreadable."""
    if not header:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Registry:
    """"repo:tag" -> the image pushed there, and the logins of the hosts that check credentials."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refs: dict[str, Image] = {}
        self._plugins: dict[str, dict[str, Any]] = {}  # "repo:tag" -> a pushed plugin's config.json
        self._logins: dict[str, tuple[str, str]] = {}

    # --- credentials ------------------------------------------------------------------------------------
    def require_login(self, host: str, user: str, password: str) -> None:
        with self._lock:
            self._logins[host] = (user, password)

    def admits(self, host: str, creds: dict[str, Any]) -> bool:
        """Whether a request with these credentials may use `host` (an open host admits everything)."""
        with self._lock:
            login = self._logins.get(host)
        return login is None or (creds.get("username"), creds.get("password")) == login

    def own_hosts(self) -> dict[str, str]:
        """The embedded fake's own registries (`open`, `auth`, `user`, `password`); the auth one is set up
        here with a fresh password."""
        password = secrets.token_hex(8)
        self.require_login(AUTH_HOST, AUTH_USER, password)
        return {"open": OPEN_HOST, "auth": AUTH_HOST, "user": AUTH_USER, "password": password}

    # --- content ----------------------------------------------------------------------------------------
    def put(self, ref: str, image: Image) -> None:
        with self._lock:
            self._refs[ref] = image

    def get(self, ref: str) -> Image | None:
        with self._lock:
            return self._refs.get(ref)

    def by_digest(self, repo: str, digest: str) -> Image | None:
        with self._lock:
            return next((img for ref, img in self._refs.items()
                         if ref.startswith(repo + ":") and digest_for(img.id) == digest), None)

    def repositories(self) -> set[str]:
        with self._lock:
            return {ref.rsplit(":", 1)[0] for ref in self._refs}

    def put_plugin(self, ref: str, config: dict[str, Any]) -> None:
        with self._lock:
            self._plugins[ref] = config

    def get_plugin(self, ref: str) -> dict[str, Any] | None:
        with self._lock:
            return self._plugins.get(ref)
