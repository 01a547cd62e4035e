"""The image store: image records (ids from config blobs), tags, layers as tars, the seeded busybox, and
the JSON an image renders as (inspect, list summary).  Handlers live in images.py."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .fs import FS, Entry, add_to_tar
from .registry import Registry, digest_for
from .util import Version, now_ns, parse_time, rfc3339
from .wire import ApiError

if TYPE_CHECKING:
    from .state import State


DEFAULT_IMAGE = "busybox:latest"


REGISTRY_NAME = "registry.fake.local"


APPLETS = (
    "sh", "echo", "cat", "sleep", "ls", "true", "false", "env", "printf", "top", "ps", "touch",
    "mkdir", "rm", "wc", "head", "tail", "grep", "hostname", "id", "kill", "date", "yes", "seq",
    "stat", "tar", "sed", "timeout", "test", "uname", "nc", "wget", "pwd", "cp", "mv", "ln", "whoami",
    "printenv", "[",
)


TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")


REPO_RE = re.compile(r"^(?:[a-zA-Z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
                      r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


@dataclass
class Image:
    id: str
    blob: bytes  # the config JSON; id == sha256(blob)
    layers: list[bytes]
    fs: FS
    parent: str = ""
    repo_digests: list[str] = field(default_factory=list)
    last_tag_ns: int = 0

    @property
    def meta(self) -> dict[str, Any]:
        return json.loads(self.blob)

    @property
    def config(self) -> dict[str, Any]:
        return self.meta.get("config") or {}

    @property
    def short(self) -> str:
        return self.id.split(":", 1)[1][:12]

    def size(self) -> int:
        return self.fs.size()


def split_ref(ref: str) -> tuple[str, str, str]:
    """(repo, tag, digest) with docker.io/library/ stripped and tag defaulting to latest."""
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = ""
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref, tag = ref.rsplit(":", 1)
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
            break
    if not tag and not digest:
        tag = "latest"
    return ref, tag, digest


def normalize(ref: str) -> str:
    repo, tag, digest = split_ref(ref)
    return f"{repo}@{digest}" if digest and not tag else f"{repo}:{tag}"


def make_config_blob(config: dict[str, Any], history: list[dict[str, Any]], diff_ids: list[str],
                     created_ns: int, comment: str = "", author: str = "", container: str = "",
                     container_config: dict[str, Any] | None = None) -> bytes:
    meta: dict[str, Any] = {
        "architecture": "amd64", "os": "linux", "config": config, "created": rfc3339(created_ns),
        "docker_version": "27.0.0-fake", "history": history, "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    if comment:
        meta["comment"] = comment
    if author:
        meta["author"] = author
    if container:
        meta["container"] = container
    if container or container_config is not None:  # a commit's container, or a build step's
        meta["container_config"] = container_config or {}
    return json.dumps(meta, separators=(",", ":"), sort_keys=True).encode()


def layer_diff(new: FS, base: FS | None) -> bytes:
    """A layer tar holding what changed from base (whiteouts for deletions)."""
    if base is None:
        return new.tar("/")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as out:
        for change in new.changes(base):
            path = str(change["Path"])
            if change["Kind"] == 2:
                head, _, tail = path.rpartition("/")
                info = tarfile.TarInfo(f"{head.lstrip('/')}/.wh.{tail}".lstrip("/"))
                out.addfile(info)
                continue
            entry = new.entries.get(path)
            if entry is None:
                continue
            add_to_tar(out, path.lstrip("/"), entry, owner=False)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def busybox_fs() -> FS:
    """The seed image's rootfs: busybox placeholder, applet links and the usual folders."""
    fs = FS()
    stamp = 1_700_000_000.0
    fs.entries["/"] = Entry("dir", 0o755, stamp)
    for folder in ("bin", "dev", "etc", "home", "proc", "root", "sys", "tmp", "usr", "usr/sbin", "var", "var/spool",
                   "var/www"):
        fs.entries["/" + folder] = Entry("dir", 0o1777 if folder == "tmp" else 0o755, stamp)
    fs.entries["/bin/busybox"] = Entry("file", 0o755, stamp, b"#!fake-busybox: placeholder for the fake engine\n")
    for applet in APPLETS:
        fs.entries[f"/bin/{applet}"] = Entry("symlink", 0o777, stamp, linkname="busybox")
    for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"),
                       ("etc/group", "root:x:0:\nnobody:x:65534:\n"), ("etc/hostname", "localhost\n"),
                       ("etc/hosts", "127.0.0.1\tlocalhost\n"), ("etc/resolv.conf", "nameserver 127.0.0.11\n")):
        fs.entries["/" + name] = Entry("file", 0o644, stamp, text.encode())
    return fs


class ImageStore:
    def __init__(self, state: State, registry: Registry | None = None) -> None:
        self.state = state
        self.images: dict[str, Image] = {}
        self.tags: dict[str, str] = {}  # "repo:tag" -> image id
        self.registry = registry if registry is not None else Registry()
        self.seed()

    def seed(self) -> None:
        fs = busybox_fs()
        layer = fs.tar("/")
        created = 1_700_000_000 * 1_000_000_000
        blob = make_config_blob(
            {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
             "Labels": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Image": "", "User": ""},
            [{"created": rfc3339(created), "created_by": "/bin/sh -c #(nop) ADD file:fake in / "},
             {"created": rfc3339(created), "created_by": '/bin/sh -c #(nop)  CMD ["sh"]', "empty_layer": True}],
            [sha(layer)], created)
        image = self.add(blob, [layer], fs)
        self.tag(image, DEFAULT_IMAGE, emit=False)
        self.registry.put(DEFAULT_IMAGE, image)
        image.repo_digests = [f"busybox@{digest_for(image.id)}"]

    # --- store operations (callers hold state.lock) -------------------------------------
    def fetch(self, image: Image) -> Image:
        """This store's copy of a registry image (a pull stores a fresh record, sharing the read-only layers)."""
        return self.add(image.blob, image.layers, image.fs, image.parent)

    def add(self, blob: bytes, layers: list[bytes], fs: FS, parent: str = "") -> Image:
        image_id = sha(blob)
        existing = self.images.get(image_id)
        if existing:
            return existing
        image = Image(image_id, blob, layers, fs, parent)
        self.images[image_id] = image
        return image

    def tag(self, image: Image, ref: str, emit: bool = True) -> str:
        name = normalize(ref)
        self.tags[name] = image.id
        image.last_tag_ns = now_ns()
        if emit:
            self.state.emit("image", "tag", image.id, {"name": name})
        return name

    def repo_tags(self, image: Image) -> list[str]:
        return [ref for ref, iid in self.tags.items() if iid == image.id]

    def find(self, ref: str) -> Image | None:
        ref = ref.strip()
        if not ref:
            return None
        hexpart = ref[7:] if ref.startswith("sha256:") else ref
        if re.fullmatch(r"[0-9a-f]{64}", hexpart):
            return self.images.get("sha256:" + hexpart)
        repo, tag, digest = split_ref(ref)
        if digest:
            for image in self.images.values():
                if any(d == f"{repo}@{digest}" or d.endswith("@" + digest) for d in image.repo_digests):
                    return image
            return None
        image_id = self.tags.get(f"{repo}:{tag}")
        if image_id:
            return self.images.get(image_id)
        if re.fullmatch(r"[0-9a-f]{1,64}", hexpart) and (ref.startswith("sha256:") or ":" not in ref):
            hits = [i for i in self.images.values() if i.id[7:].startswith(hexpart)]
            if len(hits) == 1:
                return hits[0]
        return None

    def get(self, ref: str) -> Image:
        image = self.find(ref)
        if image is None:
            raise ApiError(404, f"No such image: {normalize(ref) if '@' not in ref else ref}")
        return image

    def users(self, image: Image) -> list[Any]:
        return [c for c in self.state.containers.values() if c.image_id == image.id]

    def children(self, image: Image) -> list[Image]:
        return [i for i in self.images.values() if i.parent == image.id]

    def remove_image(self, image: Image, out: list[dict[str, str]]) -> None:
        for ref in self.repo_tags(image):
            del self.tags[ref]
            out.append({"Untagged": ref})
            self.state.emit("image", "untag", image.id, {"name": ref})
        for digest in image.repo_digests:
            out.append({"Untagged": digest})
        del self.images[image.id]
        out.append({"Deleted": image.id})
        self.state.emit("image", "delete", image.id, {"name": image.id})
        # moby daemon/images/image_delete.go: the layers the image held that no other image holds are released
        # and listed too, as "Deleted: <chain id>", topmost first
        alive = {chain for other in self.images.values() for chain in chain_ids(other)}
        out += [{"Deleted": chain} for chain in reversed(chain_ids(image)) if chain not in alive]


def chain_ids(image: Image) -> list[str]:
    """The image's layer chain ids, bottom first (the OCI image spec's ChainID: the first diff id, then
    sha256 of "<parent chain id> <diff id>")."""
    out: list[str] = []
    for diff_id in image.meta.get("rootfs", {}).get("diff_ids") or []:
        out.append(diff_id if not out else "sha256:" + hashlib.sha256(f"{out[-1]} {diff_id}".encode()).hexdigest())
    return out


# --- rendering -------------------------------------------------------------------------------
def inspect_json(state: State, image: Image, version: Version) -> dict[str, Any]:
    meta = image.meta
    config = _full_config(meta.get("config") or {})
    size = image.size()
    out: dict[str, Any] = {
        "Id": image.id, "RepoTags": state.images.repo_tags(image), "RepoDigests": list(image.repo_digests),
        "Parent": image.parent, "Comment": meta.get("comment", ""), "Created": meta.get("created", ""),
        "DockerVersion": meta.get("docker_version", ""), "Author": meta.get("author", ""), "Config": config,
        "Architecture": meta.get("architecture", "amd64"), "Os": meta.get("os", "linux"), "Size": size,
        "GraphDriver": {"Name": "overlay2", "Data": {
            "MergedDir": f"/var/lib/docker/overlay2/{image.short}/merged",
            "UpperDir": f"/var/lib/docker/overlay2/{image.short}/diff",
            "WorkDir": f"/var/lib/docker/overlay2/{image.short}/work"}},
        "RootFS": {"Type": "layers", "Layers": list(meta.get("rootfs", {}).get("diff_ids", []))},
        "Metadata": {"LastTagTime": rfc3339(image.last_tag_ns) if image.last_tag_ns else "0001-01-01T00:00:00Z"},
    }
    if version < (1, 44):
        out["VirtualSize"] = size
    if version < (1, 45):
        out["Container"] = meta.get("container", "")
        out["ContainerConfig"] = _full_config(meta.get("container_config") or {})
    if version >= (1, 48):
        out["Descriptor"] = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest_for(image.id),
                             "size": 856}
    return out


def _full_config(config: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
                            "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
                            "StdinOnce": False, "Env": None, "Cmd": None, "Image": "", "Volumes": None,
                            "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None}
    base.update(config)
    return base


def summary_json(state: State, image: Image, version: Version, tags: list[str] | None = None) -> dict[str, Any]:
    meta = image.meta
    created = int(parse_time(meta["created"])) if meta.get("created") else 0
    repo_tags = state.images.repo_tags(image) if tags is None else tags
    if not repo_tags and version < (1, 43):
        repo_tags = ["<none>:<none>"]
    digests = list(image.repo_digests) or ([] if version >= (1, 43) or repo_tags != ["<none>:<none>"]
                                           else ["<none>@<none>"])
    out: dict[str, Any] = {
        "Id": image.id, "ParentId": image.parent, "RepoTags": repo_tags, "RepoDigests": digests or None,
        "Created": created, "Size": image.size(), "SharedSize": -1,
        "Labels": (meta.get("config") or {}).get("Labels") or None, "Containers": -1,  # nil map and slice
    }
    if version < (1, 44):
        out["VirtualSize"] = image.size()
    return out
