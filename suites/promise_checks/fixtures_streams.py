"""Shared objects of the streams promises (a pytest plugin listed in the top-level conftest.py)."""

from __future__ import annotations
