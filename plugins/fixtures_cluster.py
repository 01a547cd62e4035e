"""Swarm-mode preconditions beyond plugins/fixtures.py: a cluster (CSI) volume, for VolumeUpdate.

Scenarios that need it require swarm-manager; the volume is labelled and named per run like every other
object (the session sweep removes it by name, with force, should its teardown not).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance import skips
from plugins.fixtures import _quietly, _requires, _state, _version_and_spec, unique_name

# No CSI plugin of that name is installed anywhere: swarmkit's CreateVolume does not look the driver up
# (manager/controlapi/volume.go), so the volume is created and stays pending (no Info), which is all that
# VolumeUpdate needs.
CSI_DRIVER = "dac-csi-none"
ACCESS_MODE = {"Scope": "single", "Sharing": "none", "MountVolume": {}}


@pytest.fixture
def cluster_volume(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """{cluster_volume.id} (ClusterVolume.ID), .name, .version (ClusterVolume.Version.Index) and .spec
    (ClusterVolume.Spec as the Engine answers it), for a no-change VolumeUpdate; removed (forced) afterwards."""
    _requires(request, "swarm-manager")
    state = _state(request)
    sdk = state.sdk
    # docker-py's create_volume knows no ClusterVolumeSpec: the SDK's raw JSON post instead
    body = {"Name": unique_name(state, "cvol"), "Driver": CSI_DRIVER, "Labels": state.label,
            "ClusterVolumeSpec": {"AccessMode": ACCESS_MODE}}
    created = sdk._result(sdk._post_json(sdk._url("/volumes/create"), data=body), True)
    cluster = created.get("ClusterVolume")
    if not cluster:  # an Engine below API 1.42 ignores ClusterVolumeSpec and makes a local volume
        _quietly(sdk.remove_volume, created["Name"], force=True)
        skips.skip(skips.PRECONDITION, "the engine made a local volume, not a cluster volume (API < 1.42?)")
    try:
        yield {"id": cluster["ID"], "name": created["Name"], **_version_and_spec(cluster)}
    finally:
        # by ID: moby's VolumeDelete asks the swarm only when no local volume has the name
        _quietly(sdk.remove_volume, cluster["ID"], force=True)
