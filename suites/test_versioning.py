"""API versioning on the wire: /vX.Y prefixes, the unversioned path, /_ping headers, unknown paths.

Prefix checks concern the target as a whole (recorded at the highest selected version); /_ping and
unknown paths run at every selected version, with the headers each version's spec declares.
"""

from __future__ import annotations

from conformance import skips
from conformance import streams as st
from conformance.checks import Problem, run_checks
from conformance.versions import fmt, parse
from plugins.calls import EngineCall


def _rejected(target_engine: EngineCall, version: str, scenario: str, what: str) -> None:
    op = target_engine.operation("SystemVersion")
    ex = target_engine.client.request(op.id, version, op.method, op.path)
    problems = st.version_rejected(ex.status, ex.media_type, ex.body, what)
    target_engine.record(op, scenario, ex, {"version_prefix": problems})


def test_prefix_above_max(target_engine: EngineCall) -> None:
    api_max = target_engine.state.target.api_max
    if not api_max:
        skips.skip(skips.PRECONDITION, "the target does not report its maximum API version")
    major, minor = parse(api_max)
    _rejected(target_engine, fmt((major, minor + 1)), "prefix-above-max", f"/v{major}.{minor + 1} above the "
                                                                          f"target's maximum {api_max}")


def test_prefix_below_min(target_engine: EngineCall) -> None:
    api_min = target_engine.state.target.api_min
    if not api_min or parse(api_min) <= (1, 0):
        skips.skip(skips.PRECONDITION, f"the target has no minimum API version above 1.0 (MinAPIVersion: "
                   f"{api_min})")
    major, minor = parse(api_min)
    _rejected(target_engine, fmt((major, minor - 1)), "prefix-below-min", f"/v{major}.{minor - 1} below the "
                                                                          f"target's minimum {api_min}")


def test_unversioned_path(target_engine: EngineCall) -> None:
    """An unversioned path is served, at the target's own (highest) version."""
    op = target_engine.operation("SystemVersion")
    ex = target_engine.client.request(op.id, None, op.method, op.path)
    served = []
    try:
        reported = ex.json().get("ApiVersion")
    except (ValueError, AttributeError):
        reported = None
    if ex.status == 200 and reported != target_engine.state.target.api_max:
        served.append(Problem("version_prefix", f"unversioned /version reports ApiVersion {reported!r}, "
                                                f"the target's maximum is {target_engine.state.target.api_max}"))
    target_engine.check(op, "unversioned", ex, (200,), version_prefix=served,
            api_version_header=st.api_version_header(ex.headers, target_engine.state.target.api_max))


def _ping_problems(engine: EngineCall, op_id: str, headers: dict[str, str]) -> dict[str, list[Problem]]:
    declared = list((engine.operation(op_id).responses.get("200") or {}).get("headers") or {})
    return {
        "ping_headers": st.required_headers("ping_headers", headers, declared),
        "cli_headers": st.required_headers("cli_headers", headers, st.PING_BASELINE_HEADERS),
        "api_version_header": st.api_version_header(headers, engine.state.target.api_max),
    }


def test_ping(engine: EngineCall) -> None:
    """GET /_ping: "OK" with the headers this version declares and those the docker CLI reads."""
    op, ex = engine.send("SystemPing")
    problems = _ping_problems(engine, op.id, ex.headers)
    problems["ping_body"] = [] if ex.body == b"OK" else [Problem("ping_body", f"body {ex.excerpt(40)!r}, "
                                                                              "expected 'OK'")]
    engine.check(op, "headers", ex, (200,), **problems)


def test_ping_head(engine: EngineCall) -> None:
    """HEAD /_ping (1.40+): the same headers, no body."""
    op, ex = engine.send("SystemPingHead")
    problems = _ping_problems(engine, op.id, ex.headers)
    problems["ping_body"] = [] if not ex.body else [Problem("ping_body", f"HEAD answered a body {ex.excerpt(40)!r}")]
    engine.check(op, "headers", ex, (200,), **problems)


def test_unknown_path(engine: EngineCall) -> None:
    """A path no route serves: 404 with ErrorResponse JSON (recorded under SystemPing, the routing probe)."""
    op = engine.operation("SystemPing")
    ex = engine.client.request(op.id, engine.version, "GET", "/dac-no-such-endpoint")
    problems = run_checks(engine.spec, op, ex, ["content_type", "error_body"])  # no route: no declared status
    problems["status_expected"] = [] if ex.status == 404 else [
        Problem("status_expected", f"unknown path answered {ex.status}, expected 404")]
    engine.record(op, "unknown-path", ex, problems)
