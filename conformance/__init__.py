"""docker-api-conformance: the suite's library code (spec data, target, checks, recording, fake engine)."""

__version__ = "0.1.0"
