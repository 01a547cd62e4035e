"""The HTML matrix in a real headless Chromium: rows and cells shown, filters (URL hash and clicks), details.

Skips cleanly when no Chromium is installed.  Interaction goes through the DevTools protocol with
websocket-client (Runtime.evaluate), no browser download.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from conformance import matrix, render
from selftests.test_matrix import SPEC_OPS, sample

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "matrix.html"
    path.write_text(render.to_html(matrix.build(sample(), SPEC_OPS, {"ImagePrune": "engine-wide effect"})))
    return path


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{time.monotonic_ns()}"
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=90)


class Rows(HTMLParser):
    """Visible matrix rows (operation names) and cells (state per visible version) of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[tuple[str, str]]] = {}
        self.ready = False
        self._row: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body" and a.get("data-ready") == "1":
            self.ready = True
        if tag == "tr" and "data-op" in a:
            self._row = None if "hidden" in a else a["data-op"]
            if self._row:
                self.rows[self._row] = []
        if tag == "td" and self._row and "data-state" in a and "hidden" not in a:
            self.rows[self._row].append((a.get("data-version") or "", a["data-state"] or ""))


def visible(tmp_path: Path, page: Path, fragment: str = "") -> Rows:
    done = chromium(tmp_path, "--dump-dom", page.as_uri() + fragment)
    assert done.returncode == 0, done.stderr[-2000:]
    parsed = Rows()
    parsed.feed(done.stdout)
    assert parsed.ready, "the page's script did not run"
    return parsed


def test_all_rows_and_cells_are_shown(tmp_path: Path, page: Path) -> None:
    rows = visible(tmp_path, page).rows
    assert set(rows) == {"ContainerList", "ImagePrune", "SystemPing"}
    assert rows["ContainerList"] == [("1.40", "fail"), ("1.41", "known-deviation")]
    assert rows["ImagePrune"] == [("1.40", "n/a"), ("1.41", "skip")]
    assert rows["SystemPing"] == [("1.40", "pass"), ("1.41", "skip")]


@pytest.mark.parametrize("fragment, expected", [
    ("#state=fail", {"ContainerList": [("1.40", "fail"), ("1.41", "known-deviation")]}),
    ("#tag=System", {"SystemPing": [("1.40", "pass"), ("1.41", "skip")]}),
    ("#version=1.41&state=skip", {"ImagePrune": [("1.41", "skip")], "SystemPing": [("1.41", "skip")]}),
    ("#q=list", {"ContainerList": [("1.40", "fail"), ("1.41", "known-deviation")]}),
])
def test_filters_from_the_url_hash(tmp_path: Path, page: Path, fragment: str, expected: dict[str, Any]) -> None:
    assert visible(tmp_path, page, fragment).rows == expected


class DevTools:
    """Just enough of the DevTools protocol: evaluate JS in the page."""

    def __init__(self, url: str):
        import websocket

        self.ws = websocket.create_connection(url, timeout=30)
        self.next_id = 0

    def evaluate(self, expression: str) -> Any:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": "Runtime.evaluate",
                                 "params": {"expression": expression, "returnByValue": True}}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                result = message["result"]
                assert "exceptionDetails" not in result, result
                return result["result"].get("value")


@pytest.fixture
def devtools(tmp_path: Path, page: Path) -> Iterator[DevTools]:
    pytest.importorskip("websocket")
    profile = tmp_path / "profile"
    proc = subprocess.Popen([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                             "--window-size=1400,900", page.as_uri()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            assert time.monotonic() < deadline and proc.poll() is None, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=10) as answer:
            targets = json.load(answer)
        client = DevTools(next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page"))
        while client.evaluate("document.body && document.body.dataset.ready") != "1":
            assert time.monotonic() < deadline, "the page's script did not run"
            time.sleep(0.1)
        yield client
        client.ws.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


VISIBLE_ROWS = "[...document.querySelectorAll('#matrix tbody tr')].filter(r => !r.hidden).map(r => r.dataset.op)"


def test_clicking_filters_sorting_and_details(devtools: DevTools) -> None:
    assert devtools.evaluate(VISIBLE_ROWS) == ["ContainerList", "ImagePrune", "SystemPing"]
    # Untick every state but "pass": only the operation with a passing cell stays.
    devtools.evaluate("document.querySelectorAll('[name=state]').forEach(b => { if (b.value !== 'pass') b.click() })")
    assert devtools.evaluate(VISIBLE_ROWS) == ["SystemPing"]
    assert devtools.evaluate("location.hash") == "#state=pass"
    devtools.evaluate("document.getElementById('reset-filters').click()")
    assert devtools.evaluate(VISIBLE_ROWS) == ["ContainerList", "ImagePrune", "SystemPing"]
    # Sort by the 1.40 column: worst state first (fail, pass, n/a).
    devtools.evaluate("document.querySelector('#matrix th[data-version=\"1.40\"]').click()")
    assert devtools.evaluate(VISIBLE_ROWS) == ["ContainerList", "SystemPing", "ImagePrune"]
    # A failed cell opens its findings: the check, expected and actual, and the redacted exchange.
    devtools.evaluate("document.querySelector('td[data-state=\"fail\"]').click()")
    details = devtools.evaluate("(() => { const d = document.querySelector('#details details[open]');"
                                " return d ? d.innerText : null })()")
    assert details is not None
    assert "status_expected" in details and "expected HTTP 200, got 500" in details


def test_screenshot(tmp_path: Path, page: Path) -> None:
    shot = tmp_path / "matrix.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,900", page.as_uri() + "#state=fail,pass")
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10_000


def test_target_filter_on_a_merged_page(tmp_path: Path) -> None:
    from urllib.parse import quote

    from selftests.test_matrix import TARGET, outcome, results

    other = dict(TARGET, kind="podman", engine_version="5.2", address="unix:///run/podman.sock")
    merged = matrix.merge([matrix.build(sample(), SPEC_OPS),
                           matrix.build(results([outcome("SystemPing", "1.41", "fail")], other, ("1.41",)), SPEC_OPS)])
    path = tmp_path / "merged.html"
    path.write_text(render.to_html(merged))
    podman = matrix.target_id(other)
    rows = visible(tmp_path, path, "#target=" + quote(podman)).rows
    assert rows == {"SystemPing": [("1.41", "fail")], "ContainerList": [("1.41", "not run")],
                    "ImagePrune": [("1.41", "not run")]}
    assert visible(tmp_path, path, "#state=fail&target=" + quote(podman)).rows == {"SystemPing": [("1.41", "fail")]}
    both = visible(tmp_path, path, "#version=1.41").rows
    assert both["SystemPing"] == [("1.41", "skip"), ("1.41", "fail")]
