"""POST /build (classic builder output) and POST /build/prune.

FROM must name an image the fake knows (or scratch); RUN runs through the command language on a
copy of the filesystem; COPY/ADD take files from the context; LABEL/CMD/ENV/... edit the config.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import posixpath
import re
import shlex
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    context = FS()
    try:
        if ctx.req.body:
            context.extract(ctx.req.body)
    except ApiError:
        raise ApiError(500, "the build context is not a valid tar archive") from None
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
    try:
        build_args = json.loads(ctx.q("buildargs") or "{}") or {}
        labels = json.loads(ctx.q("labels") or "{}") or {}
    except ValueError as exc:
        raise ApiError(400, f"error reading build args or labels: {exc}") from None
    tags = ctx.req.qlist("t")
    quiet = ctx.qbool("q")
    steps = _plan(parse_dockerfile(entry.data.decode(errors="replace")), ctx.q("target") or "", labels)
    use_cache = not ctx.qbool("nocache")
    state = ctx.state

    def gen() -> Iterator[bytes]:
        def say(text: str) -> Iterator[bytes]:
            if not quiet:
                yield json_bytes({"stream": text})
        try:
            image_id = yield from _run_build(ctx, steps, build_args, context, say, use_cache)
        except BuildError as exc:
            detail: dict[str, Any] = {"message": exc.message}
            if exc.code is not None:
                detail = {"code": exc.code, "message": exc.message}
            yield json_bytes({"errorDetail": detail, "error": exc.message})
            return
        yield json_bytes({"aux": {"ID": image_id}})
        declared = {name for keyword, text in steps if keyword == "ARG" for name in [_arg_name(text)]}
        unused = sorted(name for name in build_args if name not in declared and name not in PREDEFINED_ARGS)
        if unused:
            yield from say(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
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


# moby builder/dockerfile/buildargs.go builtinAllowedBuildArgs: usable without an ARG, never reported unused
PREDEFINED_ARGS = frozenset(f"{name}{suffix}" for name in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY",
                                                            "ALL_PROXY") for suffix in ("", "_lower"))


def _arg_name(text: str) -> str:
    return text.partition("=")[0].strip()


def _plan(instructions: list[tuple[str, str]], target: str, labels: dict[str, str]) -> list[tuple[str, str]]:
    """The steps the legacy builder runs: the stages up to `target` (moby builder/dockerfile/builder.go: an unknown
    one is a bad parameter, before any output), then a LABEL step per label of the query."""
    if target:
        names = [words[2].lower() for keyword, text in instructions if keyword == "FROM"
                 for words in [text.split()] if len(words) >= 3 and words[1].upper() == "AS"]
        if target.lower() not in names:
            raise ApiError(400, f"failed to reach build target {target} in Dockerfile")
        stage = ""
        for index, (keyword, text) in enumerate(instructions):
            if keyword == "FROM":
                if stage == target.lower():
                    instructions = instructions[:index]
                    break
                words = text.split()
                stage = words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else ""
    # moby 20.10 builder/dockerfile/builder.go buildLabelOptions: one LABEL command per label, sorted by key
    return [*instructions, *(("LABEL", f"{key}={value}") for key, value in sorted(labels.items()))]


@dataclass
class _Stage:
    """What the steps of one stage build on."""
    config: dict[str, Any] = field(default_factory=dict)
    fs: FS = field(default_factory=FS)
    history: list[dict[str, Any]] = field(default_factory=list)
    diff_ids: list[str] = field(default_factory=list)
    layers: list[bytes] = field(default_factory=list)
    image_id: str = ""
    name: str = ""
    args: dict[str, str] = field(default_factory=dict)  # the ARGs in scope, with their values


def _run_build(ctx: Ctx, steps: list[tuple[str, str]], build_args: dict[str, Any], context: FS,
               say: Any, use_cache: bool) -> Iterator[bytes]:
    state = ctx.state
    total = len(steps)
    stages: dict[str, str] = {}
    meta_args: dict[str, str] = {}  # ARGs before the first FROM: they reach FROM lines (and a stage's bare ARG)
    stage: _Stage | None = None
    for number, (keyword, raw_args) in enumerate(steps, 1):
        scope = stage.args if stage and keyword != "FROM" else meta_args
        text = _substitute(raw_args, scope) if keyword not in ("RUN", "CMD", "ENTRYPOINT") else raw_args
        yield from say(f"Step {number}/{total} : {keyword} {raw_args}")
        yield from say("\n")
        if keyword == "FROM":
            if stage is not None and stage.image_id:
                yield json_bytes({"aux": {"ID": stage.image_id}})  # each stage's result, as dockerd sends it
            stage = yield from _from(state, text, stages, say)
            continue
        if keyword == "ARG":
            name, has_default, default = text.partition("=")
            name = name.strip()
            value = build_args.get(name) if build_args.get(name) is not None else \
                (default.strip().strip('"') if has_default else meta_args.get(name))
            if stage is None:
                if value is not None:
                    meta_args[name] = value
                continue
            if value is not None:
                stage.args[name] = value
        if stage is None:
            raise BuildError("Please provide a source image with `from` prior to commit")
        yield from _step(ctx, stage, keyword, raw_args, text, context, stages, say, use_cache)
    if stage is None or not stage.image_id:
        raise BuildError("No image was generated. Is your Dockerfile empty?")
    return stage.image_id


def _from(state: Any, text: str, stages: dict[str, str], say: Any) -> Iterator[bytes]:
    words = text.split()
    ref = words[0]
    new = _Stage(name=words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else "")
    if ref == "scratch":
        yield from say(" ---> \n")
        return new
    with state.lock:
        image = state.images.images.get(stages.get(ref.lower(), "")) or state.images.find(ref)
        if image is None:
            repo = normalize(ref).rsplit(":", 1)[0]
            raise BuildError(f"pull access denied for {repo}, repository does not exist or may require "
                             "'docker login': denied: requested access to the resource is denied")
        _adopt(new, image)
    if new.name:
        stages[new.name] = image.id
    yield from say(f" ---> {image.id[7:19]}\n")
    return new


def _run_env(stage: _Stage) -> dict[str, str]:
    return {e.split("=", 1)[0]: e.split("=", 1)[1] for e in stage.config.get("Env") or [] if "=" in e}


def _step(ctx: Ctx, stage: _Stage, keyword: str, raw_args: str, text: str, context: FS, stages: dict[str, str],
          say: Any, use_cache: bool) -> Iterator[bytes]:
    """One instruction after FROM: its image is the next step's parent (the cached one when the parent already has
    a child made the same way, as the legacy builder's cache finds it)."""
    state = ctx.state
    env = _run_env(stage)
    # moby builder/dockerfile/dispatchers.go dispatchRun: the build args in scope (not shadowed by ENV) prefix
    # the command in the history as "|<n> K=V ..."
    run_args = {k: v for k, v in sorted(stage.args.items()) if k not in env}
    created_by = _created_by(keyword, raw_args, run_args)
    fs = stage.fs.copy()
    if keyword in ("COPY", "ADD"):  # the files go in first: the history names them by a hash of their content
        created_by = _copy_step(state, stage, keyword, text, context, stages, fs)
    cached = _cached(state, stage.image_id, created_by) if use_cache else None
    if cached is not None:
        yield from say(" ---> Using cache\n")
        _adopt(stage, cached)
        yield from say(f" ---> {cached.id[7:19]}\n")
        return
    created = now_ns()
    if keyword not in ("COPY", "ADD"):
        run_id = new_id()
        yield from say(f" ---> Running in {run_id[:12]}\n")
        if keyword == "RUN":
            yield from _run(stage, raw_args, {**env, **stage.args}, fs, run_id, say)
        elif keyword != "ARG" and not apply_instruction(stage.config, keyword, text, stage.args):
            raise BuildError(f"Unknown instruction: {keyword}")
        yield from say(f"Removing intermediate container {run_id[:12]}\n")
    # A RUN that changed no file commits no layer (dockerd 20.10 observed: its image has its parent's layers and
    # an empty_layer history entry); COPY and ADD always commit one
    changed = keyword in ("COPY", "ADD") or (keyword == "RUN" and bool(fs.changes(stage.fs)))
    layer = layer_diff(fs, stage.fs) if changed else b""
    entry: dict[str, Any] = {"created": rfc3339(created), "created_by": created_by}
    if layer:
        stage.diff_ids.append(sha(layer))
        stage.layers.append(layer)
    else:
        entry["empty_layer"] = True
    stage.history.append(entry)
    # The step's container: the image config with the step as its command (the legacy builder's
    # ContainerConfig, as dockerd 20.10 answers it for a built image)
    cmd = ["/bin/sh", "-c", created_by.removeprefix("/bin/sh -c ")]
    if keyword == "RUN" and run_args:
        cmd = [f"|{len(run_args)}", *(f"{k}={v}" for k, v in run_args.items()), "/bin/sh", "-c", raw_args]
    step = {**stage.config, "Cmd": cmd,
            "Env": stage.config.get("Env") or [], "Labels": stage.config.get("Labels") or {}}
    blob = make_config_blob(dict(stage.config), list(stage.history), list(stage.diff_ids), created,
                            container_config=step)
    with state.lock:
        new = state.images.add(blob, list(stage.layers), fs.copy(), parent=stage.image_id)
    stage.fs, stage.image_id = fs, new.id
    if stage.name:
        stages[stage.name] = new.id
    yield from say(f" ---> {new.id[7:19]}\n")


def _cached(state: Any, parent: str, created_by: str) -> Any:
    """A child of `parent` built by the same instruction (moby's legacy cache compares the step's config)."""
    if not parent:
        return None
    with state.lock:
        for image in state.images.images.values():
            history = image.meta.get("history") or []
            if image.parent == parent and history and history[-1].get("created_by") == created_by:
                return image
    return None


def _adopt(stage: _Stage, image: Any) -> None:
    """The stage builds on `image` from here (FROM, or a step the cache found)."""
    meta = image.meta
    stage.config = json.loads(json.dumps(meta.get("config") or {}))
    stage.fs = image.fs.copy()
    stage.history = list(meta.get("history") or [])
    stage.diff_ids = list(meta.get("rootfs", {}).get("diff_ids") or [])
    stage.layers = list(image.layers)
    stage.image_id = image.id


def _run(stage: _Stage, raw_args: str, env: dict[str, str], fs: FS, run_id: str, say: Any) -> Iterator[bytes]:
    argv = _json_or_shell(raw_args)
    output: list[tuple[int, bytes]] = []
    shell = Shell(ProcessIO(lambda fd, data: output.append((fd, data)), None, Control(), fs, env,
                            stage.config.get("WorkingDir") or "/", run_id[:12]))
    try:
        code = shell.run(argv)
    except CommandNotFound as exc:
        raise BuildError(f"failed to run {argv}: exec: \"{exc}\": executable file not found in $PATH",
                         127) from None
    for fd, data in output:
        # moby pkg/streamformatter NewStderrWriter: a step's stderr is sent in ANSI red
        text = data.decode(errors="replace")
        yield from say(f"\x1b[91m{text}\x1b[0m" if fd == 2 else text)
    if code != 0:
        shown = " ".join(argv) if raw_args.startswith("[") else f"/bin/sh -c {raw_args}"
        raise BuildError(f"The command '{shown}' returned a non-zero code: {code}", code)


def _copy_step(state: Any, stage: _Stage, keyword: str, text: str, context: FS, stages: dict[str, str],
               fs: FS) -> str:
    """Copy into `fs`; the history line.  The legacy builder names what it copied by a hash of
    its content: "COPY file:<hash> in <dest> " (dir: for one folder, multi: for several sources)."""
    parts = [p for p in shlex.split(text) if not p.startswith("--chown") and not p.startswith("--chmod")]
    source_fs = context
    if parts and parts[0].startswith("--from="):
        ref = parts.pop(0).split("=", 1)[1]
        with state.lock:
            src_image = state.images.images.get(stages.get(ref.lower(), "")) or state.images.find(ref)
        if src_image is None:
            raise BuildError(f"invalid from flag value {ref}: not found")
        source_fs = src_image.fs
    if len(parts) < 2:
        raise BuildError(f"{keyword} requires at least two arguments")
    *sources, dest = parts
    dest_abs = norm(dest, stage.config.get("WorkingDir") or "/")
    digest = hashlib.sha256()
    for source in sources:
        _copy(source_fs, source, fs, dest_abs, dest.endswith("/") or len(sources) > 1)
        base = norm(source)
        for path in source_fs.walk(source_fs.resolve(base)) if source_fs.exists(base) else ():
            item = source_fs.entries[path]
            digest.update(path.encode() + b"\0" + item.data)
    kind = "multi" if len(sources) > 1 else ("dir" if source_fs.is_dir(norm(sources[0])) else "file")
    return f"/bin/sh -c #(nop) {keyword} {kind}:{digest.hexdigest()} in {dest} "


def _created_by(keyword: str, args: str, run_args: dict[str, str]) -> str:
    if keyword == "RUN":
        prefix = f"|{len(run_args)} " + " ".join(f"{k}={v}" for k, v in run_args.items()) + " " if run_args else ""
        return f"{prefix}/bin/sh -c {args}"
    if keyword in ("CMD", "ENTRYPOINT"):  # the legacy builder writes the command as Go's %q of its words
        return f"/bin/sh -c #(nop)  {keyword} [" + " ".join(json.dumps(w) for w in _json_or_shell(args)) + "]"
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
