"""Typed skips: every skip the suite raises says why, as one of a few categories, where it is raised.

A skip message carries its category as a prefix, "[not in spec version] ContainerFoo is not in the API
1.25 spec", so that it survives pytest's report (only the text travels) and the reports read it back
with `category()` instead of guessing from the prose.  Categories:

  not in spec version    the operation or parameter does not exist at that API version
  unsupported by target  the target kind's profile says it has no route for the operation
  precondition missing   what the test needs to go on is not there (a state of the engine, an earlier step)
  not opted in           the test needs an option the run did not give (--allow-global-changes)
  needs capability       the session lacks something the test needs (a registry, an image index, network)

`not covered` is the matrix's own category for operations the suite has no scenario for (no skip raised).
A skip without a prefix (pytest's own, a third-party plugin's) is "precondition missing".
"""

from __future__ import annotations

import re
from typing import NoReturn

import pytest

NOT_IN_SPEC = "not in spec version"
UNSUPPORTED = "unsupported by target"
PRECONDITION = "precondition missing"
NOT_OPTED_IN = "not opted in"
NEEDS_CAPABILITY = "needs capability"
NOT_COVERED = "not covered"
CATEGORIES = (NOT_IN_SPEC, UNSUPPORTED, PRECONDITION, NOT_OPTED_IN, NEEDS_CAPABILITY)
UNTYPED = PRECONDITION
_PREFIX = re.compile(r"^\[(?P<category>[a-z ]+)\] ")


def message(category: str, reason: str) -> str:
    """The skip message: "[category] reason"; ValueError for a category that is not one of CATEGORIES."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown skip category {category!r} (known: {', '.join(CATEGORIES)})")
    return f"[{category}] {reason}"


def skip(category: str, reason: str) -> NoReturn:
    """pytest.skip with the category in the message (see `message`)."""
    pytest.skip(message(category, reason))


def parse(text: str) -> tuple[str, str]:
    """(category, reason) of a skip message; an untyped message is (UNTYPED, text)."""
    text = str(text or "").removeprefix("Skipped: ")
    found = _PREFIX.match(text)
    if found and found["category"] in CATEGORIES:
        return found["category"], text[found.end():]
    return UNTYPED, text


def category(text: str) -> str:
    """The category of a skip message (UNTYPED when it carries none)."""
    return parse(text)[0]
