"""Remove what conformance runs created on an engine, selected by the run label only.

Used by the session sweep (this run's label value; on an xdist worker only the objects named
for that worker, so a worker never removes another worker's preconditions) and by
`--cleanup-stale` / `python -m conformance.cleanup --target URL` (any value of the run label
key: leftovers of runs that were killed).  Objects without the label are never touched; the
only exception is plugins, which cannot carry labels: those whose name has the run-name shape
`dac-<8 hex>-` (and only when the label is matched by value, this run's own prefix).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors

RUN_LABEL = "com.docker-api-conformance.run"
# Names this suite gives (plugins/fixtures.py unique_name): dac-<run id>-<worker>-<kind>-<n>.
RUN_NAME = re.compile(r"^dac-[0-9a-z]{4,16}-(main|gw[0-9]+)-[a-z]+-[0-9]+")
# The objects (by the spec tag of the operations that create them) that the sweep also finds by a run name,
# without the label: images tagged with one (an import at a version without `changes` carries no label) and
# plugins (they cannot carry labels).  Everything else is found by the label only.
FOUND_BY_RUN_NAME = ("Image", "Plugin")


@dataclass
class Selector:
    """Which labelled objects to remove: label value (None = any) and an optional name token."""

    run_id: str | None = None
    name_token: str | None = None  # e.g. "-gw0-": only objects whose name holds it (an xdist worker's own)

    def run_named(self, name: str) -> bool:
        """A name this suite gave (this run's, or any run's when run_id is None); registry prefixes ignored."""
        base = name.rsplit("/", 1)[-1]
        if self.run_id:
            return base.startswith(f"dac-{self.run_id}-") and self.named(base)
        return bool(RUN_NAME.match(base))

    @property
    def label_filter(self) -> str:
        return f"{RUN_LABEL}={self.run_id}" if self.run_id else RUN_LABEL

    def named(self, *names: str | None) -> bool:
        return self.name_token is None or any(self.name_token in (n or "") for n in names)


@dataclass
class Removed:
    objects: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, ident: str) -> None:
        self.objects.setdefault(kind, []).append(ident)

    @property
    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.objects.items()}

    def summary(self) -> str:
        parts = [f"{len(v)} {k}" for k, v in self.objects.items() if v]
        return ", ".join(parts) or "nothing"


def _try(removed: Removed, kind: str, ident: str, action: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    try:
        action(*args, **kwargs)
        removed.add(kind, ident)
    except docker.errors.NotFound:
        pass  # already gone
    except docker.errors.APIError as exc:
        removed.errors.append(f"{kind} {ident}: {exc.explanation or exc}")


def _swarm_manager(api: docker.APIClient) -> bool:
    try:
        return bool((api.info().get("Swarm") or {}).get("ControlAvailable"))
    except docker.errors.APIError:
        return False


def remove_labelled(api: docker.APIClient, selector: Selector) -> Removed:
    """Remove labelled services, containers, images, networks, volumes, secrets, configs (in that order)."""
    removed = Removed()
    flt = {"label": [selector.label_filter]}
    manager = _swarm_manager(api)
    if manager:
        for svc in api.services(filters=flt):
            if selector.named(svc["Spec"].get("Name")):
                _try(removed, "services", svc["Spec"].get("Name", svc["ID"]), api.remove_service, svc["ID"])
    for ctr in api.containers(all=True, filters=flt):
        names = [n.lstrip("/") for n in ctr.get("Names") or []]
        if selector.named(*names):
            _try(removed, "containers", names[0] if names else ctr["Id"], api.remove_container, ctr["Id"],
                 force=True, v=True)
    for img in api.images(all=True, filters=flt):
        tags = [t for t in img.get("RepoTags") or [] if t != "<none>:<none>"]
        if not selector.named(*tags) and selector.name_token is not None:
            continue
        # Untag first, then the image itself without force: a user's tag on our image would stop it.
        for tag in tags:
            _try(removed, "image tags", tag, api.remove_image, tag)
        try:
            api.inspect_image(img["Id"])
        except docker.errors.NotFound:
            continue
        _try(removed, "images", img["Id"][:19], api.remove_image, img["Id"])
    # Images tagged with a run name but without the label (an import at a version without `changes`): by tag.
    for img in api.images():
        for tag in img.get("RepoTags") or []:
            if tag != "<none>:<none>" and selector.run_named(tag.rsplit(":", 1)[0]):
                _try(removed, "image tags", tag, api.remove_image, tag)
    for net in api.networks(filters=flt):
        if selector.named(net.get("Name")):
            release_network(api, net["Id"])
            _try(removed, "networks", net["Name"], api.remove_network, net["Id"])
    for vol in (api.volumes(filters=flt) or {}).get("Volumes") or []:
        if selector.named(vol.get("Name")):
            _try(removed, "volumes", vol["Name"], api.remove_volume, vol["Name"], force=True)
    if manager:
        for secret in api.secrets(filters=flt):
            if selector.named(secret["Spec"].get("Name")):
                _try(removed, "secrets", secret["Spec"]["Name"], api.remove_secret, secret["ID"])
        for cfg in api.configs(filters=flt):
            if selector.named(cfg["Spec"].get("Name")):
                _try(removed, "configs", cfg["Spec"]["Name"], api.remove_config, cfg["ID"])
    _remove_plugins(api, selector, removed)
    return removed


def release_network(api: docker.APIClient, network_id: str) -> None:
    """Force-disconnect what is still attached to one of our networks (an endpoint can outlive its container)."""
    try:
        attached = api.inspect_network(network_id).get("Containers") or {}
    except docker.errors.APIError:
        return
    for endpoint_id, endpoint in attached.items():
        # By name: a stale endpoint (its container gone) is only found by the name it was created for.
        try:
            api.disconnect_container_from_network(endpoint.get("Name") or endpoint_id, network_id, force=True)
        except docker.errors.APIError:
            pass  # gone meanwhile


def _remove_plugins(api: docker.APIClient, selector: Selector, removed: Removed) -> None:
    try:
        plugins = api.plugins()
    except docker.errors.APIError:
        return
    for plugin in plugins or []:
        name = plugin.get("Name", "")
        if selector.run_named(name.rsplit("/", 1)[-1].split(":")[0]):  # the repository part, without host or tag
            _try(removed, "plugins", name, api.remove_plugin, name, force=True)


def main(argv: list[str] | None = None, prog: str = "python -m conformance.cleanup") -> int:
    from conformance.target import TargetError, open_client, resolve

    parser = argparse.ArgumentParser(prog=prog,
                                     description="Remove objects left by conformance runs (selected by run label).")
    parser.add_argument("--target", required=True, help="engine address (unix://, tcp://, http(s)://)")
    parser.add_argument("--run-id", default=None, help="only this run's objects (default: any run)")
    args = parser.parse_args(argv)
    try:
        api = open_client(resolve(args.target), version="auto")
        removed = remove_labelled(api, Selector(run_id=args.run_id))
    except (TargetError, docker.errors.DockerException) as exc:
        print(f"cleanup: {exc}", file=sys.stderr)
        return 2
    print(f"cleanup: removed {removed.summary()}")
    for kind, names in removed.objects.items():
        for name in names:
            print(f"  {kind}: {name}")
    for error in removed.errors:
        print(f"  could not remove {error}", file=sys.stderr)
    return 1 if removed.errors else 0


if __name__ == "__main__":
    sys.exit(main())
