"""Shared objects of the streams promises (a pytest plugin listed in the top-level conftest.py).

One exited container per session (per xdist worker), `streams_container`: its process wrote known lines to
stdout and stderr and changed its filesystem (one file added, one changed, one deleted), and then the fixture
put a small tree into it (a file of known mode and bytes, a directory and a symlink).  The logs, archive,
export and changes promises read it back (suites/promises/container-streams.yaml); it is a dict, read as
"{streams_container.id}", "{streams_container.since_after}" ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plugins.fixtures import _quietly, _state, unique_name
from suites.promise_checks.fixtures import PROMISE_LABEL
from suites.promise_checks.streams import epoch, tar_tree

# What the process writes: stdout o1..o5 and stderr e1, e2, in this order.  The pause makes the stderr lines
# reach the log before o3..o5 (stdout and stderr are copied to the log by separate readers), so the last
# lines of the log are o4, o5 whatever the Engine's copy order.
ADDED_FILE, ADDED_TEXT = "/tmp/dac-w", "written by the process\n"
CHANGED_FILE, DELETED_FILE = "/etc/passwd", "/etc/group"
SCRIPT = (f"echo o1; echo e1 >&2; echo o2; echo e2 >&2; echo '{ADDED_TEXT.strip()}' > {ADDED_FILE}; "
          f"echo dac >> {CHANGED_FILE}; rm {DELETED_FILE}; sleep 0.1; echo o3; echo o4; echo o5")
# What the fixture puts into /tmp after the run (the archive promises stat and read it).
TREE = [("dac", "dir", b"", 0o750), ("dac/f", "file", b"stat me\n", 0o640), ("dac/l", "symlink", b"f", 0o777)]


@pytest.fixture(scope="session")
def streams_container(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The exited container of SCRIPT with TREE put into /tmp, and the times of its run."""
    state = _state(request)
    sdk = state.sdk
    name = unique_name(state, "streams")
    created = sdk.create_container(state.image, command=["sh", "-c", SCRIPT], name=name,
                                   labels={**state.label, PROMISE_LABEL: "streams"},
                                   environment=state.placement.env() or None)
    cid = created["Id"]
    try:
        sdk.start(cid)
        sdk.wait(cid, timeout=30)
        sdk.put_archive(cid, "/tmp", tar_tree(TREE))
        run = sdk.inspect_container(cid)["State"]
        started, finished = epoch(run["StartedAt"]) or 0.0, epoch(run["FinishedAt"]) or 0.0
        yield {"id": cid, "name": name, "started": started, "finished": finished,
               # whole seconds (the spec's since/until are integers) after and before every line of the log
               "since_after": int(finished) + 1, "until_before": int(started) - 1}
    finally:
        _quietly(sdk.remove_container, cid, force=True, v=True)
