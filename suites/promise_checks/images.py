"""Promise checkers: images, distribution and system (registered by name in suites/promise_checks/__init__.py).

Sequences that several promises judge (a tag, a delete, a save and load, two prunes, a push) are recorded once
per API version with `run.once`; each promise judges its part.  Objects the sequences make are commits of one
shared, never started container (promise_commit_source), labelled with the run label and removed at the end.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from typing import Any

from conformance.checks import is_stream_error
from conformance.cleanup import RUN_LABEL
from conformance.exchange import Exchange
from conformance.versions import parse
from plugins.fixtures import _quietly
from plugins.session import WORKER_LABEL
from suites.promise_checks.fixtures import PROMISE_LABEL
from suites.promise_checks.runtime import PromiseBroken, PromiseRun, at, has

# The Dockerfile of promise_built_image (after its FROM line), and per instruction the texts its history entry
# must hold.
BUILD_STEPS = [
    (f"LABEL {PROMISE_LABEL}-built=dockerfile", ["LABEL", f"{PROMISE_LABEL}-built", "dockerfile"]),
    ("ENV DAC_BUILT=yes", ["ENV", "DAC_BUILT", "yes"]),
    ("WORKDIR /dac", ["WORKDIR", "/dac"]),
    ('CMD ["echo", "built"]', ["CMD", "echo", "built"]),
]
PRUNE_LABEL = f"{PROMISE_LABEL}-prune"  # the label of the images the prune sequence makes
MANIFEST_TYPES = ("application/vnd.docker.distribution.manifest.v2+json",
                  "application/vnd.docker.distribution.manifest.list.v2+json",
                  "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json")
# GOARCH (/version Arch) -> what `uname -m` (/info Architecture) says on that machine; a 32-bit daemon may run
# on a 64-bit machine (the spec's note on Architecture).
UNAME_OF_GOARCH = {"amd64": {"x86_64", "amd64"}, "arm64": {"aarch64", "arm64", "armv8l"},
                   "arm": {"armv6l", "armv7l", "armv8l", "aarch64", "arm64"}, "386": {"i386", "i686", "x86_64"},
                   "ppc64le": {"ppc64le"}, "s390x": {"s390x"}, "riscv64": {"riscv64"}, "mips64le": {"mips64"}}


def stream_lines(ex: Exchange) -> list[dict[str, Any]]:
    """The JSON objects of a progress stream (one per line); a line that is not JSON breaks the promise."""
    out = []
    for line in ex.body.decode(errors="replace").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                raise PromiseBroken(f"{ex.operation}: a progress line that is not JSON: {line[:200]!r}") from None
    errors = [item for item in out if is_stream_error(item)]
    if errors:
        raise PromiseBroken(f"{ex.operation} reported an error: {errors[0]}")
    return out


def _labels(run: PromiseRun, value: str, key: str = PROMISE_LABEL) -> dict[str, str]:
    state = run.engine.state
    return {RUN_LABEL: state.label[RUN_LABEL], WORKER_LABEL: state.label[WORKER_LABEL], key: value}


def _token(run: PromiseRun) -> str:
    """Unique per API version and fault set (a self-test records each sequence again under each fault)."""
    return f"{run.version.replace('.', '')}x{time.monotonic_ns() % 10**9}"


def _commit(run: PromiseRun, labels: dict[str, str], repo: str = "") -> str:
    """A commit of promise_commit_source with these labels (tagged repo:v1 when repo is given): its id."""
    source = run.fixture("promise_commit_source")
    query: dict[str, Any] = {"container": source, **({"repo": repo, "tag": "v1"} if repo else {})}
    answer = run.json("ImageCommit", query=query, json_body={"Labels": labels, "Cmd": ["true"]}, expect=(201,))
    return str(answer.get("Id", ""))


def _remove_quietly(run: PromiseRun, *refs: str) -> None:
    for ref in refs:
        if ref:
            _quietly(run.sdk.remove_image, ref, force=True)


# --- image: sequences ---------------------------------------------------------------------------------------

def image_history_instructions(run: PromiseRun) -> None:
    """The built image's history, newest first: the `labels` parameter's LABEL entries (one for all, or one per
    label: Engine 20.10 commits each label apart), one entry per Dockerfile instruction, the FROM image's entries."""
    built = run.fixture("promise_built_image")
    history = run.json("ImageHistory", {"name": built["ref"]})
    base = run.json("ImageHistory", {"name": built["base"]})
    keys = {*run.engine.state.label, PROMISE_LABEL}  # the build's `labels` (fixtures_images.promise_built_image)
    above = len(history) - len(base) - len(BUILD_STEPS)
    if not run.expect(above in (1, len(keys)), f"{len(history)} entries: {len(base)} of the FROM image, "
                      f"{len(BUILD_STEPS)} instructions and {above} for the labels parameter (1 or {len(keys)})"):
        return
    tops = [str(h.get("CreatedBy", "")) for h in history[:above]]
    named = [{k for k in keys if f"{k}=" in t or f'"{k}"=' in t} for t in tops]
    labels = all(t.replace("/bin/sh -c #(nop)", "").strip().startswith("LABEL ") for t in tops)
    ok = labels and set().union(*named) == keys and (above == 1 or all(len(n) == 1 for n in named))
    run.expect(ok, f"the newest entries {tops} are not the LABEL(s) of the labels parameter {sorted(keys)}")
    for index, (_, tokens) in enumerate(reversed(BUILD_STEPS), start=above):
        created_by = str(history[index].get("CreatedBy", ""))
        run.expect(all(t in created_by for t in tokens),
                   f"/{index}/CreatedBy: {created_by!r}, expected the instruction {' '.join(tokens)}",
                   f"/{index}/CreatedBy")
    below = [h.get("CreatedBy") for h in history[above + len(BUILD_STEPS):]]
    run.equal(below, [h.get("CreatedBy") for h in base], "CreatedBy of the entries below (the FROM image's)")


def _tagged(run: PromiseRun) -> dict[str, str]:
    image = run.fixture("promise_image")
    repo = f"{image['repo']}-t{run.version.replace('.', '')}"
    run.send("ImageTag", {"name": image["id"]}, query={"repo": repo, "tag": "v2"}, expect=(201,))
    return {"ref": f"{repo}:v2", "repo": repo}


def image_tag_then(run: PromiseRun) -> None:
    """After ImageTag, ImageInspect (`via: inspect`) or ImageList by reference (`via: list`) shows the tag."""
    image = run.fixture("promise_image")
    tagged = run.once("image-tag", _tagged)
    if run.params["via"] == "inspect":
        tags = run.json("ImageInspect", {"name": image["id"]}).get("RepoTags") or []
    else:
        listed = run.json("ImageList", query={"filters": {"reference": [tagged["repo"]]}})
        items = [i for i in listed if i.get("Id") == image["id"]]
        if not items:
            raise PromiseBroken(f"ImageList reference={tagged['repo']}: the tagged image is not listed")
        tags = items[0].get("RepoTags") or []
    run.expect(tagged["ref"] in tags, f"RepoTags {tags} lack {tagged['ref']!r}, the tag ImageTag made", "/RepoTags")


def _deleted(run: PromiseRun) -> dict[str, Any]:
    repo = f"{run.fixture('promise_image')['repo']}-d{_token(run)}"
    image_id = _commit(run, _labels(run, "delete"), repo)
    try:
        answer = run.json("ImageDelete", {"name": f"{repo}:v1"})
    finally:
        _remove_quietly(run, image_id)
    return {"ref": f"{repo}:v1", "id": image_id, "answer": answer}


def image_delete_order(run: PromiseRun) -> None:
    """ImageDelete of an image's only tag: every Untagged item before the first Deleted, both present."""
    found = run.once("image-delete", _deleted)
    kinds = [("Untagged" if item.get("Untagged") else "Deleted" if item.get("Deleted") else "?") for item in
             found["answer"]]
    untagged = [item.get("Untagged") for item in found["answer"] if item.get("Untagged")]
    deleted = [item.get("Deleted") for item in found["answer"] if item.get("Deleted")]
    run.expect(found["ref"] in untagged, f"no Untagged {found['ref']!r} in {found['answer']}")
    run.expect(found["id"] in deleted, f"no Deleted {found['id']!r} in {found['answer']}")
    first_deleted = kinds.index("Deleted") if "Deleted" in kinds else len(kinds)
    run.expect("Untagged" not in kinds[first_deleted:], f"an Untagged item after a Deleted one: {kinds}")


def image_get_tar(run: PromiseRun) -> None:
    """ImageGet of name:tag answers a tar (Content-Type application/x-tar) whose `repositories` file names it."""
    image = run.fixture("promise_image")
    ex = run.send("ImageGet", {"name": image["ref"]})
    run.equal(ex.media_type, "application/x-tar", "Content-Type")
    try:
        with tarfile.open(fileobj=io.BytesIO(ex.body), mode="r:") as tar:
            member = tar.extractfile("repositories")
            repositories = json.loads(member.read()) if member else {}
    except (tarfile.TarError, KeyError, ValueError) as exc:
        raise PromiseBroken(f"ImageGet: no tar with a JSON `repositories` file ({exc})") from None
    run.expect(image["tag"] in (repositories.get(image["repo"]) or {}),
               f"the `repositories` file {repositories} does not name {image['ref']}")


def _loaded(run: PromiseRun) -> dict[str, Any]:
    image = run.fixture("promise_image")
    repo = f"{image['repo']}-l{run.version.replace('.', '')}"
    run.send("ImageTag", {"name": image["id"]}, query={"repo": repo, "tag": "v1"}, expect=(201,))
    saved = run.send("ImageGet", {"name": f"{repo}:v1"}).body
    run.send("ImageDelete", {"name": f"{repo}:v1"})  # only the tag goes: the image keeps its others
    run.send("ImageLoad", query={"quiet": True}, data=saved, headers={"Content-Type": "application/x-tar"})
    after = run.send("ImageInspect", {"name": f"{repo}:v1"}, expect=())
    return {"ref": f"{repo}:v1", "status": after.status, "id": after.json().get("Id") if after.status == 200 else ""}


def image_load_tags(run: PromiseRun) -> None:
    """A tar that ImageGet made of name:tag, loaded after the tag was removed, brings the tag back."""
    image = run.fixture("promise_image")
    found = run.once("image-load", _loaded)
    if run.expect(found["status"] == 200, f"ImageInspect {found['ref']} after the load answered {found['status']}"):
        run.equal(found["id"], image["id"], f"the image {found['ref']} names after the load")


def _busy_retry(run: PromiseRun, op_id: str, busy: tuple[int, ...], **kwargs: Any) -> Exchange:
    """Send (again, for up to 10 s, while the Engine answers `busy` "... already running": it runs one prune or
    one disk usage computation at a time, whichever client asked); PromiseBroken on any other non-200."""
    for _ in range(40):
        ex = run.send(op_id, expect=(200, *busy), **kwargs)
        if ex.status == 200:
            return ex
        if b"already running" not in ex.body:
            break
        time.sleep(0.25)
    raise PromiseBroken(f"{op_id} answered {ex.status}: {ex.excerpt(200)}")


def _prune(run: PromiseRun, filters: dict[str, list[str]]) -> list[str]:
    """ImagePrune: the Deleted ids."""
    ex = _busy_retry(run, "ImagePrune", (409,), query={"filters": filters})
    return [str(i.get("Deleted")) for i in ex.json().get("ImagesDeleted") or [] if i.get("Deleted")]


def _pruned(run: PromiseRun) -> dict[str, Any]:
    # A key of their own: a prune that misreads the filter (a self-test's fault) reaches these images only.
    token = _token(run)
    value, repo = f"prune-{token}", f"{run.fixture('promise_image')['repo']}-p{token}"
    made = {"dangling": _commit(run, _labels(run, value, PRUNE_LABEL)),
            "other": _commit(run, _labels(run, f"{value}-keep", PRUNE_LABEL)),
            "tagged": _commit(run, _labels(run, value, PRUNE_LABEL), repo)}
    state = run.engine.state
    scope = [f"{RUN_LABEL}={state.label[RUN_LABEL]}", f"{WORKER_LABEL}={state.label[WORKER_LABEL]}"]
    try:
        first = _prune(run, {"label": [*scope, f"{PRUNE_LABEL}={value}"], "dangling": ["true"]})
        second = _prune(run, {"label": [*scope, f"{PRUNE_LABEL}={value}"], "dangling": ["false"]})
    finally:
        _remove_quietly(run, *made.values())
    return {**made, "first": first, "second": second}


def image_prune(run: PromiseRun) -> None:
    """Two label-limited prunes of three commits: dangling=true, then dangling=false (`judge` picks the part)."""
    found = run.once("image-prune", _pruned)
    judge, first, second = run.params["judge"], found["first"], found["second"]
    if judge == "dangling-only":
        run.expect(found["dangling"] in first, f"dangling=true did not delete the untagged image ({first})")
        run.expect(found["tagged"] not in first, f"dangling=true deleted the tagged image {found['tagged']}")
    elif judge == "label-value":
        run.expect(found["other"] not in first + second,
                   f"a prune deleted {found['other']}, whose label value differs from the filter's")
        run.expect(found["dangling"] in first, f"the prune did not delete the image the label matches ({first})")
    else:
        run.expect(found["tagged"] in second, f"dangling=false did not delete the unused tagged image ({second})")


# --- image and distribution: a push to the open registry ------------------------------------------------

def _pushed(run: PromiseRun) -> dict[str, Any]:
    reg = run.fixture("promise_registry_image")
    ex = run.send("ImagePush", {"name": reg["repo"]}, query={"tag": reg["tag"]}, headers={"X-Registry-Auth": "e30="})
    aux = [line["aux"] for line in stream_lines(ex) if isinstance(line.get("aux"), dict) and line["aux"].get("Digest")]
    if not aux:
        raise PromiseBroken(f"ImagePush of {reg['ref']} reported no digest: {ex.excerpt(300)}")
    return {"digest": aux[-1]["Digest"], "size": aux[-1].get("Size")}


def image_pushed(run: PromiseRun) -> None:
    """What inspect, list and DistributionInspect say of an image after a push (`judge` picks one)."""
    reg = run.fixture("promise_registry_image")
    push = run.once("image-push", _pushed)
    judge, wanted = run.params["judge"], f"{reg['repo']}@{push['digest']}"
    if judge in ("inspect-digests", "list-digests"):
        if judge == "inspect-digests":
            digests = run.json("ImageInspect", {"name": reg["id"]}).get("RepoDigests") or []
        else:
            listed = run.json("ImageList", query={"filters": {"reference": [reg["repo"]]}, "digests": True})
            digests = next((i.get("RepoDigests") or [] for i in listed if i.get("Id") == reg["id"]), None)
            if digests is None:
                raise PromiseBroken(f"ImageList reference={reg['repo']}: the pushed image is not listed")
        run.expect(wanted in digests, f"RepoDigests {digests} lack {wanted!r} (the digest the push reported)",
                   "/RepoDigests")
        return
    found = run.json("DistributionInspect", {"name": reg["ref"]})
    descriptor = found.get("Descriptor") or {}
    if judge == "digest":
        run.equal(descriptor.get("digest"), push["digest"], "Descriptor.digest (the push reported)",
                  "/Descriptor/digest")
    elif judge == "size":
        run.equal(descriptor.get("size"), push["size"], "Descriptor.size (the push reported)", "/Descriptor/size")
    elif judge == "media-type":
        run.expect(descriptor.get("mediaType") in MANIFEST_TYPES,
                   f"Descriptor.mediaType {descriptor.get('mediaType')!r} is not a manifest's", "/Descriptor/mediaType")
    else:
        image = run.json("ImageInspect", {"name": reg["id"]})
        platform = {"architecture": image.get("Architecture"), "os": image.get("Os")}
        platforms = [{"architecture": p.get("architecture"), "os": p.get("os")} for p in found.get("Platforms") or []]
        run.expect(platform in platforms, f"Platforms {platforms} lack the image's {platform}", "/Platforms")


# --- system ---------------------------------------------------------------------------------------------

def _value(run: PromiseRun, answers: dict[str, Exchange], where: str) -> Any:
    """"name:header:H" (a response header), "name:body" (the raw text) or "name:/pointer" (into its JSON)."""
    name, _, what = where.partition(":")
    ex = answers[name]
    if what.startswith("header:"):
        return ex.header(what[len("header:"):])
    if what == "body":
        return ex.body.decode(errors="replace")
    try:
        doc = ex.json()
    except ValueError:
        raise PromiseBroken(f"{ex.operation}: the body is not JSON: {ex.excerpt(200)}") from None
    if not has(doc, what):
        raise PromiseBroken(f"{ex.operation}: {what} is missing from the answer")
    return at(doc, what)


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def system_agree(run: PromiseRun) -> None:
    """Answers agree with each other (`equal: [[a, b], ...]`) or with a value (`is: [[a, value], ...]`);
    `text: true` compares as text (a header's "false" with a JSON false)."""
    params = run.render(run.params, run.params.get("needs", ()))
    answers = {name: run.send(req["operation"], req.get("path"), query=req.get("query"), json_body=req.get("body"))
               for name, req in params["requests"].items()}
    as_text = _text if params.get("text") else (lambda v: v)
    for left, right in params.get("equal", []):
        a, b = as_text(_value(run, answers, left)), as_text(_value(run, answers, right))
        run.expect(a == b, f"{left} is {a!r} but {right} is {b!r}")
    for left, wanted in params.get("is", []):
        run.equal(_value(run, answers, left), wanted, left)


def system_version_range(run: PromiseRun) -> None:
    """MinAPIVersion <= the version this request used <= ApiVersion."""
    found = run.json("SystemVersion")
    low, high = str(found.get("MinAPIVersion", "")), str(found.get("ApiVersion", ""))
    try:
        ok = parse(low) <= parse(run.version) <= parse(high)
    except ValueError:
        ok = False
    run.expect(ok, f"API {run.version} was served, yet MinAPIVersion..ApiVersion is {low!r}..{high!r}")


def system_version_arch(run: PromiseRun) -> None:
    """/version Arch (GOARCH) is an architecture of the machine /info Architecture (uname -m) names."""
    arch = str(run.json("SystemVersion").get("Arch", ""))
    machine = str(run.json("SystemInfo").get("Architecture", ""))
    run.expect(bool(arch and machine) and machine in UNAME_OF_GOARCH.get(arch, {arch}),
               f"/version Arch {arch!r} does not run on the /info Architecture {machine!r}")


def _counts(run: PromiseRun, count: str) -> dict[str, int]:
    if count == "images":
        return {"Images": len(run.json("ImageList", query={"all": True}))}
    states = [str(c.get("State", "")) for c in run.json("ContainerList", query={"all": True})]
    if count == "containers":
        return {"Containers": len(states)}
    running, paused = states.count("running"), states.count("paused")
    return {"ContainersRunning": running, "ContainersPaused": paused,
            "ContainersStopped": len(states) - running - paused}


def system_info_counts(run: PromiseRun) -> None:
    """/info's counts equal what the lists show.  Other clients change the engine meanwhile: list, info, list,
    and the counts must equal those of one of the two lists (tried a few times before it counts as broken)."""
    seen = []
    for _ in range(6):
        before = _counts(run, run.params["count"])
        info = run.json("SystemInfo")
        after = _counts(run, run.params["count"])
        found = {key: info.get(key) for key in before}
        if found in (before, after):
            return
        seen.append(f"info {found}, lists {before} / {after}")
        time.sleep(0.1)
    run.broken(f"/info never agreed with the lists around it: {'; '.join(seen[-3:])}")


def _df_lists(doc: dict[str, Any]) -> tuple[list[Any], list[Any], Any]:
    """(images, containers, the images' total) of either SystemDataUsage shape (1.52 moved them)."""
    if "ImageUsage" in doc:
        return ((doc.get("ImageUsage") or {}).get("Items") or [], (doc.get("ContainerUsage") or {}).get("Items") or [],
                (doc.get("ImageUsage") or {}).get("TotalSize"))
    return doc.get("Images") or [], doc.get("Containers") or [], doc.get("LayersSize")


def _df(run: PromiseRun) -> dict[str, Any]:
    query = {"verbose": True} if parse(run.version) >= parse("1.52") else None  # 1.52: Items only when verbose
    return dict(_busy_retry(run, "SystemDataUsage", (409, 500), query=query).json())  # busy: 500 in 20.10


def system_df_sizes(run: PromiseRun) -> None:
    """SystemDataUsage sizes: the image's Size is ImageInspect's (and not 0), the layers' total at least that,
    a container's SizeRootFs what ContainerList size=true says (from 1.40)."""
    image, container = run.fixture("promise_image"), run.fixture("promise_container")
    images, containers, total = _df_lists(_df(run))
    size = run.json("ImageInspect", {"name": image["id"]}).get("Size")
    item = next((i for i in images if i.get("Id") == image["id"]), None)
    if run.expect(item is not None, f"{image['id']} is not among the {len(images)} images"):
        run.expect(isinstance(size, int) and size > 0 and item.get("Size") == size,
                   f"the image's Size is {item.get('Size')!r}; ImageInspect says {size!r}")
    run.expect(isinstance(total, int) and isinstance(size, int) and total >= size > 0,
               f"the layers' total {total!r} is less than one image's size {size!r}")
    if parse(run.version) < parse("1.40"):
        return  # before 1.40 the spec's ContainerSummary is a list, and df's Containers a list of those lists
    listed = run.json("ContainerList", query={"all": True, "size": True, "filters": {"id": [container]}})
    wanted = listed[0].get("SizeRootFs") if listed else None
    ctr = next((c for c in containers if c.get("Id") == container), None)
    if run.expect(ctr is not None, f"{container} is not among the {len(containers)} containers"):
        run.expect(isinstance(wanted, int) and wanted > 0 and ctr.get("SizeRootFs") == wanted,
                   f"the container's SizeRootFs is {ctr.get('SizeRootFs')!r}; ContainerList says {wanted!r}")


def system_df_lists(run: PromiseRun) -> None:
    """SystemDataUsage lists promise_image with its tags."""
    image = run.fixture("promise_image")
    images = _df_lists(_df(run))[0]
    item = next((i for i in images if i.get("Id") == image["id"]), None)
    if run.expect(item is not None, f"{image['id']} is not among the {len(images)} images"):
        tags = item.get("RepoTags") or []
        run.expect(image["ref"] in tags, f"its RepoTags {tags} lack {image['ref']!r}")


CHECKERS = {
    "image-history-instructions": image_history_instructions,
    "image-tag-then": image_tag_then,
    "image-delete-order": image_delete_order,
    "image-get-tar": image_get_tar,
    "image-load-tags": image_load_tags,
    "image-prune": image_prune,
    "image-pushed": image_pushed,
    "system-agree": system_agree,
    "system-version-range": system_version_range,
    "system-version-arch": system_version_arch,
    "system-info-counts": system_info_counts,
    "system-df-sizes": system_df_sizes,
    "system-df-lists": system_df_lists,
}
