"""What the Engine fake says it is (the release in /version, /info, the Server header, node descriptions)."""

from __future__ import annotations

FAKE_VERSION = "27.0.0-fake"
