"""Shared objects of the images promises (a pytest plugin listed in the top-level conftest.py).

Made once per session (per xdist worker) with the docker SDK from the test image, without pulls: commits of
one created, never started container (a commit is milliseconds; the container is placed like every container
of the suite, so on a classic Swarm all these images are on one node) and one build.  Each is a dict the
catalogue reads as "{promise_image.id}", "{promise_image.ref}" ...; every image carries the run label and is
removed at the end (by id, forced: the promises add tags to them).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest

from plugins.fixtures import _quietly, _requires, _state, unique_name
from plugins.safety import registries
from plugins.session import SuiteState
from suites.promise_checks.fixtures import PROMISE_LABEL
from suites.promise_checks.images import BUILD_STEPS

# What promise_image is committed with; suites/promises/image.yaml reads these values back.
COMMIT = {
    "message": "docker-api-conformance promise commit",
    "author": "docker-api-conformance <dac@example.invalid>",
    "changes": ["ENV DAC_PROMISE=image", f"LABEL {PROMISE_LABEL}-change=committed", 'CMD ["echo", "promised"]'],
}


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as out:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            out.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _commit(state: SuiteState, source: str, value: str, repo: str | None = None, **options: Any) -> str:
    """A commit of `source` labelled PROMISE_LABEL=value (and the run label), tagged repo:v1 when given: its id."""
    conf = {"Labels": {**state.label, PROMISE_LABEL: value}}
    return str(state.sdk.commit(source, repository=repo, tag="v1" if repo else None, conf=conf, **options)["Id"])


def _remove(state: SuiteState, image_id: str) -> None:
    _quietly(state.sdk.remove_image, image_id, force=True)


@pytest.fixture(scope="session")
def promise_commit_source(request: pytest.FixtureRequest) -> Iterator[str]:
    """A created (never started) labelled container of the test image that the fixtures and the image sequences
    commit."""
    state = _state(request)
    created = state.sdk.create_container(state.image, command=["true"], labels=state.label,
                                         name=unique_name(state, "psrc"), environment=state.placement.env() or None)
    try:
        yield str(created["Id"])
    finally:
        _quietly(state.sdk.remove_container, created["Id"], force=True)


@pytest.fixture(scope="session")
def promise_image(request: pytest.FixtureRequest, promise_commit_source: str) -> Iterator[dict[str, str]]:
    """A commit with COMMIT's message, author and changes, label promise=image:
    {id, ref ("repo:v1"), repo, tag, parent (the test image's id)}."""
    state = _state(request)
    repo = unique_name(state, "pimg")
    parent = state.sdk.inspect_image(state.image)["Id"]
    image_id = _commit(state, promise_commit_source, "image", repo, message=COMMIT["message"],
                       author=COMMIT["author"], changes=COMMIT["changes"])
    try:
        yield {"id": image_id, "ref": f"{repo}:v1", "repo": repo, "tag": "v1", "parent": parent}
    finally:
        _remove(state, image_id)


@pytest.fixture(scope="session")
def promise_other_image(request: pytest.FixtureRequest, promise_commit_source: str,
                        promise_image: dict[str, str]) -> Iterator[dict[str, str]]:
    """A commit tagged "repo:v1" made after promise_image (the before/since filters rely on that), with another
    repository and label value: {id, ref, repo}."""
    state = _state(request)
    repo = unique_name(state, "pother")
    image_id = _commit(state, promise_commit_source, "other-image", repo)
    try:
        yield {"id": image_id, "ref": f"{repo}:v1", "repo": repo}
    finally:
        _remove(state, image_id)


@pytest.fixture(scope="session")
def promise_dangling_image(request: pytest.FixtureRequest, promise_commit_source: str) -> Iterator[dict[str, str]]:
    """An untagged (dangling) commit: {id}."""
    state = _state(request)
    image_id = _commit(state, promise_commit_source, "dangling")
    try:
        yield {"id": image_id}
    finally:
        _remove(state, image_id)


@pytest.fixture(scope="session")
def promise_built_image(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A build FROM the test image of BUILD_STEPS, with the `labels` parameter: {id, ref, base}."""
    state = _state(request)
    sdk = state.sdk
    ref = f"{unique_name(state, 'pbuilt')}:v1"
    dockerfile = "\n".join([f"FROM {state.image}", *(line for line, _ in BUILD_STEPS)]) + "\n"
    context = tar_of({"Dockerfile": dockerfile.encode()})
    output = list(sdk.build(fileobj=io.BytesIO(context), custom_context=True, tag=ref, rm=True, forcerm=True,
                            nocache=True, labels={**state.label, PROMISE_LABEL: "built"}, decode=True))
    errors = [line for line in output if isinstance(line, dict) and line.get("error")]
    if errors:
        pytest.fail(f"precondition: the build of {ref} failed: {errors[0]}")
    image_id = sdk.inspect_image(ref)["Id"]
    try:
        yield {"id": image_id, "ref": ref, "base": state.image}
    finally:
        _remove(state, image_id)


@pytest.fixture(scope="session")
def promise_registry_image(request: pytest.FixtureRequest, promise_image: dict[str, str]) -> Iterator[dict[str, str]]:
    """promise_image tagged for the open registry (the promises push it): {ref, repo, tag, id}."""
    _requires(request, "registry")  # (the `registry` fixture is function-scoped)
    state = _state(request)
    address = registries(request.config).open
    repo = f"{address}/{promise_image['repo']}"
    state.sdk.tag(promise_image["id"], repo, "v1")
    try:
        yield {"ref": f"{repo}:v1", "repo": repo, "tag": "v1", "id": promise_image["id"]}
    finally:
        _quietly(state.sdk.remove_image, f"{repo}:v1")
