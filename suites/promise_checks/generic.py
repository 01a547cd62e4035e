"""Checkers that are data all the way: an answer's fields, and filters that filter.

`answer` sends one request and states what its answer must say:

    with:
      needs: [promise_container]                 # fixtures for the placeholders
      request: {operation: ContainerInspect, path: {id: "{promise_container}"}, query: {size: true}}
      item: {pointer: /Id, equals: "{promise_container}"}   # in a list answer: judge the one item
                                                            # whose pointer equals this (it must be there)
      expect:                                    # each: pointer (`*` = every item/value there) and one test
        - {pointer: /Config/Labels, contains: {"k": "v"}}
        - {pointer: /Name, equals: "/{promise_container.name}"}
        - {pointer: /Id, matches: "^[0-9a-f]{64}$"}
        - {pointer: /SizeRootFs, at_least: 1}

`filter` lists with a filter and checks that the object that matches is there and the one that
does not is not:

    with:
      needs: [promise_container, promise_other_container]
      operation: ContainerList
      query: {all: true}
      filters: {name: ["{promise_container.name}"]}
      items: ""            # pointer of the list in the answer ("" = the answer itself; /Volumes for volumes)
      key: /Id             # what identifies an item (pointer inside it)
      match: "{promise_container}"
      exclude: "{promise_other_container}"
"""

from __future__ import annotations

import re
from typing import Any

from suites.promise_checks.runtime import PromiseBroken, PromiseRun, at, has, same

TESTS = ("equals", "contains", "matches", "at_least", "present", "absent", "one_of", "length")


def nodes(doc: Any, pointer: str) -> list[tuple[str, Any]]:
    """(concrete pointer, value) of every node a pointer with `*` segments names."""
    found = [("", doc)]
    for token in [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]] if pointer else []:
        nxt = []
        for where, node in found:
            if isinstance(node, dict):
                keys = list(node) if token == "*" else [token] if token in node else []
                nxt += [(f"{where}/{k}", node[k]) for k in keys]
            elif isinstance(node, list):
                one = [int(token)] if token.isdigit() and int(token) < len(node) else []
                idx = range(len(node)) if token == "*" else one
                nxt += [(f"{where}/{i}", node[i]) for i in idx]
        found = nxt
    return found


def _contains(found: Any, wanted: Any) -> bool:
    if isinstance(found, dict) and isinstance(wanted, dict):
        return all(k in found and same(found[k], v) for k, v in wanted.items())
    if isinstance(found, list):
        return all(any(same(f, w) for f in found) for w in (wanted if isinstance(wanted, list) else [wanted]))
    if isinstance(found, str) and isinstance(wanted, str):
        return wanted in found
    return False


def judge(run: PromiseRun, doc: Any, rule: dict[str, Any], base: str = "") -> None:
    """One `expect` rule against `doc` (a whole answer or one item of a list answer)."""
    pointer = rule["pointer"]
    tests = [t for t in TESTS if t in rule]
    if len(tests) != 1 or set(rule) - {"pointer", *TESTS} or rule.get("present", True) is not True:
        raise ValueError(f"{run.promise.id}: an expect rule needs a pointer and one of {', '.join(TESTS)}: {rule}")
    test, wanted = tests[0], rule[tests[0]]
    if test == "absent":
        run.expect(not nodes(doc, pointer), f"{base}{pointer} must be absent, found {nodes(doc, pointer)[:1]}",
                   base + pointer)
        return
    found = nodes(doc, pointer)
    if not found:
        run.broken(f"{base}{pointer} is missing from the answer")
        return
    for where, value in found:
        here = base + where
        if test == "equals":
            run.equal(value, wanted, here, here)
        elif test == "contains":
            run.expect(_contains(value, wanted), f"{here}: {value!r} does not contain {wanted!r}", here)
        elif test == "matches":
            run.expect(isinstance(value, str) and re.search(wanted, value) is not None,
                       f"{here}: {value!r} does not match {wanted!r}", here)
        elif test == "at_least":
            run.expect(isinstance(value, (int, float)) and not isinstance(value, bool) and value >= wanted,
                       f"{here}: {value!r}, expected a number >= {wanted}", here)
        elif test == "one_of":
            run.expect(any(same(value, w) for w in wanted), f"{here}: {value!r}, expected one of {wanted!r}", here)
        elif test == "length":
            run.expect(hasattr(value, "__len__") and len(value) == wanted,
                       f"{here}: length {len(value) if hasattr(value, '__len__') else '-'}, expected {wanted}", here)
        # `present`: being found is the test


def answer(run: PromiseRun) -> None:
    params = run.render(run.params, run.params.get("needs", ()))
    req = params["request"]
    doc = run.json(req["operation"], req.get("path"), query=req.get("query"), json_body=req.get("body"))
    base = ""
    if "item" in params:
        pointer, wanted = params["item"]["pointer"], params["item"]["equals"]
        items = doc if isinstance(doc, list) else at(doc, params["item"].get("list", ""))
        chosen = [(i, it) for i, it in enumerate(items or []) if has(it, pointer) and at(it, pointer) == wanted]
        if not chosen:
            raise PromiseBroken(f"{req['operation']}: no item with {pointer} = {wanted!r} among {len(items or [])}")
        base, doc = f"/{chosen[0][0]}", chosen[0][1]
    for rule in params["expect"]:
        judge(run, doc, rule, base)


def filter_check(run: PromiseRun) -> None:
    params = run.render(run.params, run.params.get("needs", ()))
    query = dict(params.get("query") or {})
    query["filters"] = params["filters"]
    doc = run.json(params["operation"], params.get("path"), query=query)
    items = at(doc, params.get("items", "")) if params.get("items") else doc
    if not isinstance(items, list):
        where = params.get("items") or "/"
        raise PromiseBroken(f"{params['operation']}: the list at {where} is {type(items).__name__}")
    key = params.get("key", "/Id")
    ids = [at(it, key) for it in items if has(it, key)]
    shown = f"filters={params['filters']}"
    if "match" in params:
        run.expect(params["match"] in ids, f"{shown}: the object that matches ({params['match']}) is not listed "
                   f"({len(ids)} listed)")
    for excluded in params.get("exclude_all", [params["exclude"]] if "exclude" in params else []):
        run.expect(excluded not in ids, f"{shown}: an object that does not match ({excluded}) is listed")


CHECKERS = {"answer": answer, "filter": filter_check}
