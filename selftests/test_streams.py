"""Each stream validator fails on a corrupt input of its kind, with a message naming what was wrong."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml

from conformance import streams as st
from conformance.exchange import Exchange
from conformance.fake.build import context_tar as make_tar
from conformance.scenarios import load_scenarios


def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def messages(problems: list) -> str:
    return " | ".join(p.message for p in problems)


# --- multiplexed frames ---------------------------------------------------------------------

def test_mux_well_formed() -> None:
    data = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"")
    assert st.mux_frames(data, expect={1: b"out\n", 2: b"err\n"}) == []
    parsed = st.parse_mux(data)
    assert (parsed.payload(1), parsed.payload(2), parsed.consumed) == (b"out\n", b"err\n", len(data))


def test_mux_bad_stream_byte_names_offset() -> None:
    data = frame(1, b"ok") + bytes([3, 0, 0, 0, 0, 0, 0, 1]) + b"x"
    found = messages(st.mux_frames(data))
    assert "bad stream byte 3 at byte 10" in found


def test_mux_nonzero_padding() -> None:
    found = messages(st.mux_frames(bytes([1, 0, 7, 0, 0, 0, 0, 1]) + b"x"))
    assert "non-zero padding 000700" in found and "at byte 0" in found


def test_mux_short_frame() -> None:
    found = messages(st.mux_frames(frame(1, b"abc") + bytes([2, 0, 0, 0, 0, 0, 0, 9]) + b"only4"))
    assert "short frame at byte 11: header says 9 bytes, 5 follow" in found


def test_mux_truncated_header() -> None:
    assert "truncated frame header at byte 10: 3 of 8" in messages(st.mux_frames(frame(1, b"ab") + b"\x01\0\0"))


def test_mux_live_stream_may_end_mid_frame() -> None:
    data = frame(1, b"abc") + frame(1, b"defgh")[:5]
    assert st.mux_frames(data, complete=False) == []
    assert st.mux_frames(data) != []


def test_mux_expected_content_missing() -> None:
    assert "stdout frames carry b'nope'" in messages(st.mux_frames(frame(1, b"nope"), expect={1: b"hello"}))


def test_raw_stream() -> None:
    assert st.raw_stream(b"out\r\n", b"out\n") == []
    assert "multiplexed" in messages(st.raw_stream(frame(1, b"out\n"), b"out\n"))
    assert "lacks" in messages(st.raw_stream(b"other\n", b"out\n"))


@pytest.mark.parametrize(("produces", "media", "tty", "fragment"), [
    ((st.RAW, st.MULTIPLEXED), st.RAW, False, "expected application/vnd.docker.multiplexed-stream"),
    ((st.RAW, st.MULTIPLEXED), st.MULTIPLEXED, True, "expected application/vnd.docker.raw-stream"),
    ((st.RAW, st.MULTIPLEXED), "", False, "'(none)'"),
    ((st.RAW,), "text/plain", False, "is not declared"),
    (("application/json", "text/plain"), "", False, "no Content-Type"),
])
def test_stream_content_type_problems(produces: tuple, media: str, tty: bool, fragment: str) -> None:
    assert fragment in messages(st.stream_content_type(produces, media, tty))


def test_stream_content_type_ok() -> None:
    assert st.stream_content_type((st.RAW, st.MULTIPLEXED), st.MULTIPLEXED, False) == []
    assert st.stream_content_type((st.RAW,), st.RAW, False) == []


# --- JSON streams ---------------------------------------------------------------------------

def test_json_lines() -> None:
    records, problems = st.json_lines(b'{"a":1}\n{"b":2}\n')
    assert records == [{"a": 1}, {"b": 2}] and problems == []
    _, problems = st.json_lines(b'{"a":1}\nnot json\n[1]\n')
    found = messages(problems)
    assert "line 1 at byte 8 is not JSON" in found and "line 2 at byte 17 is a JSON list" in found


def test_json_lines_rejects_rs() -> None:
    assert "RS (0x1E)" in messages(st.json_lines(b'\x1e{"a":1}\n')[1])


def test_json_lines_live_stream_cut() -> None:
    assert st.json_lines(b'{"a":1}\n{"b":', complete=False) == ([{"a": 1}], [])
    assert st.json_lines(b'{"a":1}\n{"b":')[1]


def test_json_seq() -> None:
    assert st.json_seq(b'\x1e{"a":1}\n\x1e{"b":2}\n') == ([{"a": 1}, {"b": 2}], [])
    assert "does not start with RS (0x1E) at byte 0" in messages(st.json_seq(b'{"a":1}\n')[1])
    assert "record at byte 1 does not end with LF" in messages(st.json_seq(b'\x1e{"a":1}\x1e{"b":2}\n')[1])
    assert "is not JSON" in messages(st.json_seq(b'\x1e{oops\n')[1])


def test_single_json_object() -> None:
    assert st.single_json_object(b'{"read":"x"}\n') == ({"read": "x"}, [])
    assert "do not parse as one" in messages(st.single_json_object(b'{"a":1}\n{"a":2}\n')[1])


def test_progress_stream() -> None:
    ok = [{"status": "Downloading"}, {"stream": "Step 1/2"}]
    assert st.progress_stream(ok, expect_error=False) == []
    assert "no in-stream error" in messages(st.progress_stream(ok, expect_error=True))
    bad = [{"error": "boom"}]
    assert "errorDetail.message" in messages(st.progress_stream(bad, expect_error=True))
    good_error = [{"errorDetail": {"message": "boom"}, "error": "boom"}]
    assert st.progress_stream(good_error, expect_error=True) == []
    assert "unexpected in-stream error" in messages(st.progress_stream(good_error, expect_error=False))


def event(action: str, actor: str = "c1", **attrs: str) -> dict:
    return {"Type": "container", "Action": action, "Actor": {"ID": actor, "Attributes": dict(attrs)},
            "time": 1700000000, "timeNano": 1700000000123456789}


def test_event_shape() -> None:
    assert st.event_shape(event("start"), 0) == []
    broken = {"Type": "container", "Action": "start", "Actor": {"ID": 5}, "time": "x", "timeNano": 1}
    found = messages(st.event_shape(broken, 3))
    assert "event 3: `time` missing or not int" in found and "Actor.ID" in found and "Actor.Attributes" in found
    skewed = event("start") | {"timeNano": 5}
    assert "is not time" in messages(st.event_shape(skewed, 0))


def test_event_sequence_and_filter() -> None:
    events = [event("create"), event("attach"), event("start"), event("die"), event("destroy")]
    assert st.event_sequence(events, "c1", ["create", "start", "die", "destroy"]) == []
    assert "missing from 'die'" in messages(st.event_sequence(events[:3], "c1", ["create", "start", "die"]))
    assert st.event_filter(events, {"container": ["c1"], "type": ["container"]}) == []
    stray = events + [event("start", actor="other", lbl="x")]
    assert "does not match filter container=['c1']" in messages(st.event_filter(stray, {"container": ["c1"]}))
    assert "filter label" in messages(st.event_filter([event("start", k="v")], {"label": ["k=w"]}))
    assert "filter event" in messages(st.event_filter(events, {"event": ["start"]}))


def test_event_filter_refuses_a_key_it_cannot_check() -> None:
    """An unknown key was a silent pass; now it is the suite's own error (never a verdict about the target)."""
    with pytest.raises(ValueError, match="cannot check the filter key.*colour"):
        st.event_filter([event("start")], {"colour": ["blue"]})
    with pytest.raises(ValueError):
        st.event_filter([], {"type": ["container"], "no-such-key": ["x"]})  # even with no events to judge


def test_event_filter_knows_every_key_the_spec_documents() -> None:
    """The keys of the SystemEvents `filters` description ("- `config=<string>` ...") in the upstream spec files."""
    specs = sorted((Path(__file__).resolve().parents[2] / "shared" / "specs" / "engine").glob("v1.*.yaml"))
    if not specs:
        pytest.skip("the upstream spec files (../shared/specs/engine) are not here")
    documented = set()
    for path in specs:
        spec = yaml.safe_load(path.read_text())
        param = next(p for p in spec["paths"]["/events"]["get"]["parameters"] if p["name"] == "filters")
        documented |= set(re.findall(r"^- `(\w+)", param["description"], re.M))
    assert documented == set(st.EVENT_FILTER_KEYS)


def test_every_event_filter_the_suite_sends_is_checked() -> None:
    from suites.test_streams import EVENT_FILTERS

    lifecycle = {"id": "c1", "label": "k=v"}
    sent = {key for make in EVENT_FILTERS.values() for key in make(lifecycle)}
    for scenario in load_scenarios()["SystemEvents"]:
        filters = scenario.query.get("filters")
        if isinstance(filters, dict) and all(200 <= s < 300 for s in scenario.expect):
            assert "event_filter" in scenario.checks, f"SystemEvents {scenario.name} sends filters nothing judges"
            sent |= set(filters)
    assert sent and sent <= set(st.EVENT_FILTER_KEYS)


def test_event_filter_matching_follows_the_engine() -> None:
    ctr = event("start", actor="abcdef123456", name="web", image="busybox:latest", k="v")
    match = [({"container": ["abcdef"]}, True), ({"container": ["web"]}, True), ({"container": ["zzz"]}, False),
             ({"image": ["busybox"]}, True), ({"image": ["busybox:latest"]}, True), ({"image": ["alpine"]}, False),
             ({"volume": ["abc"]}, True), ({"network": ["n1"]}, False), ({"scope": ["local"]}, False),
             ({"label": ["k"]}, True), ({"label": {"k=v": True}}, True), ({"label": ["k=w"]}, False),
             ({"type": []}, True)]
    for filters, ok in match:
        assert (st.event_filter([ctr], filters) == []) is ok, filters
    scoped = ctr | {"scope": "local"}
    assert st.event_filter([scoped], {"scope": ["local"]}) == []
    image = {"Type": "image", "Action": "pull",
             "Actor": {"ID": "sha256:1234", "Attributes": {"name": "docker.io/library/busybox:1"}}}
    assert st.event_filter([image], {"image": ["busybox"]}) == []
    exec_start = event("exec_start: sh -c true")
    assert st.event_filter([exec_start], {"event": ["exec_start"]}) == []
    assert st.event_filter([exec_start], {"event": ["start"]}) != []


def test_events_filtered_judges_a_scenario_response_against_its_request() -> None:
    filters = json.dumps({"type": ["container"], "label": ["k=v"]})
    body = (json.dumps(event("start", k="v")) + "\n" + json.dumps(event("die", k="x")) + "\n").encode()
    ex = Exchange("SystemEvents", "1.41", "GET", f"/v1.41/events?{urlencode({'filters': filters})}", {}, None,
                  status=200, body=body)
    found = st.SCENARIO_CHECKS["event_filter"](ex)
    assert [p.check for p in found] == ["event_filter"] and "event 1" in found[0].message
    ex.status = 400
    assert st.SCENARIO_CHECKS["event_filter"](ex) == []


def test_single_json_object_problems_are_recorded_under_its_own_check() -> None:
    for body in (b'{"a":1}\n{"a":2}\n', b"[1]", b""):
        _, problems = st.single_json_object(body)
        assert problems and {p.check for p in problems} == {"single_json_object"}, body


def test_log_timestamps() -> None:
    assert st.log_timestamps([b"2024-01-02T03:04:05.123456789Z out", b"2024-01-02T03:04:05Z b"]) == []
    assert "line 1 lacks an RFC 3339" in messages(st.log_timestamps([b"2024-01-02T03:04:05.1Z a", b"plain"]))


# --- tar and path stat ----------------------------------------------------------------------

def test_tar_body() -> None:
    data = make_tar({"a.txt": b"hello"})
    members, problems = st.tar_body(data, ["a.txt"])
    assert problems == [] and st.tar_file(data, "a.txt") == b"hello"
    assert "tar lacks ['b.txt']" in messages(st.tar_body(data, ["b.txt"])[1])
    assert "not a valid tar" in messages(st.tar_body(b"not a tar" * 100)[1])
    assert "empty body" in messages(st.tar_body(b"")[1])


def test_tar_body_truncated() -> None:
    data = make_tar({"big.bin": b"x" * 5000})
    assert "truncated" in messages(st.tar_body(data[:1200])[1]) or "not a valid tar" in messages(
        st.tar_body(data[:1200])[1])


def test_image_archive() -> None:
    manifest = json.dumps([{"Config": "c.json", "RepoTags": ["x:t"], "Layers": ["l/layer.tar"]}]).encode()
    good = make_tar({"manifest.json": manifest, "c.json": b"{}", "l/layer.tar": b""})
    assert st.image_archive(good) == []
    missing_layer = make_tar({"manifest.json": manifest, "c.json": b"{}"})
    assert "names 'l/layer.tar', not in the tar" in messages(st.image_archive(missing_layer))
    assert "lacks ['manifest.json']" in messages(st.image_archive(make_tar({"c.json": b"{}"})))
    assert "not JSON" in messages(st.image_archive(make_tar({"manifest.json": b"{"})))


def encode_stat(value: dict) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


GOOD_STAT = {"name": "passwd", "size": 30, "mode": 420, "mtime": "2026-11-24T13:26:18Z", "linkTarget": ""}


def test_path_stat_header() -> None:
    assert st.decode_path_stat(encode_stat(GOOD_STAT)) == (GOOD_STAT, [])
    assert "is missing" in messages(st.decode_path_stat(None)[1])
    assert "is not base64" in messages(st.decode_path_stat("%%%not base64%%%")[1])
    assert "is not base64 JSON" in messages(st.decode_path_stat(base64.b64encode(b"{nope").decode())[1])
    found = messages(st.decode_path_stat(encode_stat(GOOD_STAT | {"size": "30", "mtime": "yesterday"}))[1])
    assert "`size` missing or not int" in found and "mtime 'yesterday' is not RFC 3339" in found
    no_link = {k: v for k, v in GOOD_STAT.items() if k != "linkTarget"}
    assert "`linkTarget` missing" in messages(st.decode_path_stat(encode_stat(no_link))[1])


# --- upgrades and versioning ----------------------------------------------------------------

def test_upgrade_101() -> None:
    assert st.upgrade_101(101, {"Connection": "Upgrade", "Upgrade": "tcp"}, "tcp") == []
    assert "expected 101 Switching Protocols for Upgrade: tcp, got 200" in messages(
        st.upgrade_101(200, {}, "tcp", b"stream"))
    assert "without `Connection: Upgrade`" in messages(st.upgrade_101(101, {"Upgrade": "tcp"}, "tcp"))
    assert "Sec-WebSocket-Accept" in messages(
        st.ws_upgrade(101, {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Accept": "x"}, "y"))


def test_versioning_checks() -> None:
    assert st.api_version_header({"Api-Version": "1.41"}, "1.41") == []
    assert "missing" in messages(st.api_version_header({}, "1.41"))
    assert "differs" in messages(st.api_version_header({"API-Version": "1.40"}, "1.41"))
    assert st.version_rejected(400, "application/json", b'{"message":"too new"}', "v1.99") == []
    found = messages(st.version_rejected(200, "text/plain", b"too old", "v1.11"))
    assert "expected HTTP 400, got 200" in found and "error Content-Type 'text/plain'" in found
    assert "header OSType is missing" in messages(st.required_headers("cli_headers", {"Api-Version": "1"},
                                                                      st.PING_BASELINE_HEADERS))
