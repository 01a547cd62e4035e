"""pytest plugins of docker-api-conformance (loaded by the top-level conftest.py)."""
