"""The suite's own test image: find it on the target, or provision it.

Provisioning order: the image is already there; pull it (when a registry answers); import a
rootfs tar built from a local static busybox binary.  Otherwise one clear error.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import time
from pathlib import Path

import docker
import docker.errors

# Applets linked into the rootfs: what scenarios, streams and the build context use.
APPLETS = (
    "sh", "echo", "cat", "sleep", "ls", "true", "false", "env", "printf", "top", "ps", "touch",
    "mkdir", "rm", "wc", "head", "tail", "grep", "hostname", "id", "kill", "date", "yes", "seq",
    "stat", "tar", "sed", "timeout", "test", "uname", "nc", "wget", "pwd", "cp", "mv", "ln",
)
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox", "/usr/lib/busybox/busybox")


class ImageUnavailable(RuntimeError):
    """The test image is missing on the target and could not be provisioned."""


def find_static_busybox() -> Path | None:
    """A statically linked busybox binary on this machine, or None."""
    for candidate in (os.environ.get("DAC_BUSYBOX", ""), *BUSYBOX_CANDIDATES):
        path = Path(candidate) if candidate else None
        if path and path.is_file() and _is_static_elf(path):
            return path
    found = shutil.which("busybox")
    return Path(found) if found and _is_static_elf(Path(found)) else None


def _is_static_elf(path: Path) -> bool:
    # A dynamic ELF has a PT_INTERP segment naming the loader; look for the loader path.
    data = path.read_bytes()
    return data[:4] == b"\x7fELF" and b"/ld-linux" not in data[:4096] and b"ld-musl" not in data[:4096]


def busybox_rootfs_tar(busybox: Path) -> bytes:
    """A rootfs tar: /bin/busybox, applet symlinks and the few folders a container expects."""
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for folder in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "var", "usr", "usr/bin"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755, now
            tar.addfile(info)
        info = tar.gettarinfo(str(busybox), arcname="bin/busybox")
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        with busybox.open("rb") as handle:
            tar.addfile(info, handle)
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode, link.mtime = tarfile.SYMTYPE, "busybox", 0o777, now
            tar.addfile(link)
        for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"), ("etc/group", "root:x:0:\n")):
            data = text.encode()
            entry = tarfile.TarInfo(name)
            entry.size, entry.mode, entry.mtime = len(data), 0o644, now
            tar.addfile(entry, io.BytesIO(data))
    return buf.getvalue()


def ensure_image(api: docker.APIClient, ref: str, allow_pull: bool = True) -> str:
    """Make sure `ref` exists on the target; return how it got there ('present', 'pulled', 'imported')."""
    try:
        api.inspect_image(ref)
        return "present"
    except docker.errors.ImageNotFound:
        pass
    repo, _, tag = ref.rpartition(":") if ":" in ref.split("/")[-1] else (ref, "", "latest")
    if allow_pull:
        try:
            api.pull(repo, tag=tag)
            api.inspect_image(ref)
            return "pulled"
        except docker.errors.APIError:
            pass  # no registry answers: fall back to importing a local busybox
    busybox = find_static_busybox()
    if busybox is None:
        raise ImageUnavailable(
            f"test image {ref!r} is not on the target, no registry could provide it, and no static busybox "
            "binary was found to import (install busybox-static, set DAC_BUSYBOX, or pass --image with an "
            "image the target has)"
        )
    output = api.import_image_from_data(
        busybox_rootfs_tar(busybox), repository=repo, tag=tag, changes=['CMD ["sh"]']
    )
    if "error" in str(output):
        raise ImageUnavailable(f"importing {ref!r} from {busybox} failed: {output}")
    api.inspect_image(ref)
    return "imported"
