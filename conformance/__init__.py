"""docker-api-conformance: the suite's library code (spec data, target, checks, recording, fake engine).

PYTEST_DONT_REWRITE: `docker-api-conformance run` imports this package before it starts pytest, which
would otherwise warn that it cannot rewrite the asserts of an installed plugin's package (it has none).
"""

__version__ = "0.1.0"
