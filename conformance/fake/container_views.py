"""What a container renders as: inspect, list summary, stats samples, port and mount views."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .container_model import (
    Container,
)
from .util import (
    ZERO_TIME,
    Version,
    human_duration,
    now_ns,
    rfc3339,
)

if TYPE_CHECKING:
    from .state import State


# --- inspect / list --------------------------------------------------------------------------
def port_views(container: Container) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    exposed = dict(container.config.get("ExposedPorts") or {})
    bindings = container.host_config.get("PortBindings") or {}
    for port in bindings:
        exposed.setdefault(port, {})
    inspect: dict[str, Any] = {}
    summary: list[dict[str, Any]] = []
    for port in sorted(exposed):
        number, _, proto = port.partition("/")
        proto = proto or "tcp"
        bound = bindings.get(port)
        if not bound and container.host_config.get("PublishAllPorts"):
            bound = [{"HostIp": "", "HostPort": str(32768 + int(number) % 1000)}]
        if container.running and bound:
            inspect[port] = [{"HostIp": b.get("HostIp") or "0.0.0.0", "HostPort": b.get("HostPort") or
                              str(32768 + int(number) % 1000)} for b in bound]
            for b in inspect[port]:
                summary.append({"IP": b["HostIp"], "PrivatePort": int(number), "PublicPort": int(b["HostPort"]),
                                "Type": proto})
        else:
            inspect[port] = None
            summary.append({"PrivatePort": int(number), "Type": proto})
    return inspect, summary


def _status_text(container: Container) -> str:
    now = time.time()
    if container.status == "running":
        return f"Up {human_duration(now - container.started_ns / 1e9)}"
    if container.status == "paused":
        return f"Up {human_duration(now - container.started_ns / 1e9)} (Paused)"
    if container.status == "exited":
        return f"Exited ({container.exit_code}) {human_duration(now - container.finished_ns / 1e9)} ago"
    if container.status == "restarting":
        return "Restarting"
    return "Created"


def _mount_points(container: Container) -> list[dict[str, Any]]:
    out = []
    for m in container.mounts:
        item = {"Type": m["Type"], "Source": m.get("Source", ""), "Destination": m["Destination"],
                "Mode": m.get("Mode", ""), "RW": m.get("RW", True), "Propagation": m.get("Propagation", "")}
        if m["Type"] == "volume":
            item["Name"] = m["Name"]
            item["Driver"] = m.get("Driver", "local")
        out.append(item)
    return out


def health_status(c: Container) -> str:
    """As the Engine: "none" without a healthcheck; else what the probes found ("starting" until the first)."""
    check = c.config.get("Healthcheck") or {}
    if check.get("Test") in (None, [], ["NONE"]):
        return "none"
    if c.health is None:
        return "unhealthy" if c.status not in ("running", "paused") else "starting"
    return str(c.health["Status"])


def _endpoints(c: Container, version: Version) -> dict[str, dict[str, Any]]:
    """A container's endpoint settings as that API version has them (DNSNames exists from 1.44)."""
    out = {name: dict(ep) for name, ep in c.networks.items()}
    for name, ep in out.items():
        if version < (1, 44):
            ep.pop("DNSNames", None)
        if version < (1, 45) and name not in ("bridge", "host", "none") and c.short not in (ep.get("Aliases") or []):
            # Before 1.45 the Engine lists the container's short id among its aliases on a user-defined network
            # (dockerd 20.10 observed; from 1.45 it is in DNSNames only).
            ep["Aliases"] = [*(ep.get("Aliases") or []), c.short]
    return out


def inspect_json(state: State, c: Container, version: Version, size: bool = False) -> dict[str, Any]:
    ports, _ = port_views(c)
    base = f"/var/lib/docker/containers/{c.id}"
    st = {"Status": c.status, "Running": c.status in ("running", "paused"), "Paused": c.status == "paused",
          "Restarting": c.status == "restarting", "OOMKilled": False, "Dead": c.status == "dead", "Pid": c.pid,
          "ExitCode": c.exit_code, "Error": c.error,
          "StartedAt": rfc3339(c.started_ns) if c.started_ns else ZERO_TIME,
          "FinishedAt": rfc3339(c.finished_ns) if c.finished_ns else ZERO_TIME}
    if health_status(c) != "none":
        health = c.health or {}
        st["Health"] = {"Status": health_status(c), "FailingStreak": health.get("FailingStreak", 0),
                        "Log": [dict(entry) for entry in health.get("Log", [])]}
    primary = next(iter(c.networks.values()), {})
    net_settings: dict[str, Any] = {
        "Bridge": "", "SandboxID": c.id[::-1] if c.running else "", "HairpinMode": False,
        "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "Ports": ports,
        "SandboxKey": f"/var/run/docker/netns/{c.id[::-1][:12]}" if c.running else "",
        "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
        "EndpointID": primary.get("EndpointID", "") if "bridge" in c.networks else "",
        "Gateway": primary.get("Gateway", "") if "bridge" in c.networks else "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "IPAddress": primary.get("IPAddress", "") if "bridge" in c.networks else "",
        "IPPrefixLen": primary.get("IPPrefixLen", 0) if "bridge" in c.networks else 0, "IPv6Gateway": "",
        "MacAddress": primary.get("MacAddress", "") if "bridge" in c.networks else "",
        "Networks": _endpoints(c, version),
    }
    if version >= (1, 44):
        for key in ("HairpinMode", "LinkLocalIPv6Address", "LinkLocalIPv6PrefixLen", "SecondaryIPAddresses",
                    "SecondaryIPv6Addresses"):
            net_settings.pop(key, None)
    if version >= (1, 52):
        for key in ("Bridge", "EndpointID", "Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPAddress",
                    "IPPrefixLen", "IPv6Gateway", "MacAddress"):
            net_settings.pop(key, None)
    host = dict(c.host_config)
    if version < (1, 42):  # dockerd 20.10 answers them (ignored from 1.42, as moby's router says)
        host.setdefault("KernelMemory", 0)
        host.setdefault("KernelMemoryTCP", 0)
    out: dict[str, Any] = {
        "Id": c.id, "Created": rfc3339(c.created_ns), "Path": c.argv[0] if c.argv else "", "Args": c.argv[1:],
        "State": st, "Image": c.image_id, "ResolvConfPath": f"{base}/resolv.conf", "HostnamePath": f"{base}/hostname",
        "HostsPath": f"{base}/hosts", "LogPath": f"{base}/{c.id}-json.log", "Name": c.name,
        "RestartCount": c.restart_count, "Driver": "overlay2", "Platform": "linux", "MountLabel": "",
        "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": list(c.exec_ids) or None, "HostConfig": host,
        "GraphDriver": {"Name": "overlay2", "Data": {
            "LowerDir": f"/var/lib/docker/overlay2/{c.short}-init/diff",
            "MergedDir": f"/var/lib/docker/overlay2/{c.short}/merged",
            "UpperDir": f"/var/lib/docker/overlay2/{c.short}/diff",
            "WorkDir": f"/var/lib/docker/overlay2/{c.short}/work"}},
        "Mounts": _mount_points(c), "Config": dict(c.config), "NetworkSettings": net_settings,
    }
    if size:
        out["SizeRw"] = c.fs.size() - c.base_fs.size() if c.fs.size() >= c.base_fs.size() else 0
        out["SizeRootFs"] = c.fs.size()
    if version >= (1, 50):
        out["ImageManifestDescriptor"] = None
        out.pop("ImageManifestDescriptor")
    return out


def summary_json(state: State, c: Container, version: Version, size: bool = False) -> dict[str, Any]:
    _, ports = port_views(c)
    args = [f"'{a}'" if " " in a else a for a in c.argv[1:]]
    command = " ".join([c.argv[0], *args]) if c.argv else ""
    image = c.config.get("Image", "")
    if c.image_id not in state.images.images:
        image = c.image_id
    out: dict[str, Any] = {
        "Id": c.id, "Names": [c.name], "Image": image, "ImageID": c.image_id, "Command": command,
        "Created": c.created_ns // 1_000_000_000, "Ports": ports, "Labels": dict(c.labels), "State": c.status,
        "Status": _status_text(c), "HostConfig": {"NetworkMode": c.host_config.get("NetworkMode", "default")},
        "NetworkSettings": {"Networks": _endpoints(c, version)},
        "Mounts": _mount_points(c),
    }
    if size:
        written = max(c.fs.size() - c.base_fs.size(), 0)
        if written:  # moby types.Container: SizeRw and SizeRootFs are omitempty
            out["SizeRw"] = written
        out["SizeRootFs"] = c.fs.size()
    for ep in out["NetworkSettings"]["Networks"].values():
        ep["Aliases"] = None  # the list's summary endpoints carry no aliases (dockerd 20.10: null)
    return out


def stats_sample(c: Container, n: int, one_shot: bool, version: Version, nil: Any = None) -> dict[str, Any]:
    running = c.running
    now = now_ns()
    total = (n + 1) * 1_000_000 if running else 0
    cpu: dict[str, Any] = {
        "cpu_usage": {"total_usage": total, "usage_in_kernelmode": total // 4, "usage_in_usermode": total // 2},
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    if running:  # zero counters are left out (omitempty), as for an exited container on dockerd 20.10
        cpu.update({"system_cpu_usage": now // 100, "online_cpus": 2})
    if version < (1, 46) and running:
        cpu["cpu_usage"]["percpu_usage"] = [total // 2, total - total // 2]
    # The first precpu sample has no system usage yet: its zero counters are left out (omitempty).
    pre: dict[str, Any] = {"cpu_usage": {"total_usage": max(total - 1_000_000, 0) if n and not one_shot else 0,
                                         "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                           "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    if n and not one_shot and running:
        pre.update({"system_cpu_usage": (now - 200_000_000) // 100, "online_cpus": 2})
        if version < (1, 46):
            used = pre["cpu_usage"]["total_usage"]
            pre["cpu_usage"]["percpu_usage"] = [used // 2, used - used // 2]
    memory: dict[str, Any] = {"usage": 659456, "stats": {"active_anon": 4096, "cache": 237568, "rss": 53248},
                              "limit": 8 << 30} if running else {}
    if running and version < (1, 46):
        memory["max_usage"] = 4079616
    out = {
        "read": rfc3339(now) if running else ZERO_TIME,
        "preread": rfc3339(now - 200_000_000) if (running and n and not one_shot) else ZERO_TIME,
        "pids_stats": {"current": 1 + len(c.exec_ids)} if running else {},
        "blkio_stats": dict.fromkeys(("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
                                      "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
                                      "io_time_recursive", "sectors_recursive"), [] if running else nil),
        "num_procs": 0, "storage_stats": {}, "cpu_stats": cpu, "precpu_stats": pre, "memory_stats": memory,
        "name": c.name, "id": c.id,
    }
    if running:
        out["networks"] = {"eth0": {"rx_bytes": 806 + n, "rx_packets": 9, "rx_errors": 0, "rx_dropped": 0,
                                    "tx_bytes": 0, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0}}
    if version >= (1, 51):
        out["os_type"] = "linux"
    return out
