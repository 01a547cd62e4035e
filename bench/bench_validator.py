#!/usr/bin/env python3
"""Median time to validate a ~50 KB ContainerList response (API 1.41) with the suite's validator.

Run: python bench/bench_validator.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.spec import SpecCatalog  # noqa: E402

CONTAINER = {
    "Id": "a" * 64, "Names": ["/bench"], "Image": "busybox:latest", "ImageID": "sha256:" + "b" * 64,
    "Command": "sh -c 'sleep 1000'", "Created": 1700000000, "State": "running", "Status": "Up 2 minutes",
    "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
    "Labels": {"com.example.team": "conformance", "com.example.tier": "bench"}, "SizeRw": 12, "SizeRootFs": 1200,
    "HostConfig": {"NetworkMode": "default"}, "Mounts": [],
    "NetworkSettings": {"Networks": {"bridge": {
        "NetworkID": "c" * 64, "EndpointID": "d" * 64, "Gateway": "172.17.0.1", "IPAddress": "172.17.0.2",
        "IPPrefixLen": 16, "MacAddress": "02:42:ac:11:00:02"}}},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    spec = SpecCatalog().get("1.41")
    op = spec.operations["ContainerList"]
    schema = spec.response_schema(op, 200)
    per_item = len(json.dumps(CONTAINER))
    raw = json.dumps([CONTAINER] * (50_000 // per_item)).encode()
    body = json.loads(raw)
    t0 = time.perf_counter()
    assert spec.validator.problems("ContainerList:200", schema, body, size=len(raw)) == []
    first = time.perf_counter() - t0
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        spec.validator.problems("ContainerList:200", schema, body, size=len(raw))
        times.append(time.perf_counter() - start)
    broken = json.loads(raw)
    broken[7]["Names"] = "not-a-list"
    start = time.perf_counter()
    problems = spec.validator.problems("ContainerList:200", schema, broken, size=len(raw))
    failing = time.perf_counter() - start
    print(f"body: {len(raw)} bytes, {len(body)} containers")
    print(f"first call (compile + validate): {first * 1000:.1f} ms")
    print(f"median over {args.rounds} rounds: {statistics.median(times) * 1000:.3f} ms (goal <= 2 ms)")
    print(f"invalid body, with the detailed message: {failing * 1000:.1f} ms -> {problems[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
