"""POST /build (classic builder output) and POST /build/prune.

FROM must name an image the fake knows (or scratch); RUN runs through the command language on a
copy of the filesystem; COPY/ADD take files from the context; LABEL/CMD/ENV/... edit the config.
"""

from __future__ import annotations

import fnmatch
import io
import json
import posixpath
import re
import shlex
import tarfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .cmdlang import CommandNotFound, Control, ProcessIO, Shell
from .fs import FS, norm
from .image_store import layer_diff, make_config_blob, normalize, sha
from .routing import Route, route
from .util import new_id, now_ns, rfc3339
from .wire import ApiError, json_bytes, json_response, stream_response

if TYPE_CHECKING:
    from .engine import Ctx
    from .wire import Response


def _substitute(text: str, args: dict[str, str]) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        name, _, default = name.partition(":-")
        return args.get(name, default)
    return re.sub(r"\$\{([^}]+)\}|\$([A-Za-z_][A-Za-z0-9_]*)", repl, text)


def _json_or_shell(args: str) -> list[str]:
    if args.startswith("["):
        try:
            value = json.loads(args)
            if isinstance(value, list):
                return [str(v) for v in value]
        except ValueError:
            pass
    return ["/bin/sh", "-c", args]


def _pairs(args: str) -> list[tuple[str, str]]:
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    return [tuple(w.split("=", 1)) if "=" in w else (w, "") for w in words]  # type: ignore[misc]


def apply_instruction(config: dict[str, Any], keyword: str, args: str, build_args: dict[str, str]) -> bool:
    """Apply a config-only instruction; False when the keyword is not one of them."""
    if keyword == "CMD":
        config["Cmd"] = _json_or_shell(args)
    elif keyword == "ENTRYPOINT":
        config["Entrypoint"] = _json_or_shell(args)
    elif keyword == "LABEL":
        labels = dict(config.get("Labels") or {})
        labels.update(_pairs(args))
        config["Labels"] = labels
    elif keyword == "ENV":
        env = [e for e in config.get("Env") or []]
        for key, value in _pairs(args):
            env = [e for e in env if not e.startswith(key + "=")] + [f"{key}={value}"]
        config["Env"] = env
    elif keyword == "WORKDIR":
        config["WorkingDir"] = norm(args, config.get("WorkingDir") or "/")
    elif keyword == "USER":
        config["User"] = args
    elif keyword == "EXPOSE":
        ports = dict(config.get("ExposedPorts") or {})
        for port in args.split():
            ports[port if "/" in port else f"{port}/tcp"] = {}
        config["ExposedPorts"] = ports
    elif keyword == "VOLUME":
        vols = dict(config.get("Volumes") or {})
        for path in (json.loads(args) if args.startswith("[") else args.split()):
            vols[path] = {}
        config["Volumes"] = vols
    elif keyword == "STOPSIGNAL":
        config["StopSignal"] = args
    elif keyword == "ONBUILD":
        config["OnBuild"] = [*(config.get("OnBuild") or []), args]
    elif keyword in ("MAINTAINER", "HEALTHCHECK", "SHELL"):
        if keyword == "HEALTHCHECK" and args.upper() == "NONE":
            config["Healthcheck"] = {"Test": ["NONE"]}
    else:
        return False
    return True


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    out = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), args.strip()))
    if pending:
        keyword, _, args = pending.strip().partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


class BuildError(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def image_build(ctx: Ctx) -> Response:
    if ctx.q("version") == "2":
        raise ApiError(400, "BuildKit is not supported by the fake engine; use the classic builder (version=1)")
    files: dict[str, tarfile.TarInfo] = {}
    context = FS()
    try:
        if ctx.req.body:
            context.extract(ctx.req.body)
    except ApiError:
        raise ApiError(500, "the build context is not a valid tar archive") from None
    del files
    dockerfile_name = ctx.q("dockerfile") or "Dockerfile"
    entry = context.get(norm(dockerfile_name))
    if ctx.q("remote"):
        raise ApiError(500, "remote build contexts are not supported by the fake engine")
    if entry is None or entry.kind != "file":
        raise ApiError(500, f"Cannot locate specified Dockerfile: {dockerfile_name}")
    if context.exists("/.dockerignore"):
        # The client left out what .dockerignore excludes; the daemon keeps .dockerignore itself out of the
        # image (dockerd 20.10 observed: `COPY . /ctx` has no .dockerignore)
        context.remove("/.dockerignore")
    build_args: dict[str, str] = {}
    try:
        raw_args = json.loads(ctx.q("buildargs") or "{}") or {}
        labels = json.loads(ctx.q("labels") or "{}") or {}
    except ValueError as exc:
        raise ApiError(400, f"error reading build args or labels: {exc}") from None
    for key, value in raw_args.items():
        if value is not None:
            build_args[key] = value
    tags = ctx.req.qlist("t")
    quiet = ctx.qbool("q")
    target = ctx.q("target") or ""
    instructions = parse_dockerfile(entry.data.decode(errors="replace"))
    state = ctx.state

    def gen() -> Iterator[bytes]:
        def say(text: str) -> Iterator[bytes]:
            if not quiet:
                yield json_bytes({"stream": text})
        try:
            image_id = yield from _run_build(ctx, instructions, build_args, labels, context, say, target)
        except BuildError as exc:
            detail: dict[str, Any] = {"message": exc.message}
            if exc.code is not None:
                detail = {"code": exc.code, "message": exc.message}
            yield json_bytes({"errorDetail": detail, "error": exc.message})
            return
        yield json_bytes({"aux": {"ID": image_id}})
        if quiet:
            yield json_bytes({"stream": image_id + "\n"})
        else:
            yield from say(f"Successfully built {image_id[7:19]}\n")
        with state.lock:
            image = state.images.images[image_id]
            for tag in tags:
                name = state.images.tag(image, tag)
                yield from say(f"Successfully tagged {name}\n")
    return stream_response(gen())


def _run_build(ctx: Ctx, instructions: list[tuple[str, str]], build_args: dict[str, str], labels: dict[str, str],
               context: FS, say: Any, target: str) -> Iterator[bytes]:
    state = ctx.state
    steps = [i for i in instructions if i[0] != "ARG" or True]
    total = len(steps)
    stages: dict[str, str] = {}
    image = None
    config: dict[str, Any] = {}
    fs = FS()
    history: list[dict[str, Any]] = []
    diff_ids: list[str] = []
    layers: list[bytes] = []
    args = dict(build_args)
    current_id = ""
    stage_name = ""
    for number, (keyword, raw_args) in enumerate(steps, 1):
        text = _substitute(raw_args, args) if keyword not in ("RUN", "CMD", "ENTRYPOINT") else raw_args
        yield from say(f"Step {number}/{total} : {keyword} {raw_args}")
        yield from say("\n")
        if keyword == "FROM":
            if stage_name and stage_name == target:
                break
            words = text.split()
            ref = words[0]
            stage_name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else ""
            if ref == "scratch":
                config, fs, history, diff_ids, layers = {}, FS(), [], [], []
                yield from say(" ---> \n")
                continue
            with state.lock:
                image = state.images.images.get(stages.get(ref, "")) or state.images.find(ref)
                if image is None:
                    repo = normalize(ref).rsplit(":", 1)[0]
                    raise BuildError(f"pull access denied for {repo}, repository does not exist or may require "
                                     "'docker login': denied: requested access to the resource is denied")
                meta = image.meta
                config = json.loads(json.dumps(meta.get("config") or {}))
                fs = image.fs.copy()
                history = list(meta.get("history") or [])
                diff_ids = list(meta.get("rootfs", {}).get("diff_ids") or [])
                layers = list(image.layers)
                current_id = image.id
            yield from say(f" ---> {image.id[7:19]}\n")
            continue
        if keyword == "ARG":
            name, _, default = text.partition("=")
            args.setdefault(name.strip(), default.strip().strip('"'))
            continue
        created = now_ns()
        before = fs.copy()
        if keyword == "RUN":
            argv = _json_or_shell(raw_args)
            run_id = new_id()
            yield from say(f" ---> Running in {run_id[:12]}\n")
            output: list[bytes] = []
            sink = output.append
            env = {**{e.split("=", 1)[0]: e.split("=", 1)[1] for e in config.get("Env") or [] if "=" in e}, **args}
            shell = Shell(ProcessIO(lambda fd, data, sink=sink: sink(data), None, Control(), fs, env,
                                    config.get("WorkingDir") or "/", run_id[:12]))
            try:
                code = shell.run(argv)
            except CommandNotFound as exc:
                raise BuildError(f"failed to run {argv}: exec: \"{exc}\": executable file not found in $PATH",
                                 127) from None
            if output:
                yield from say(b"".join(output).decode(errors="replace"))
            if code != 0:
                shown = " ".join(argv) if raw_args.startswith("[") else f"/bin/sh -c {raw_args}"
                raise BuildError(f"The command '{shown}' returned a non-zero code: {code}", code)
            yield from say(f"Removing intermediate container {run_id[:12]}\n")
        elif keyword in ("COPY", "ADD"):
            parts = [p for p in shlex.split(text) if not p.startswith("--chown") and not p.startswith("--chmod")]
            source_fs = context
            if parts and parts[0].startswith("--from="):
                ref = parts.pop(0).split("=", 1)[1]
                with state.lock:
                    src_image = state.images.images.get(stages.get(ref, "")) or state.images.find(ref)
                if src_image is None:
                    raise BuildError(f"invalid from flag value {ref}: not found")
                source_fs = src_image.fs
            if len(parts) < 2:
                raise BuildError(f"{keyword} requires at least two arguments")
            *sources, dest = parts
            dest_abs = norm(dest, config.get("WorkingDir") or "/")
            for source in sources:
                _copy(source_fs, source, fs, dest_abs, dest.endswith("/") or len(sources) > 1)
        elif not apply_instruction(config, keyword, text, args):
            raise BuildError(f"Unknown instruction: {keyword}")
        layer = layer_diff(fs, before) if keyword in ("RUN", "COPY", "ADD") else b""
        entry: dict[str, Any] = {"created": rfc3339(created), "created_by": _created_by(keyword, raw_args)}
        if layer:
            diff_ids.append(sha(layer))
            layers.append(layer)
        else:
            entry["empty_layer"] = True
        history.append(entry)
        # The step's container: the image config with the step as its command (the legacy builder's
        # ContainerConfig, as dockerd 20.10 answers it for a built image)
        step = {**config, "Cmd": ["/bin/sh", "-c", entry["created_by"].removeprefix("/bin/sh -c ")],
                "Env": config.get("Env") or [], "Labels": config.get("Labels") or {}}
        blob = make_config_blob(dict(config), list(history), list(diff_ids), created, container_config=step)
        with state.lock:
            new = state.images.add(blob, list(layers), fs.copy(), parent=current_id)
        current_id = new.id
        if stage_name:
            stages[stage_name] = current_id
        yield from say(f" ---> {new.id[7:19]}\n")
    if labels:
        config["Labels"] = {**(config.get("Labels") or {}), **labels}
        history.append({"created": rfc3339(now_ns()), "created_by": "LABEL " + " ".join(
            f"{k}={v}" for k, v in labels.items()), "empty_layer": True})
        step = {**config, "Cmd": ["/bin/sh", "-c", "#(nop) ", history[-1]["created_by"]],
                "Env": config.get("Env") or [], "Labels": config["Labels"]}
        blob = make_config_blob(dict(config), list(history), list(diff_ids), now_ns(), container_config=step)
        with state.lock:
            current_id = state.images.add(blob, list(layers), fs.copy(), parent=current_id).id
    if not current_id:
        raise BuildError("No image was generated. Is your Dockerfile empty?")
    return current_id


def _created_by(keyword: str, args: str) -> str:
    if keyword == "RUN":
        return f"/bin/sh -c {args}"
    return f"/bin/sh -c #(nop)  {keyword} {args}"


def _copy(src: FS, source: str, dest: FS, dest_path: str, into_dir: bool) -> None:
    base = norm(source)
    if "*" in source:
        matches = [p for p in src.entries if fnmatch.fnmatchcase(p, base)]
    else:
        matches = [base] if src.get(base) is not None else []
    if not matches:
        raise BuildError(f"COPY failed: file not found in build context or excluded by .dockerignore: stat {source}: "
                         "file does not exist")
    for match in matches:
        entry = src.get(match)
        if entry is None:
            continue
        if entry.kind == "dir":
            dest.mkdir(dest_path)
            for path in src.walk(src.resolve(match)):
                rel = path[len(src.resolve(match)):].lstrip("/")
                if not rel:
                    continue
                target = posixpath.join(dest_path, rel)
                item = src.entries[path]
                if item.kind == "dir":
                    dest.mkdir(target)
                else:
                    dest.mkdir(posixpath.dirname(target))
                    dest.entries[target] = item
        else:
            target = posixpath.join(dest_path, posixpath.basename(match)) if into_dir or dest.is_dir(dest_path) \
                else dest_path
            dest.mkdir(posixpath.dirname(target))
            dest.entries[norm(target)] = entry


def build_prune(ctx: Ctx) -> Response:
    return json_response({"CachesDeleted": None, "SpaceReclaimed": 0})  # nil: dockerd 20.10 sends null


def context_tar(files: dict[str, bytes]) -> bytes:
    """Helper for tests and tools: a build context tar from {path: content}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# The routes this module serves, in match order (conformance/fake/routes.py builds the router).
ROUTES: tuple[Route, ...] = (
    route("POST", "/build", "ImageBuild", image_build),
    route("POST", "/build/prune", "BuildPrune", build_prune),
)
