"""The fake's wire behaviour, byte for byte: versioning, headers, stream framing, hijacking, websockets."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time

import pytest
import requests

from conformance.fake import start_fake


@pytest.fixture(scope="module")
def fake():
    engine = start_fake()
    yield engine
    engine.stop()


@pytest.fixture(scope="module")
def http(fake):
    session = requests.Session()
    session.base = fake.url.replace("tcp://", "http://")  # type: ignore[attr-defined]
    return session


def url(http, path: str) -> str:
    return http.base + path


def raw(fake, request: bytes, send_after: bytes = b"", half_close: bool = False, wait: float = 1.0) -> bytes:
    host, port = fake.url[len("tcp://"):].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    sock.sendall(request)
    if send_after:
        time.sleep(0.1)
        sock.sendall(send_after)
    if half_close:
        sock.shutdown(socket.SHUT_WR)
    sock.settimeout(wait)
    out = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            out += data
    except TimeoutError:
        pass
    sock.close()
    return out


def create(http, version: str = "1.41", **body) -> str:
    body.setdefault("Image", "busybox:latest")
    response = http.post(url(http, f"/v{version}/containers/create"), json=body)
    assert response.status_code == 201, response.text
    return response.json()["Id"]


def run_to_exit(http, cid: str) -> int:
    assert http.post(url(http, f"/v1.41/containers/{cid}/start")).status_code == 204
    return http.post(url(http, f"/v1.41/containers/{cid}/wait")).json()["StatusCode"]


def frames(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while data:
        stream, size = struct.unpack(">BxxxL", data[:8])
        out.append((stream, data[8:8 + size]))
        data = data[8 + size:]
    return out


# --- versioning and headers ------------------------------------------------------------------
def test_version_bounds_and_unknown_routes(http) -> None:
    too_new = http.get(url(http, "/v1.99/version"))
    assert too_new.status_code == 400
    assert too_new.json() == {"message": "client version 1.99 is too new. Maximum supported API version is 1.56"}
    too_old = http.get(url(http, "/v1.12/version"))
    assert too_old.status_code == 400
    assert too_old.json()["message"] == ("client version 1.12 is too old. Minimum supported API version is 1.25, "
                                         "please upgrade your client to a newer version")
    missing = http.get(url(http, "/v1.41/no/such/route"))
    assert missing.status_code == 404 and missing.json() == {"message": "page not found"}
    # As dockerd 20.10 answers (observed): the version middleware's errors lack Docker-Experimental (that
    # middleware runs later), and the router's own 404 carries none of the Engine's headers.
    for response, experimental in ((too_new, False), (too_old, False), (http.get(url(http, "/version")), True)):
        assert response.headers["Api-Version"] == "1.56"
        assert ("Docker-Experimental" in response.headers) is experimental
        assert response.headers["Ostype"] == "linux"
        assert response.headers["Server"].startswith("Docker/") and response.headers["Server"].endswith("(linux)")
    assert not {"Api-Version", "Docker-Experimental", "Ostype", "Server"} & set(missing.headers)


def test_ping_and_version(http) -> None:
    ping = http.get(url(http, "/_ping"))
    assert ping.status_code == 200 and ping.text == "OK"
    assert ping.headers["Content-Type"].startswith("text/plain")
    assert ping.headers["Pragma"] == "no-cache" and "no-cache" in ping.headers["Cache-Control"]
    assert "Builder-Version" in ping.headers
    head = http.head(url(http, "/_ping"))
    assert head.status_code == 200 and head.content == b""
    version = http.get(url(http, "/v1.41/version")).json()
    assert version["ApiVersion"] == "1.56" and version["MinAPIVersion"] == "1.25"
    engine = next(c for c in version["Components"] if c["Name"] == "Engine")
    assert engine["Details"]["Fake"] == "true"


# --- logs ------------------------------------------------------------------------------------
def test_logs_are_multiplexed_with_timestamps(http) -> None:
    cid = create(http, Cmd=["sh", "-c", "echo hi; echo err >&2; exit 3"])
    assert run_to_exit(http, cid) == 3
    logs = http.get(url(http, f"/v1.41/containers/{cid}/logs"), params={"stdout": 1, "stderr": 1})
    assert logs.headers["Content-Type"] == "application/vnd.docker.raw-stream"  # as moby 23+ below API 1.42
    assert frames(logs.content) == [(1, b"hi\n"), (2, b"err\n")]
    stamped = frames(http.get(url(http, f"/v1.41/containers/{cid}/logs"),
                              params={"stdout": 1, "timestamps": 1}).content)
    assert len(stamped) == 1 and stamped[0][1].endswith(b"Z hi\n")
    modern = http.get(url(http, f"/v1.42/containers/{cid}/logs"), params={"stdout": 1, "stderr": 1})
    assert modern.headers["Content-Type"] == "application/vnd.docker.multiplexed-stream"
    tail = frames(http.get(url(http, f"/v1.41/containers/{cid}/logs"),
                           params={"stdout": 1, "stderr": 1, "tail": 1}).content)
    assert tail == [(2, b"err\n")]
    inspect = http.get(url(http, f"/v1.41/containers/{cid}/json")).json()
    assert inspect["State"]["ExitCode"] == 3 and inspect["State"]["Status"] == "exited"
    assert inspect["State"]["FinishedAt"] != "0001-01-01T00:00:00Z"


def test_tty_logs_are_raw(http) -> None:
    cid = create(http, "1.42", Cmd=["echo", "tty"], Tty=True)
    run_to_exit(http, cid)
    logs = http.get(url(http, f"/v1.42/containers/{cid}/logs"), params={"stdout": 1})
    assert logs.headers["Content-Type"] == "application/vnd.docker.raw-stream"
    assert logs.content == b"tty\r\n"


def test_follow_logs_stream_until_exit(http) -> None:
    cid = create(http, Cmd=["sh", "-c", "echo one; sleep 0.2; echo two"])
    http.post(url(http, f"/v1.41/containers/{cid}/start"))
    logs = http.get(url(http, f"/v1.41/containers/{cid}/logs"), params={"stdout": 1, "follow": 1}, timeout=5)
    assert [f[1] for f in frames(logs.content)] == [b"one\n", b"two\n"]


# --- attach and exec -------------------------------------------------------------------------
def test_attach_upgrade_is_bidirectional(fake, http) -> None:
    cid = create(http, Cmd=["cat"], OpenStdin=True, StdinOnce=True, AttachStdin=True, AttachStdout=True)
    request = (f"POST /v1.41/containers/{cid}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
               "Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n").encode()
    host, port = fake.url[len("tcp://"):].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    sock.sendall(request)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101 UPGRADED\r\n")
    assert b"Content-Type: application/vnd.docker.raw-stream\r\n" in head
    assert b"Connection: Upgrade\r\n" in head and b"Upgrade: tcp\r\n" in head
    assert http.post(url(http, f"/v1.41/containers/{cid}/start")).status_code == 204
    sock.sendall(b"ping\n")
    sock.shutdown(socket.SHUT_WR)  # StdinOnce: closes cat's stdin, cat exits, the stream ends
    sock.settimeout(5)
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    assert frames(data) == [(1, b"ping\n")]
    assert http.post(url(http, f"/v1.41/containers/{cid}/wait")).json()["StatusCode"] == 0


def test_attach_without_upgrade_and_content_type_by_version(fake, http) -> None:
    cid = create(http, "1.42", Cmd=["sh", "-c", "echo a; echo b >&2"])
    run_to_exit(http, cid)
    out = raw(fake, f"POST /v1.42/containers/{cid}/attach?logs=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\n\r\n"
              .encode())
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Content-Type: application/vnd.docker.raw-stream" in head  # moby: multiplexed only on the 101 path
    assert frames(body) == [(1, b"a\n"), (2, b"b\n")]


def test_exec_start_streams_and_inspect(fake, http) -> None:
    cid = create(http, Cmd=["top"])
    http.post(url(http, f"/v1.41/containers/{cid}/start"))
    eid = http.post(url(http, f"/v1.41/containers/{cid}/exec"),
                    json={"Cmd": ["sh", "-c", "echo out; echo e >&2; exit 2"], "AttachStdout": True,
                          "AttachStderr": True}).json()["Id"]
    body = json.dumps({"Detach": False, "Tty": False}).encode()
    out = raw(fake, (f"POST /v1.41/exec/{eid}/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
    head, _, stream = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 UPGRADED")
    assert sorted(frames(stream)) == [(1, b"out\n"), (2, b"e\n")]
    inspect = http.get(url(http, f"/v1.41/exec/{eid}/json")).json()
    assert inspect["ExitCode"] == 2 and inspect["Running"] is False and inspect["ContainerID"] == cid
    again = http.post(url(http, f"/v1.41/exec/{eid}/start"), json={"Detach": False})
    assert again.status_code == 409
    http.delete(url(http, f"/v1.41/containers/{cid}"), params={"force": 1})


def test_websocket_attach(fake, http) -> None:
    cid = create(http, Cmd=["cat"], OpenStdin=True)
    http.post(url(http, f"/v1.41/containers/{cid}/start"))
    host, port = fake.url[len("tcp://"):].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /v1.41/containers/{cid}/attach/ws?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: x\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    sock.settimeout(5)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    payload, mask = b"over ws\n", os.urandom(4)
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    frame = sock.recv(2 + len(payload))
    while len(frame) < 2 + len(payload):
        frame += sock.recv(64)
    assert frame[0] & 0x0F in (1, 2) and frame[2:] == payload
    http.delete(url(http, f"/v1.41/containers/{cid}"), params={"force": 1})


# --- stats, archive, events ------------------------------------------------------------------
def test_stats_stream_timestamps_increase(http) -> None:
    cid = create(http, Cmd=["top"])
    http.post(url(http, f"/v1.41/containers/{cid}/start"))
    one = http.get(url(http, f"/v1.41/containers/{cid}/stats"), params={"stream": 0}).json()
    assert one["id"] == cid and "cpu_stats" in one
    response = http.get(url(http, f"/v1.41/containers/{cid}/stats"), params={"stream": 1}, stream=True)
    reads = []
    for line in response.iter_lines():
        reads.append(json.loads(line)["read"])
        if len(reads) == 3:
            break
    response.close()
    assert reads == sorted(reads) and len(set(reads)) == 3
    http.delete(url(http, f"/v1.41/containers/{cid}"), params={"force": 1})


def test_archive_stat_header_and_put(http) -> None:
    cid = create(http, Cmd=["true"])
    head = http.head(url(http, f"/v1.41/containers/{cid}/archive"), params={"path": "/bin/sh"})
    stat = json.loads(base64.b64decode(head.headers["X-Docker-Container-Path-Stat"]))
    assert stat["name"] == "sh" and stat["linkTarget"] == "/bin/busybox" and stat["mode"] & (1 << 27)
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("new.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    put = http.put(url(http, f"/v1.41/containers/{cid}/archive"), params={"path": "/tmp"}, data=buf.getvalue())
    assert put.status_code == 200
    got = http.get(url(http, f"/v1.41/containers/{cid}/archive"), params={"path": "/tmp/new.txt"})
    with tarfile.open(fileobj=io.BytesIO(got.content)) as tar:
        assert tar.extractfile("new.txt").read() == b"hello"  # type: ignore[union-attr]
    changes = http.get(url(http, f"/v1.41/containers/{cid}/changes")).json()
    assert {"Path": "/tmp/new.txt", "Kind": 1} in changes and {"Path": "/tmp", "Kind": 0} in changes


def test_events_framing_by_version(http) -> None:
    since = time.time() - 0.5
    cid = create(http, Cmd=["true"], Labels={"evt": "1"})
    until = time.time() + 0.3
    params = {"since": f"{since:.3f}", "until": f"{until:.3f}",
              "filters": json.dumps({"type": ["container"], "label": ["evt=1"]})}
    old = http.get(url(http, "/v1.41/events"), params=params, timeout=5)
    assert old.headers["Content-Type"] == "application/json"
    records = [json.loads(line) for line in old.content.splitlines()]
    assert records and records[0]["Action"] == "create" and records[0]["Actor"]["ID"] == cid
    assert "timeNano" in records[0] and records[0]["status"] == "create"
    seq = http.get(url(http, "/v1.52/events"), params=params, headers={"Accept": "application/json-seq"})
    assert seq.headers["Content-Type"] == "application/json-seq"
    assert seq.content.startswith(b"\x1e{") and seq.content.count(b"\x1e") == len(records)
    nd = http.get(url(http, "/v1.52/events"), params=params, headers={"Accept": "application/x-ndjson"})
    assert nd.headers["Content-Type"] == "application/x-ndjson" and b"\x1e" not in nd.content
    assert "status" not in json.loads(nd.content.splitlines()[0])  # the deprecated fields are gone from 1.52


def test_wait_next_exit_blocks_until_exit(http) -> None:
    cid = create(http, Cmd=["sleep", "0.3"])
    start = time.time()
    waiter = http.post(url(http, f"/v1.41/containers/{cid}/wait"), params={"condition": "next-exit"}, stream=True)
    http.post(url(http, f"/v1.41/containers/{cid}/start"))
    assert json.loads(waiter.content) == {"StatusCode": 0}
    assert time.time() - start >= 0.25


def test_unix_socket_listener() -> None:
    path = f"/tmp/dac-fake-{os.getpid()}.sock"
    engine = start_fake(f"unix://{path}")
    try:
        assert engine.url == f"unix://{path}"
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(path)
        sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"\r\n\r\nOK")
    finally:
        engine.stop()
    assert not os.path.exists(path)
