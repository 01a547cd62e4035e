"""Promise checkers: containers (registered by name in suites/promise_checks/__init__.py).

Data as in generic.answer: a checker makes a document of what the Engine answered and judges the
promise's `expect` rules on it (generic.judge), plus these rule kinds:

    {pointer, excludes: v}          the list there lacks v
    {pointer, in_order: [a, b]}     the list there holds a, then later b (other items may come between)
    {pointer, at_most: n}           every number there is at most n
    {times_in_order: [p1, p2]}      the RFC 3339 times at these pointers never go back (a zero time fails)

The documents:

    container-lifecycle   one container's whole life, recorded once per API version (run.once, see
                          _lifecycle): {create, created, list_created, running, list_running, paused,
                          list_paused, unpaused, stopped, list_exited, restarted, wait_running, wait_next,
                          killed, removed, wait_removed, decoy_after}; inspect answers as they are, list
                          answers as the ids listed, waits as {early (bytes before the exit), body};
                          `step` names the step whose exchange the promise cites (it must be reached)
    container-events      SystemEvents over the lifecycle's time window with `filters` (`window: until-pause`
                          ends it between the pause and the unpause): {life, decoy, volume: [actions of each
                          in order], attrs: {action: Actor.Attributes of the lifecycle's last such event}}
    container-top         ContainerTop of `container` with `query`: the answer plus {rows, mismatched (rows
                          whose length is not that of Titles), columns: {title: [values]}}; `main_pid: true`
                          also wants the container's State.Pid in the PID column
    container-stats       ContainerStats of `container`: `part` sample (stream=false), one-shot (with
                          one-shot=true) or stream: {samples, chain (each preread is the read before),
                          gaps (seconds between reads)}; on a real engine the three are read at once, as each
                          takes a collection cycle or two (about a second each), begun when the lifecycle begins
    container-list-created  the promise_container's Created in ContainerList against inspect's
"""

from __future__ import annotations

import json
import re
import time
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import docker.errors

from conformance.exchange import expand_path
from conformance.scenarios import render
from conformance.versions import parse
from conformance.wire import Conn, Limits, WireError, open_conn, read_body, read_chunked, request
from plugins.fixtures import _quietly, unique_name
from suites.promise_checks.generic import judge, nodes
from suites.promise_checks.runtime import PromiseBroken, PromiseRun, at, has

LIFE_LABEL = "com.docker-api-conformance.lifecycle"
ZERO_TIME = "0001-01-01T00:00:00Z"
KEEP_ALIVE = ["sleep", "600"]
WAIT_LIMITS = Limits(max_bytes=64 * 1024, seconds=10.0)
PEEK = Limits(max_bytes=64 * 1024, seconds=0.05)  # a wait that answers before the exit has answered by then
STATS_LIMITS = Limits(max_bytes=1024 * 1024, seconds=5.0)
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})")


def epoch(text: Any) -> float | None:
    """Seconds since the epoch of an RFC 3339 time (None for anything else and for Go's zero time)."""
    found = _TIME.fullmatch(str(text).strip())
    if not found or found[1].startswith("0001-"):
        return None
    zone = "+00:00" if found[3] == "Z" else found[3]
    base = datetime.fromisoformat(found[1] + zone).astimezone(timezone.utc)
    return base.timestamp() + int((found[2] or "0").ljust(9, "0")) / 1e9


def _nanos(ns: int) -> str:
    """A since/until value with nanoseconds, as the Engine parses them."""
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


# --- rules -----------------------------------------------------------------------------------

def _in_order(found: Any, wanted: list[Any]) -> bool:
    rest = iter(found if isinstance(found, list) else [])
    return all(any(item == w for item in rest) for w in wanted)


def _rules(run: PromiseRun, doc: Any, rules: list[dict[str, Any]]) -> None:
    for rule in rules:
        if "times_in_order" in rule:
            pointers = rule["times_in_order"]
            times = [epoch(at(doc, p)) if has(doc, p) else None for p in pointers]
            shown = [at(doc, p) if has(doc, p) else "(missing)" for p in pointers]
            ordered = None not in times and all(a <= b for a, b in zip(times, times[1:], strict=False))  # type: ignore[operator]
            run.expect(ordered, f"{' <= '.join(pointers)} does not hold: {shown}")
            continue
        found = nodes(doc, rule["pointer"])
        if "excludes" in rule:
            if not found:
                run.broken(f"{rule['pointer']} is missing")
            for where, value in found:
                run.expect(not (isinstance(value, list) and rule["excludes"] in value),
                           f"{where} lists {rule['excludes']!r} (among {len(value)})", where)
        elif "in_order" in rule:
            if not found:
                run.broken(f"{rule['pointer']} is missing")
            for where, value in found:
                run.expect(_in_order(value, rule["in_order"]), f"{where}: {value!r} does not hold "
                           f"{rule['in_order']!r} in this order", where)
        elif "at_most" in rule:
            if not found:
                run.broken(f"{rule['pointer']} is missing")
            for where, value in found:
                run.expect(isinstance(value, (int, float)) and value <= rule["at_most"],
                           f"{where}: {value!r}, expected a number <= {rule['at_most']}", where)
        else:
            judge(run, doc, rule)


def _params(run: PromiseRun, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return render(run.params, {**run.context(run.params.get("needs", ())), **(extra or {})})


# --- raw connections (a wait that must block, a stream read in part) --------------------------

def _open(run: PromiseRun) -> Conn:
    state = run.engine.state
    return open_conn(state.config, state.url, timeout=min(state.config.timeout, 10.0))


def _path(run: PromiseRun, op_id: str, path: dict[str, str], query: str = "") -> tuple[str, str]:
    op = run.engine.operation(op_id)
    return op.method, f"/v{run.version}{expand_path(op.path, path)}{query}"


def _open_wait(run: PromiseRun, cid: str, condition: str, conns: list[Conn]) -> tuple[Conn, Any]:
    """A ContainerWait whose head has come (the Engine sends it once the wait is registered, from 1.30)."""
    conn = _open(run)
    conns.append(conn)  # closed by the caller, whatever happens
    method, path = _path(run, "ContainerWait", {"id": cid}, f"?condition={condition}" if condition else "")
    raw = request(conn, "ContainerWait", run.version, method, path, limits=WAIT_LIMITS, read_body_too=False)
    if raw.head is None or raw.head.status != 200:
        raise PromiseBroken(f"ContainerWait (condition {condition or 'default'}) answered "
                            f"{raw.head.status if raw.head else 'nothing'}: {raw.body.data[:160]!r}")
    early = conn.read_until(lambda buf: bool(buf), PEEK).data  # the wait must still be waiting
    conn.buffer = early + conn.buffer
    return conn, raw


def _finish_wait(conn: Conn, raw: Any) -> dict[str, Any]:
    early = bool(conn.buffer)
    result = read_body(conn, raw.head, WAIT_LIMITS, "POST")
    raw.exchange.body = result.data
    try:
        body = json.loads(result.data)
    except ValueError:
        raise PromiseBroken(f"ContainerWait answered a body that is not JSON ({result.stop}): "
                            f"{result.data[:160]!r}") from None
    return {"early": early, "body": body}


# --- the lifecycle ----------------------------------------------------------------------------

def _mac_request(run: PromiseRun, data: dict[str, Any]) -> dict[str, Any]:
    """The MAC address the lifecycle asks for on bridge: the container-wide Config.MacAddress below 1.44, the
    endpoint's MacAddress from 1.44 (the spec deprecates the first there and drops it at 1.52).  One per run, API
    version and worker, locally administered (02:...), so that lifecycles running side by side never share one."""
    state = run.engine.state
    major, minor = parse(run.version)
    worker = int(re.sub(r"\D", "", state.worker) or 0)  # "gw3" -> 3; "main" -> 0
    run_byte = zlib.crc32(state.run_id.encode()) & 0xFF  # a run id need not be hex (--run-id)
    mac = data["life"]["mac"] = f"02:{run_byte:02x}:ac:dd:{minor % 256:02x}:{worker % 256:02x}"
    if (major, minor) < (1, 44):
        return {"MacAddress": mac}
    return {"NetworkingConfig": {"EndpointsConfig": {"bridge": {"MacAddress": mac}}}}


def _lifecycle(run: PromiseRun) -> dict[str, Any]:
    """create, start, pause, unpause, stop, restart, kill (two waits open), remove one container; then an
    AutoRemove decoy (label value <marker>-decoy, made before the window) runs `exit 3` under a
    condition=removed wait while a volume comes and goes; then the events of it all."""
    state, sdk = run.engine.state, run.sdk
    marker = unique_name(state, "life")
    run_label = "=".join(next(iter(state.label.items())))
    data: dict[str, Any] = {"docs": {}, "exchanges": {}, "done": [], "decoy": "",
                            "life": {"id": "", "name": marker, "image": state.image, "label": f"{LIFE_LABEL}={marker}"}}
    docs, exchanges = data["docs"], data["exchanges"]
    env = state.placement.env() or None
    waits = parse(run.version) >= (1, 30)  # condition= and a head before the exit from 1.30
    prefetch_stats(run, str(run.context(["promise_container"])["promise_container"]))
    since = time.time() - 1
    cid = decoy = volume = ""
    conns: list[Conn] = []

    def step(name: str, op_id: str, path: dict[str, str] | None = None, expect: tuple[int, ...] = (200,),
             **kwargs: Any) -> Any:
        ex = run.engine.send(op_id, path, **kwargs)[1]
        exchanges[name] = ex
        if ex.status not in expect:
            raise PromiseBroken(f"{name}: {op_id} answered {ex.status} (expected {'/'.join(map(str, expect))}): "
                                f"{ex.excerpt(200)}")
        data["done"].append(name)  # reached with the status it needs (its exchange is kept either way)
        return ex.json() if ex.body and ex.status != 204 else {"status": ex.status}

    def inspect(name: str, paused: bool | None = None) -> None:
        docs[name] = step(name, "ContainerInspect", {"id": cid})
        # dockerd applies containerd's paused/resumed events asynchronously (daemon/monitor.go), so a pause event
        # handled after an unpause can show "paused" for a moment: the state must settle, within 2 s.
        deadline = time.monotonic() + 2
        while paused is not None and docs[name].get("State", {}).get("Paused") is not paused \
                and time.monotonic() < deadline:
            time.sleep(0.05)
            docs[name] = step(name, "ContainerInspect", {"id": cid})

    def listed(name: str, status: str) -> None:
        query = {"all": True, "filters": json.dumps({"status": [status], "label": [run_label]})}
        docs[name] = [item.get("Id") for item in step(name, "ContainerList", query=query) or []]

    try:
        # Named apart from the lifecycle: the Engine matches container=<name> in events as a prefix.
        decoy = data["decoy"] = sdk.create_container(
            state.image, command=["sh", "-c", "exit 3"], name=unique_name(state, "decoy"), environment=env,
            labels={**state.label, LIFE_LABEL: f"{marker}-decoy"},
            host_config=sdk.create_host_config(auto_remove=True))["Id"]
        body = {"Image": state.image, "Cmd": KEEP_ALIVE, "Labels": {**state.label, LIFE_LABEL: marker},
                "HostConfig": {"NetworkMode": "bridge"}, **({"Env": env} if env else {}), **_mac_request(run, data)}
        docs["create"] = step("create", "ContainerCreate", query={"name": marker}, json_body=body, expect=(201,))
        cid = data["life"]["id"] = docs["create"].get("Id", "")
        inspect("created")
        listed("list_created", "created")
        step("start", "ContainerStart", {"id": cid}, expect=(204,))
        inspect("running")
        listed("list_running", "running")
        step("pause", "ContainerPause", {"id": cid}, expect=(204,))
        inspect("paused", paused=True)
        listed("list_paused", "paused")
        step("unpause", "ContainerUnpause", {"id": cid}, expect=(204,))
        inspect("unpaused", paused=False)
        step("stop", "ContainerStop", {"id": cid}, query={"t": 0}, expect=(204,))
        inspect("stopped")
        listed("list_exited", "exited")
        step("restart", "ContainerRestart", {"id": cid}, query={"t": 0}, expect=(204,))
        inspect("restarted")
        opened = [_open_wait(run, cid, condition, conns) for condition in ("", "next-exit")] if waits else []
        step("kill", "ContainerKill", {"id": cid}, expect=(204,))
        for name, (conn, raw) in zip(("wait_running", "wait_next"), opened, strict=False):
            docs[name] = _finish_wait(conn, raw)
            exchanges[name] = raw.exchange
        if not waits:
            step("wait_after_kill", "ContainerWait", {"id": cid})
        inspect("killed")
        step("remove", "ContainerDelete", {"id": cid}, expect=(204,))
        docs["removed"] = {"status": run.engine.send("ContainerInspect", {"id": cid})[1].status}
        removal = _open_wait(run, decoy, "removed", conns) if waits else None
        volume = sdk.create_volume(state.placement.scoped_name(f"{marker}-vol"), labels=state.label)["Name"]
        sdk.remove_volume(volume)
        sdk.start(decoy)
        if removal is not None:
            docs["wait_removed"] = _finish_wait(*removal)
            exchanges["wait_removed"] = removal[1].exchange
            docs["decoy_after"] = {"status": run.engine.send("ContainerInspect", {"id": decoy})[1].status}
        else:
            _quietly(sdk.wait, decoy, timeout=30)  # 404 once it is gone
        data["events"] = _base_events(run, since, cid, decoy, volume)
    except (PromiseBroken, docker.errors.APIError, WireError, OSError, ValueError) as exc:
        data["broken"] = f"{type(exc).__name__}: {exc}" if not isinstance(exc, PromiseBroken) else str(exc)
    finally:
        for conn in conns:
            conn.close()
        for ref in (cid, decoy):
            if ref:
                _quietly(sdk.remove_container, ref, force=True)
        if volume:
            _quietly(sdk.remove_volume, volume, force=True)  # gone already, unless the sequence broke
    return data


def _records(body: bytes) -> list[dict[str, Any]]:
    """Event records of a finished events stream (newline-delimited, with or without RS framing)."""
    out = []
    for line in body.replace(b"\x1e", b"\n").split(b"\n"):
        if line.strip():
            try:
                record = json.loads(line)
            except ValueError:
                raise PromiseBroken(f"SystemEvents sent a record that is not JSON: {line[:120]!r}") from None
            if isinstance(record, dict):
                out.append(record)
    return out


def _events(run: PromiseRun, since: str, until: str, filters: dict[str, Any] | None) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"since": since, "until": until}
    if filters:
        query["filters"] = json.dumps(filters)
    ex = run.send("SystemEvents", query=query)
    return _records(ex.body)


def _base_events(run: PromiseRun, since: float, cid: str, decoy: str, volume: str) -> dict[str, Any]:
    """The window the events promises query: from between the decoy's create and the lifecycle's to just
    after the last event; and a point between the pause and the unpause."""
    records = _events(run, f"{since:.9f}", f"{time.time():.9f}", None)
    mine = [r for r in records if (r.get("Actor") or {}).get("ID") in (cid, decoy, volume)]
    first = {(r["Actor"]["ID"], r.get("Action")): r.get("timeNano", 0) for r in reversed(mine)}
    needed = {"the decoy's create": (decoy, "create"), "create": (cid, "create"), "pause": (cid, "pause"),
              "unpause": (cid, "unpause")}
    lacking = [what for what, key in needed.items() if key not in first]
    if lacking:
        raise PromiseBroken(f"SystemEvents over the lifecycle's time lacks {', '.join(lacking)} ({len(mine)} of "
                            f"its {len(records)} events are the lifecycle's)")
    return {"since": _nanos((first[(decoy, "create")] + first[(cid, "create")]) // 2),
            "until": _nanos(max(r.get("timeNano", 0) for r in mine) + 1_000_000),
            "mid": _nanos((first[(cid, "pause")] + first[(cid, "unpause")]) // 2),
            "volume": volume}


def _recording(run: PromiseRun) -> dict[str, Any]:
    return run.once("container-lifecycle", _lifecycle)


def lifecycle(run: PromiseRun) -> None:
    data = _recording(run)
    step = run.params["step"]
    if step not in data["docs"] and step not in data["done"]:
        raise PromiseBroken(data.get("broken") or f"the lifecycle did not reach {step!r}")
    run.last = data["exchanges"].get(step, run.last)
    params = _params(run, {"life": data["life"], "decoy": data["decoy"]})
    _rules(run, data["docs"], params.get("expect", []))


def events(run: PromiseRun) -> None:
    data = _recording(run)
    if "events" not in data:
        raise PromiseBroken(data.get("broken") or "the lifecycle's events were not recorded")
    window = data["events"]
    params = _params(run, {"life": data["life"], "decoy": data["decoy"]})
    until = window["mid"] if params.get("window") == "until-pause" else window["until"]
    records = _events(run, window["since"], until, params.get("filters"))
    who = {data["life"]["id"]: "life", data["decoy"]: "decoy", window["volume"]: "volume"}
    doc: dict[str, Any] = {"life": [], "decoy": [], "volume": [], "attrs": {}}
    for record in records:
        actor = record.get("Actor") or {}
        name = who.get(actor.get("ID"))
        if name:
            doc[name].append(record.get("Action"))
            if name == "life":
                doc["attrs"][record.get("Action")] = actor.get("Attributes") or {}
    _rules(run, doc, params.get("expect", []))


# --- top, stats, list -------------------------------------------------------------------------

def top(run: PromiseRun) -> None:
    params = _params(run)
    cid = params["container"]
    doc = run.json("ContainerTop", {"id": cid}, query=params.get("query"))
    titles, rows = doc.get("Titles") or [], doc.get("Processes") or []
    doc["rows"] = len(rows)
    doc["mismatched"] = [i for i, row in enumerate(rows) if not isinstance(row, list) or len(row) != len(titles)]
    doc["columns"] = {t: [row[i] for row in rows if isinstance(row, list) and i < len(row)]
                      for i, t in enumerate(titles) if isinstance(t, str)}
    exchange = run.last
    if params.get("main_pid"):
        pid = str(run.json("ContainerInspect", {"id": cid}).get("State", {}).get("Pid"))
        found = doc["columns"].get("PID")
        run.expect(found is not None and pid in found, f"the PID column {found!r} lacks the container's main "
                   f"process (State.Pid {pid})", "/Processes")
    run.last = exchange
    _rules(run, doc, params.get("expect", []))


def _stats_query(part: str) -> str:
    return {"sample": "?stream=false", "one-shot": "?stream=false&one-shot=true", "stream": "?stream=true"}[part]


def _stats_part(run: PromiseRun, cid: str, part: str) -> tuple[Any, Any]:
    """(document, exchange) of one ContainerStats read, on a connection of its own (several run at once)."""
    conn = _open(run)
    try:
        method, path = _path(run, "ContainerStats", {"id": cid}, _stats_query(part))
        raw = request(conn, "ContainerStats", run.version, method, path, limits=STATS_LIMITS,
                      read_body_too=part != "stream")
        if raw.head is None or raw.head.status != 200:
            return {"broken": f"ContainerStats ({part}) answered {raw.head.status if raw.head else 'nothing'}: "
                              f"{raw.body.data[:160]!r}"}, raw.exchange
        if part != "stream":
            try:
                return json.loads(raw.body.data), raw.exchange
            except ValueError:
                return {"broken": f"ContainerStats ({part}) is not one JSON object: {raw.body.data[:160]!r}"}, \
                    raw.exchange
        body = read_chunked(conn, STATS_LIMITS, done=lambda out: out.count(b"\n") >= 2)
        raw.exchange.body = body.data
        samples = [json.loads(line) for line in body.data.split(b"\n")[:2] if line.strip()]
        reads = [epoch(s.get("read")) for s in samples]
        return {"samples": len(samples), "reads": [s.get("read") for s in samples],
                "chain": [b.get("preread") == a.get("read") for a, b in zip(samples, samples[1:], strict=False)],
                "gaps": [round(b - a, 3) if a is not None and b is not None else None
                         for a, b in zip(reads, reads[1:], strict=False)]}, raw.exchange
    except ValueError as exc:
        return {"broken": f"ContainerStats ({part}): {exc}"}, None
    finally:
        conn.close()


def _all_stats(run: PromiseRun, cid: str) -> dict[str, tuple[Any, Any]]:
    parts = ["sample", "stream"] + (["one-shot"] if parse(run.version) >= (1, 41) else [])
    with ThreadPoolExecutor(len(parts)) as pool:
        return dict(zip(parts, pool.map(lambda part: _stats_part(run, cid, part), parts), strict=True))


# Stats read in the background while the lifecycle runs (a real engine only): (API version, container) -> future.
_PREFETCHED: dict[tuple[str, str], Future[dict[str, tuple[Any, Any]]]] = {}
_BACKGROUND = ThreadPoolExecutor(1, thread_name_prefix="dac-stats")


def prefetch_stats(run: PromiseRun, cid: str) -> None:
    """Start reading the stats promises' samples of `cid` now: on a real engine they take a second or two of
    waiting for its collector, which the lifecycle's requests can fill."""
    if run.engine.state.fake is None and (run.version, cid) not in _PREFETCHED:
        _PREFETCHED[(run.version, cid)] = _BACKGROUND.submit(_all_stats, run, cid)


def _stats_of(run: PromiseRun, cid: str) -> dict[str, tuple[Any, Any]]:
    started = _PREFETCHED.pop((run.version, cid), None)
    return started.result(timeout=30) if started is not None else _all_stats(run, cid)


def stats(run: PromiseRun) -> None:
    params = _params(run)
    cid, part = params["container"], params["part"]
    if run.engine.state.fake is not None:  # instant there: each part on its own, only when a promise needs it
        doc, exchange = run.once(f"container-stats-{part}-{cid}", lambda r: _stats_part(r, cid, part))
    else:  # a collection cycle each on a real engine: all three at once (begun during the lifecycle)
        doc, exchange = run.once(f"container-stats-{cid}", lambda r: _stats_of(r, cid))[part]
    run.last = exchange or run.last
    if "broken" in doc:
        raise PromiseBroken(doc["broken"])
    _rules(run, doc, params.get("expect", []))


def list_created(run: PromiseRun) -> None:
    """ContainerList's Created (unix seconds) is inspect's Created (RFC 3339), in whole seconds."""
    params = _params(run)
    cid = params["container"]
    inspected = epoch(run.json("ContainerInspect", {"id": cid}).get("Created"))
    items = run.json("ContainerList", query={"all": True, "filters": json.dumps({"id": [cid]})})
    item = next((i for i in items if isinstance(i, dict) and i.get("Id") == cid), None)
    if item is None or inspected is None:
        raise PromiseBroken(f"ContainerList lists no {cid[:12]} or inspect's Created is no time ({inspected})")
    run.equal(item.get("Created"), int(inspected), "ContainerList Created (inspect's Created in unix seconds)",
              "/0/Created")


CHECKERS = {"container-lifecycle": lifecycle, "container-events": events, "container-top": top,
            "container-stats": stats, "container-list-created": list_created}
