"""Docker SDK flows against the fake (in-process, TCP and unix socket)."""

from __future__ import annotations

import io
import os
import time

import docker
import docker.errors
import pytest

from conformance.fake import start_fake
from conformance.fake.build import context_tar

LABELS = {"com.docker-api-conformance.dev": "fake"}


@pytest.fixture(scope="module", params=["tcp", "unix"])
def client(request):
    listen = "tcp://127.0.0.1:0" if request.param == "tcp" else f"unix:///tmp/dac-fake-sdk-{os.getpid()}.sock"
    engine = start_fake(listen)
    yield docker.DockerClient(base_url=engine.url)
    engine.stop()


def test_run_logs_and_exit_code(client) -> None:
    assert client.containers.run("busybox:latest", "sh -c 'echo hi'") == b"hi\n"
    container = client.containers.run("busybox:latest", "sh -c 'echo hi; echo err >&2; exit 3'", detach=True,
                                      labels=LABELS)
    assert container.wait()["StatusCode"] == 3
    assert container.logs() == b"hi\nerr\n"
    assert container.logs(stdout=False) == b"err\n"
    container.reload()
    assert container.status == "exited" and container.attrs["State"]["ExitCode"] == 3
    container.remove()
    with pytest.raises(docker.errors.ContainerError):
        client.containers.run("busybox:latest", ["false"], remove=True)


def test_detached_exec_and_lifecycle(client) -> None:
    container = client.containers.run("busybox:latest", "top", detach=True, labels=LABELS, name="sdk-top")
    assert container.exec_run("echo from exec") == (0, b"from exec\n")
    assert container.exec_run(["sh", "-c", "echo a; exit 4"]).exit_code == 4
    container.exec_run(["sh", "-c", "echo data > /tmp/f"])
    assert container.exec_run(["cat", "/tmp/f"]).output == b"data\n"
    assert container.top()["Processes"]
    container.pause()
    container.reload()
    assert container.status == "paused"
    container.unpause()
    with pytest.raises(docker.errors.APIError) as busy:
        container.remove()
    assert busy.value.status_code == 409
    container.rename("sdk-top-2")
    container.restart(timeout=0)
    container.reload()
    assert container.name == "sdk-top-2" and container.status == "running"
    container.stop(timeout=0)
    container.reload()
    assert container.status == "exited"
    assert len(client.containers.list(all=True, filters={"name": "sdk-top-2"})) == 1
    assert client.containers.list(filters={"label": "com.docker-api-conformance.dev=fake", "status": "running"}) == []
    container.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("sdk-top-2")


def test_attach_socket_reaches_cat(client) -> None:
    container = client.containers.run("busybox:latest", "cat", detach=True, stdin_open=True, labels=LABELS)
    sock = container.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
    sock._sock.sendall(b"hello cat\n")
    sock._sock.settimeout(5)
    data = b""
    while len(data) < 8 + len(b"hello cat\n"):
        data += sock._sock.recv(100)
    assert data == b"\x01\x00\x00\x00\x00\x00\x00\x0ahello cat\n"
    sock._sock.close()
    container.remove(force=True)


def test_images(client) -> None:
    image = client.images.get("busybox:latest")
    assert "busybox:latest" in image.tags
    assert any("busybox:latest" in i.tags for i in client.images.list())
    image.tag("sdk-copy", "v1")
    assert "sdk-copy:v1" in client.images.get("sdk-copy:v1").tags
    assert image.history()[0]["Id"] == image.id
    client.images.remove("sdk-copy:v1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("sdk-copy:v1")
    saved = b"".join(image.save())
    assert [i.id for i in client.images.load(saved)] == [image.id]
    client.images.pull("busybox", tag="latest")
    with pytest.raises(docker.errors.NotFound):
        client.images.pull("no-such-repo-anywhere", tag="latest")
    in_use = client.containers.create("busybox:latest", "true", labels=LABELS)
    image.tag("sdk-only", "x")
    with pytest.raises(docker.errors.APIError) as conflict:
        client.images.remove(image.id)
    assert conflict.value.status_code == 409
    in_use.remove()
    client.images.remove("sdk-only:x")


def test_build_commit_import(client) -> None:
    context = context_tar({"Dockerfile": b"FROM busybox:latest\nRUN echo building > /built\nLABEL stage=test\n"
                                         b"COPY hello.txt /hello.txt\nCMD [\"cat\", \"/hello.txt\"]\n",
                           "hello.txt": b"hello from context\n"})
    image, logs = client.images.build(fileobj=io.BytesIO(context), custom_context=True, tag="sdk-built:1",
                                      labels=LABELS)
    assert image.labels["stage"] == "test"
    assert any("Successfully built" in line.get("stream", "") for line in logs)
    assert client.containers.run("sdk-built:1", remove=True) == b"hello from context\n"
    with pytest.raises(docker.errors.BuildError):
        client.images.build(fileobj=io.BytesIO(context_tar({"Dockerfile": b"FROM busybox:latest\nRUN exit 7\n"})),
                            custom_context=True)
    container = client.containers.run("busybox:latest", ["sh", "-c", "echo x > /committed"], detach=True)
    container.wait()
    committed = container.commit("sdk-committed", "v1")
    assert client.containers.run(committed.id, ["cat", "/committed"], remove=True) == b"x\n"
    container.remove()
    imported = client.images.get(
        client.api.import_image_from_data(context_tar({"only.txt": b"1"}), repository="sdk-imported", tag="t")
        and "sdk-imported:t")
    assert imported.attrs["RootFS"]["Type"] == "layers"


def test_networks_and_volumes(client) -> None:
    network = client.networks.create("sdk-net", labels=LABELS)
    container = client.containers.run("busybox:latest", "top", detach=True, labels=LABELS)
    network.connect(container)
    network.reload()
    assert container.id in network.attrs["Containers"]
    container.reload()
    assert container.attrs["NetworkSettings"]["Networks"]["sdk-net"]["IPAddress"]
    network.disconnect(container)
    network.remove()
    assert {n.name for n in client.networks.list()} >= {"bridge", "host", "none"}
    volume = client.volumes.create("sdk-vol", labels=LABELS)
    user = client.containers.create("busybox:latest", "true", volumes={"sdk-vol": {"bind": "/data", "mode": "rw"}})
    with pytest.raises(docker.errors.APIError) as used:
        volume.remove()
    assert used.value.status_code == 409
    user.remove()
    volume.remove()
    assert "sdk-vol" not in [v.name for v in client.volumes.list()]
    container.remove(force=True)


def test_events_since_until(client) -> None:
    since = time.time() - 0.2
    container = client.containers.run("busybox:latest", "true", detach=True, labels={"sdk-events": "1"})
    container.wait()
    container.remove()
    events = list(client.events(since=since, until=time.time() + 0.2, decode=True,
                                filters={"label": "sdk-events=1"}))
    assert [e["Action"] for e in events] == ["create", "start", "die", "destroy"]


def test_swarm_service(client) -> None:
    client.swarm.init()
    try:
        service = client.services.create("busybox:latest", ["sh", "-c", "echo svc; top"], name="sdk-svc")
        deadline = time.time() + 5
        while time.time() < deadline and not service.tasks():
            time.sleep(0.05)
        assert service.tasks()[0]["Status"]["State"] == "running"
        assert b"svc" in b"".join(service.logs(stdout=True))
        service.scale(2)
        assert len([t for t in service.tasks() if t["DesiredState"] == "running"]) == 2
        secret = client.secrets.create(name="sdk-secret", data=b"s3cret")
        assert client.secrets.get(secret.id).name == "sdk-secret"
        secret.remove()
        service.remove()
    finally:
        client.swarm.leave(force=True)
    with pytest.raises(docker.errors.APIError) as not_manager:
        client.services.list()
    assert not_manager.value.status_code == 503
