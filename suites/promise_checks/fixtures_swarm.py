"""Shared objects of the swarm promises (a pytest plugin listed in the top-level conftest.py)."""

from __future__ import annotations
