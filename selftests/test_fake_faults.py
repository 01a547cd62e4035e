"""Each catalogued fault changes exactly what it says, and only while active."""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest
import requests

from conformance.fake import start_fake
from conformance.fake.faults import FAULTS, validate


@pytest.fixture(scope="module")
def fake():
    engine = start_fake()
    yield engine
    engine.stop()


@pytest.fixture
def http(fake):
    session = requests.Session()
    session.base = fake.url.replace("tcp://", "http://")  # type: ignore[attr-defined]
    yield session
    fake.faults.clear()


def u(http, path: str) -> str:
    return http.base + path


def exited(http, **body) -> str:
    body = {"Image": "busybox:latest", "Cmd": ["sh", "-c", "echo hi; echo err >&2"], **body}
    cid = http.post(u(http, "/v1.41/containers/create"), json=body).json()["Id"]
    http.post(u(http, f"/v1.41/containers/{cid}/start"))
    http.post(u(http, f"/v1.41/containers/{cid}/wait"))
    return cid


def test_catalogue_is_data_and_validated() -> None:
    assert len(FAULTS) >= 18
    assert all(f.description and f.where for f in FAULTS.values())
    with pytest.raises(ValueError):
        validate({"no-such-fault"})
    with pytest.raises(ValueError):
        start_fake(faults=["no-such-fault"])


def test_body_and_status_faults(fake, http) -> None:
    body = {"Image": "busybox:latest", "Cmd": ["true"]}
    fake.faults.update({"drop-required-field", "ok-instead-of-created"})
    created = http.post(u(http, "/v1.41/containers/create"), json=body)
    assert created.status_code == 200 and "Id" not in created.json() and "Warnings" in created.json()
    fake.faults.clear()
    created = http.post(u(http, "/v1.41/containers/create"), json=body)
    assert created.status_code == 201 and "Id" in created.json()
    cid = created.json()["Id"]
    fake.faults.add("ok-instead-of-no-content")
    assert http.post(u(http, f"/v1.41/containers/{cid}/start")).status_code == 200
    fake.faults.add("undeclared-status")
    assert http.get(u(http, f"/v1.41/containers/{cid}/json")).status_code == 418
    fake.faults.add("wrong-field-type")
    assert isinstance(http.get(u(http, "/v1.41/version")).json()["ApiVersion"], float)
    fake.faults.add("wrong-content-type")
    assert http.get(u(http, "/v1.41/containers/json")).headers["Content-Type"].startswith("text/html")


def test_header_and_version_faults(fake, http) -> None:
    fake.faults.add("missing-api-version-header")
    assert "Api-Version" not in http.get(u(http, "/version")).headers
    fake.faults.add("bad-ping-header")
    assert "Docker-Experimental" not in http.get(u(http, "/_ping")).headers
    assert "Docker-Experimental" in http.get(u(http, "/version")).headers
    fake.faults.add("accept-too-new-version")
    assert http.get(u(http, "/v1.99/version")).status_code == 200
    fake.faults.add("non-json-error")
    missing = http.get(u(http, "/v1.41/containers/nosuch/json"))
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/plain")
    assert missing.text.startswith("No such container")


def test_ignore_label_filter(fake, http) -> None:
    exited(http, Labels={"fault-test": "yes"})
    exited(http)
    query = {"all": 1, "filters": json.dumps({"label": ["fault-test=yes"]})}
    honest = http.get(u(http, "/v1.41/containers/json"), params=query).json()
    fake.faults.add("ignore-label-filter")
    sloppy = http.get(u(http, "/v1.41/containers/json"), params=query).json()
    assert len(honest) == 1 and len(sloppy) > 1


def test_log_frame_faults(fake, http) -> None:
    cid = exited(http)
    fake.faults.add("bad-frame-stream-byte")
    data = http.get(u(http, f"/v1.41/containers/{cid}/logs"), params={"stdout": 1, "stderr": 1}).content
    assert data[0] == 7
    fake.faults.clear()
    fake.faults.add("short-frame")
    data = http.get(u(http, f"/v1.41/containers/{cid}/logs"), params={"stdout": 1, "stderr": 1}).content
    assert int.from_bytes(data[4:8], "big") > len(data) - 8


def test_no_101_on_upgrade(fake, http) -> None:
    cid = exited(http)
    fake.faults.add("no-101-on-upgrade")
    host, port = fake.url[len("tcp://"):].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    sock.sendall(f"POST /v1.41/containers/{cid}/attach?logs=1&stdout=1 HTTP/1.1\r\nHost: x\r\n"
                 "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
    sock.settimeout(3)
    assert sock.recv(64).startswith(b"HTTP/1.1 200 OK")
    sock.close()


def test_archive_stat_fault(fake, http) -> None:
    cid = exited(http)
    fake.faults.add("bad-stat-header")
    header = http.head(u(http, f"/v1.41/containers/{cid}/archive"), params={"path": "/etc"}).headers[
        "X-Docker-Container-Path-Stat"]
    with pytest.raises(ValueError):
        json.loads(base64.b64decode(header, validate=True))


def test_event_faults(fake, http) -> None:
    since = time.time() - 0.2
    exited(http)
    params = {"since": f"{since:.3f}", "until": f"{time.time():.3f}"}
    fake.faults.add("events-missing-field")
    records = [json.loads(line) for line in http.get(u(http, "/v1.41/events"), params=params).content.splitlines()]
    assert records and all("timeNano" not in r for r in records)
    fake.faults.add("missing-rs-framing")
    seq = http.get(u(http, "/v1.52/events"), params=params, headers={"Accept": "application/json-seq"})
    assert seq.headers["Content-Type"] == "application/json-seq" and b"\x1e" not in seq.content
    fake.faults.add("hang-stream")
    with pytest.raises((requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError)):
        http.get(u(http, "/v1.41/events"), params=params, timeout=0.5)
