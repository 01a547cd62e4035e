"""Allure results for the conformance tests (active only with --alluredir, i.e. allure-pytest's listener).

Labels: parentSuite = target, suite = API version, feature = tag, story = operation.  History
follows (operation, scenario, API version, target kind and address): the engine release is a
displayed but excluded parameter, so an engine upgrade continues the same history.  Exchanges
of checks that did not pass are attached, redacted.  At session end the controller writes
environment.properties and categories.json (engine deviation, spec erratum, suite error) into
the results directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import allure
import pytest
from allure_commons.model2 import StatusDetails
from allure_commons.utils import md5

from conformance import about, matrix
from conformance.recorder import USER_PROPERTY
from conformance.redact import redact_text
from plugins.reporting import TEST_PROPERTY, suite_version
from plugins.session import get_state

EXPLAINED_KEY = pytest.StashKey[str]()
LISTENER = "allure_listener"  # allure-pytest registers its listener under this name
CATEGORIES = [
    {"name": "Known engine deviation", "matchedStatuses": ["skipped"], "messageRegex": "(?s).*known-deviation.*"},
    {"name": "Spec erratum", "matchedStatuses": ["skipped"], "messageRegex": "(?s).*spec-erratum.*"},
    {"name": "Suite error (the suite itself broke)", "matchedStatuses": ["broken"]},
    {"name": "Engine does not conform", "matchedStatuses": ["failed"]},
]


def _listener(config: pytest.Config) -> Any:
    return config.pluginmanager.get_plugin(LISTENER)


def _meta(item: pytest.Item) -> dict[str, str] | None:
    return next((v for n, v in item.user_properties if n == TEST_PROPERTY), None)


def history_key(meta: dict[str, str], target: dict[str, Any]) -> str:
    """What one test case is across runs: operation/scenario (or test), API version, target slot."""
    case = f"{meta['operation']}-{meta['scenario']}" if meta.get("operation") else meta.get("test", "")
    return f"{case}@{meta.get('version') or '-'}@{matrix.target_slot(target)}"


def pytest_runtest_setup(item: pytest.Item) -> None:
    # A plain hook runs inside allure's setup wrapper: the test result exists, its parameters are not yet
    # filled from callspec (so ours, set first, take their place).
    state = get_state(item.config)
    meta = _meta(item)
    if state is None or meta is None or _listener(item.config) is None:
        return
    target = state.target.as_dict()
    allure.dynamic.parent_suite(matrix.target_id(target))
    if meta.get("version"):
        allure.dynamic.suite(f"API {meta['version']}")
    if meta.get("tag"):
        allure.dynamic.feature(meta["tag"])
    if meta.get("promise"):
        allure.dynamic.label("promise", meta["promise"])
        allure.dynamic.tag(f"promise:{meta['promise']}")
    if meta.get("operation"):
        allure.dynamic.story(meta["operation"])
        allure.dynamic.sub_suite(meta["operation"])
    params = item.callspec.params if hasattr(item, "callspec") else {}
    # Set before allure fills them from callspec: the scenario shows as its name, not the whole object.
    for name in params:
        shown = meta.get(name) if name in ("scenario", "promise") else params[name]
        allure.dynamic.parameter(name, str(shown))
    if meta.get("operation"):
        allure.dynamic.parameter("operation", meta["operation"])
    allure.dynamic.parameter("target", matrix.target_slot(target))
    allure.dynamic.parameter("engine", str(target.get("engine_version")), excluded=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    result = yield
    # Outermost wrapper: runs after allure's own teardown code set testCaseId/historyId from the test name.
    state, meta, listener = get_state(item.config), _meta(item), _listener(item.config)
    if state is None or meta is None or listener is None:
        return result
    test_result = getattr(listener, "allure_logger", None) and listener.allure_logger.get_test(None)
    if test_result is not None:
        key = history_key(meta, state.target.as_dict())
        test_result.testCaseId = md5("docker-api-conformance", key.rsplit("@", 2)[0])
        test_result.historyId = md5("docker-api-conformance", key)
        explained = item.stash.get(EXPLAINED_KEY, None)
        if explained and test_result.statusDetails is None:
            # An explained problem (erratum, deviation): say which, so categories.json can sort it.
            test_result.statusDetails = StatusDetails(message=redact_text(explained))
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if call.when == "call" and getattr(report, "wasxfail", None):
        item.stash[EXPLAINED_KEY] = str(report.wasxfail)
    if call.when == "call" and _listener(item.config) is not None:
        meta = _meta(item) or {}
        recorded = sorted({(v["tag"], v["operation"]) for n, v in item.user_properties if n == USER_PROPERTY})
        if not meta.get("operation") and recorded:
            # Not a scenario test: its operations are known only from what it recorded.
            allure.dynamic.feature(*sorted({tag for tag, _ in recorded}))
            allure.dynamic.story(*[op for _, op in recorded])
        for name, value in item.user_properties:
            if name == USER_PROPERTY and value.get("state") != "pass" and value.get("exchange"):
                body = redact_text(json.dumps({"findings": value.get("findings"), **value["exchange"]}, indent=1))
                allure.attach(body, name=f"{value['operation']} {value['scenario']}: request/response (redacted)",
                              attachment_type=allure.attachment_type.JSON)
    return report


def environment(state: Any) -> dict[str, str]:
    target = state.target
    return {"target": matrix.target_id(target.as_dict()), "target.kind": target.kind,
            "engine.version": target.engine_version, "api.range": f"{target.api_min}-{target.api_max}",
            "api.versions": ",".join(state.selection.run), "os.arch": f"{target.os}/{target.arch}",
            "suite.version": suite_version(), "suite.package": about.__version__,
            "spec.commit": about.spec_upstream().get("commit", ""), "test.image": state.image, "run.id": state.run_id}


def _property_line(key: str, value: str) -> str:
    escaped = redact_text(str(value)).replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=")
    return f"{key}={escaped}"


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    alluredir = getattr(config.option, "allure_report_dir", None)
    state = get_state(config)
    if not alluredir or state is None or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    out = Path(alluredir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "environment.properties").write_text(
        "".join(_property_line(k, v) + "\n" for k, v in environment(state).items()))
    (out / "categories.json").write_text(json.dumps(CATEGORIES, indent=1))
