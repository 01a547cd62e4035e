"""An in-memory, tar-backed filesystem: image rootfs, container layers, archive/export/changes.

Entries are immutable records keyed by absolute path; a container's filesystem starts as a shallow
copy of its image's map, so `changes` is a dictionary diff against that base.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import posixpath
import stat
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from .util import rfc3339
from .wire import ApiError

# Go os.FileMode bits, as the Engine reports them in X-Docker-Container-Path-Stat.
GO_MODE_DIR = 1 << 31
GO_MODE_SYMLINK = 1 << 27
T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    kind: str  # "dir" | "file" | "symlink"
    mode: int = 0o644
    mtime: float = 0.0
    data: bytes = b""
    linkname: str = ""
    uid: int = 0
    gid: int = 0

    @property
    def size(self) -> int:
        return len(self.linkname) if self.kind == "symlink" else len(self.data)


def add_to_tar(out: tarfile.TarFile, name: str, entry: Entry, owner: bool = True) -> None:
    """Write one filesystem entry (dir, symlink or file) into a tar under `name`."""
    info = tarfile.TarInfo(name)
    info.mode, info.mtime = entry.mode, int(entry.mtime)
    if owner:
        info.uid, info.gid = entry.uid, entry.gid
    if entry.kind == "dir":
        info.type = tarfile.DIRTYPE
        out.addfile(info)
    elif entry.kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, entry.linkname
        out.addfile(info)
    else:
        info.size = len(entry.data)
        out.addfile(info, io.BytesIO(entry.data))


def norm(path: str, cwd: str = "/") -> str:
    if not path.startswith("/"):
        path = posixpath.join(cwd or "/", path)
    out = posixpath.normpath(path)
    return "/" if out in ("", ".", "//") else ("/" + out.lstrip("/"))


def _locked(method: Callable[..., T]) -> Callable[..., T]:
    """Processes write a container's filesystem while API calls read it: one lock per filesystem."""
    @functools.wraps(method)
    def wrapper(self: FS, *args: Any, **kwargs: Any) -> T:
        with self.lock:
            return method(self, *args, **kwargs)
    return wrapper


class FS:
    def __init__(self, entries: dict[str, Entry] | None = None) -> None:
        self.entries: dict[str, Entry] = entries if entries is not None else {"/": Entry("dir", 0o755)}
        self.lock = threading.RLock()
        # A container's mount points: path -> writable ("/" is the root file system).  Processes' writes are
        # checked against the innermost one (the shell's builtins and redirections ask `read_only`); the engine's
        # own writes (/etc/hosts at start) are not.  A copy (an image, a commit) has none.
        self.mount_points: dict[str, bool] = {}

    def read_only(self, path: str) -> bool:
        """Whether a process's write at `path` hits a read-only mount (the innermost mount point decides)."""
        if not self.mount_points:
            return False
        path = self.resolve(path, follow_last=False)
        best = max((m for m in self.mount_points if m == "/" or path == m or path.startswith(m + "/")),
                   key=len, default="/")
        return not self.mount_points.get(best, True)

    @_locked
    def copy(self) -> FS:
        return FS(dict(self.entries))

    @_locked
    def subtree(self, path: str) -> FS:
        """The tree below `path` as a file system of its own (`path` becomes its root)."""
        root = norm(path)
        out = {"/" + p[len(root):].lstrip("/") if p != root else "/": e for p, e in self.entries.items()
               if p == root or p.startswith(root.rstrip("/") + "/")}
        return FS(out if "/" in out else {"/": Entry("dir", 0o755), **out})

    @_locked
    def graft(self, path: str, tree: FS) -> None:
        """Put `tree` at `path`, replacing what was there (a mount)."""
        root = norm(path)
        self.mkdir(root)
        prefix = root.rstrip("/")
        for old in [p for p in self.entries if p.startswith(prefix + "/")]:
            del self.entries[old]
        for sub, entry in tree.entries.items():
            self.entries[root if sub == "/" else prefix + sub] = entry

    # --- lookups -------------------------------------------------------------------------
    @_locked
    def resolve(self, path: str, follow_last: bool = True, depth: int = 0) -> str:
        """Resolve symlinks in parent components (and the last one when asked)."""
        path = norm(path)
        if depth > 40:
            raise ApiError(400, "too many levels of symbolic links")
        parts = [p for p in path.split("/") if p]
        current = "/"
        for index, part in enumerate(parts):
            candidate = norm(posixpath.join(current, part))
            entry = self.entries.get(candidate)
            last = index == len(parts) - 1
            if entry is not None and entry.kind == "symlink" and (follow_last or not last):
                target = entry.linkname if entry.linkname.startswith("/") else posixpath.join(current, entry.linkname)
                candidate = self.resolve(target, True, depth + 1)
            current = candidate
        return current

    @_locked
    def get(self, path: str, follow: bool = True) -> Entry | None:
        return self.entries.get(self.resolve(path, follow_last=follow))

    def exists(self, path: str) -> bool:
        return self.get(path) is not None

    def is_dir(self, path: str) -> bool:
        entry = self.get(path)
        return entry is not None and entry.kind == "dir"

    @_locked
    def children(self, path: str) -> list[str]:
        path = norm(path)
        prefix = path.rstrip("/") + "/"
        return sorted(p for p in self.entries if p.startswith(prefix) and "/" not in p[len(prefix):] and p != path)

    def walk(self, path: str) -> Iterator[str]:
        path = norm(path)
        prefix = path.rstrip("/") + "/"
        with self.lock:
            paths = sorted(self.entries)
        for p in paths:
            if p == path or p.startswith(prefix):
                yield p

    # --- mutations -----------------------------------------------------------------------
    @_locked
    def mkdir(self, path: str, parents: bool = True, mode: int = 0o755) -> None:
        path = self.resolve(path)
        if path in self.entries:
            if self.entries[path].kind != "dir":
                raise ApiError(400, f"mkdir {path}: not a directory")
            return
        parent = posixpath.dirname(path)
        if parent not in self.entries:
            if not parents:
                raise ApiError(404, f"mkdir {path}: no such file or directory")
            self.mkdir(parent, True)
        self.entries[path] = Entry("dir", mode, time.time())

    @_locked
    def write(self, path: str, data: bytes, mode: int = 0o644, append: bool = False) -> None:
        path = self.resolve(path)
        parent = posixpath.dirname(path)
        if not self.is_dir(parent):
            raise ApiError(404, f"{path}: no such file or directory")
        old = self.entries.get(path)
        if old is not None and old.kind == "dir":
            raise ApiError(400, f"{path}: is a directory")
        if append and old is not None:
            data = old.data + data
        self.entries[path] = Entry("file", old.mode if old else mode, time.time(), data)

    @_locked
    def touch(self, path: str) -> None:
        real = self.resolve(path)
        entry = self.entries.get(real)
        if entry is None:
            self.write(real, b"")
        else:
            self.entries[real] = replace(entry, mtime=time.time())

    @_locked
    def remove(self, path: str, recursive: bool = False) -> None:
        path = self.resolve(path, follow_last=False)
        if path not in self.entries:
            raise ApiError(404, f"{path}: no such file or directory")
        if self.entries[path].kind == "dir" and self.children(path) and not recursive:
            raise ApiError(400, f"{path}: directory not empty")
        for p in list(self.walk(path)):
            del self.entries[p]

    # --- tar in/out ----------------------------------------------------------------------
    @_locked
    def extract(self, data: bytes, dest: str = "/", no_overwrite_dir_non_dir: bool = False) -> None:
        """PUT archive / image layers: unpack a (possibly compressed) tar under dest."""
        dest = self.resolve(dest)
        try:
            tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
        except tarfile.TarError as exc:
            raise ApiError(400, f"Error processing tar file: {exc}") from None
        with tar:
            for member in tar:
                name = norm(posixpath.join(dest, member.name))
                base = posixpath.basename(name)
                if base.startswith(".wh."):  # overlay whiteouts in layers
                    target = posixpath.join(posixpath.dirname(name), base[4:])
                    if target in self.entries:
                        self.remove(target, True)
                    continue
                parent = posixpath.dirname(name)
                if parent not in self.entries:
                    self.mkdir(parent)
                existing = self.entries.get(name)
                if no_overwrite_dir_non_dir and existing is not None and (existing.kind == "dir") != member.isdir():
                    # As moby's archive.Unpack (via chrootarchive): entries before this one stay extracted.
                    what = ("directory", "non-directory") if existing.kind == "dir" else ("non-directory", "directory")
                    raise ApiError(500, f'Error processing tar file(exit status 1): cannot overwrite {what[0]} '
                                        f'"{name}" with {what[1]} "{dest}"')
                if member.isdir():
                    self.entries[name] = Entry("dir", member.mode & 0o7777, member.mtime, uid=member.uid,
                                               gid=member.gid)
                elif member.issym():
                    self.entries[name] = Entry("symlink", 0o777, member.mtime, linkname=member.linkname)
                elif member.islnk():
                    src = self.entries.get(norm(posixpath.join(dest, member.linkname)))
                    self.entries[name] = src or Entry("file", member.mode & 0o7777, member.mtime)
                elif member.isfile():
                    handle = tar.extractfile(member)
                    payload = handle.read() if handle else b""
                    self.entries[name] = Entry("file", member.mode & 0o7777, member.mtime, payload, uid=member.uid,
                                               gid=member.gid)

    @_locked
    def tar(self, path: str = "/", rename: str | None = None) -> bytes:
        """GET archive (path's last component kept, as the Engine does) or export (path '/')."""
        root = self.resolve(path, follow_last=False)
        if root not in self.entries:
            raise ApiError(404, f"Could not find the file {path} in container")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as out:
            if root == "/":
                prefix_len, arc_root = 1, ""
            else:
                prefix_len, arc_root = len(root) + 1, rename or posixpath.basename(root)
            for p in self.walk(root):
                entry = self.entries[p]
                if p == "/":
                    continue
                if p == root:
                    arc = arc_root
                else:
                    arc = posixpath.join(arc_root, p[prefix_len:]) if arc_root else p[prefix_len:]
                add_to_tar(out, arc, entry)
        return buf.getvalue()

    @_locked
    def stat_header(self, path: str) -> str:
        """X-Docker-Container-Path-Stat: base64 of {name,size,mode,mtime,linkTarget}."""
        real = self.resolve(path, follow_last=False)
        entry = self.entries.get(real)
        if entry is None:
            raise ApiError(404, f"Could not find the file {path} in container")
        mode = entry.mode & 0o777 | (entry.mode & 0o7000 and _go_special(entry.mode))
        link = ""
        if entry.kind == "dir":
            mode |= GO_MODE_DIR
        elif entry.kind == "symlink":
            mode |= GO_MODE_SYMLINK
            link = self.resolve(real)
        stat_obj = {"name": posixpath.basename(real) or "/", "size": entry.size, "mode": mode,
                    "mtime": rfc3339(int(entry.mtime) * 1_000_000_000), "linkTarget": link}
        return base64.b64encode(json.dumps(stat_obj, separators=(",", ":")).encode()).decode()

    @_locked
    def changes(self, base: FS) -> list[dict[str, object]]:
        """`docker diff`: Kind 0 modified, 1 added, 2 deleted; parents of changes count as modified."""
        out: dict[str, int] = {}
        for path, entry in self.entries.items():
            old = base.entries.get(path)
            if old is None:
                out[path] = 1
            elif old is not entry and old != entry and entry.kind != "dir":
                out[path] = 0
        for path in base.entries:
            if path not in self.entries:
                # Only the top-most deleted path is reported.
                parent = posixpath.dirname(path)
                if parent in self.entries or parent == "/":
                    out[path] = 2
        for path in list(out):
            parent = posixpath.dirname(path)
            while parent != "/" and parent in self.entries and parent in base.entries and parent not in out:
                out[parent] = 0
                parent = posixpath.dirname(parent)
        return [{"Path": p, "Kind": k} for p, k in sorted(out.items())]

    @_locked
    def size(self) -> int:
        return sum(e.size for e in self.entries.values() if e.kind == "file")


def _go_special(mode: int) -> int:
    out = 0
    if mode & stat.S_ISUID:
        out |= 1 << 23
    if mode & stat.S_ISGID:
        out |= 1 << 22
    if mode & stat.S_ISVTX:
        out |= 1 << 20
    return out
