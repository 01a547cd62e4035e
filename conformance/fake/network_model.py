"""Network records: the predefined bridge/host/none, IP allocation, endpoint settings, what a container's
start and exit do to its endpoints, and the JSON a network renders as.  Handlers live in networks.py."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .util import (
    Version,
    find_by_ref,
    new_id,
    now_ns,
    rfc3339,
)
from .wire import ApiError

if TYPE_CHECKING:
    from .container_model import Container
    from .state import State


PREDEFINED = ("bridge", "host", "none")


DRIVERS = ("bridge", "host", "null", "overlay", "macvlan", "ipvlan")


@dataclass
class Network:
    id: str
    name: str
    driver: str = "bridge"
    scope: str = "local"
    created_ns: int = 0
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    enable_ipv6: bool = False
    enable_ipv4: bool = True
    config_only: bool = False
    config_from: str = ""
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    ipam_driver: str = "default"
    ipam_options: dict[str, str] | None = None
    ipam_config: list[dict[str, Any]] = field(default_factory=list)
    endpoints: dict[str, dict[str, str]] = field(default_factory=dict)
    next_host: int = 2

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    def allocate(self) -> tuple[str, int, str]:
        """(ip, prefix length, gateway) for a new endpoint; ('', 0, '') without IPAM."""
        if not self.ipam_config:
            return "", 0, ""
        subnet = ipaddress.ip_network(self.ipam_config[0]["Subnet"], strict=False)
        used = {e.get("IPv4Address", "").split("/")[0] for e in self.endpoints.values()}
        gateway = self.ipam_config[0].get("Gateway", "")
        # As moby's IPAM (libnetwork ipam/allocator.go getAddress): from IPRange when one is set, its first
        # address included; the prefix length stays the subnet's.
        ip_range = self.ipam_config[0].get("IPRange")
        start = ipaddress.ip_network(ip_range, strict=False).network_address - 2 if ip_range else subnet.network_address
        while True:
            ip = str(start + self.next_host)
            self.next_host += 1
            if ip not in used and ip != gateway:
                return ip, subnet.prefixlen, gateway


def seed_networks(state: State) -> None:
    bridge = Network(new_id(), "bridge", "bridge", created_ns=now_ns(),
                     options={"com.docker.network.bridge.default_bridge": "true",
                              "com.docker.network.bridge.enable_icc": "true",
                              "com.docker.network.bridge.enable_ip_masquerade": "true",
                              "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                              "com.docker.network.bridge.name": "docker0",
                              "com.docker.network.driver.mtu": "1500"},
                     ipam_config=[{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}])
    host = Network(new_id(), "host", "host", created_ns=now_ns())
    none = Network(new_id(), "none", "null", created_ns=now_ns())
    for net in (bridge, host, none):
        state.networks[net.id] = net


def find(state: State, ref: str) -> Network | None:
    return find_by_ref(state.networks.values(), ref, lambda net: net.name)


def get(state: State, ref: str) -> Network:
    net = find(state, ref)
    if net is None:
        raise ApiError(404, f"network {ref} not found")
    return net


def endpoint_settings(net: Network, config: dict[str, Any] | None, version: Version) -> dict[str, Any]:
    config = config or {}
    out: dict[str, Any] = {
        "IPAMConfig": config.get("IPAMConfig"), "Links": config.get("Links"), "Aliases": config.get("Aliases"),
        "NetworkID": net.id, "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": "",
        "DriverOpts": config.get("DriverOpts"),
    }
    if version >= (1, 44):
        out["DNSNames"] = None
    if version >= (1, 45) and config.get("MacAddress"):
        out["MacAddress"] = config["MacAddress"]
    return out


def attach_running(state: State, container: Container) -> None:
    """Container start: give each of its endpoints an address and list it on the network."""
    for name, settings in container.networks.items():
        net = find(state, name) or find(state, settings.get("NetworkID", ""))
        if net is None:
            raise ApiError(404, f"network {name} not found")
        settings["NetworkID"] = net.id
        settings["EndpointID"] = new_id()
        if net.driver in ("host", "null"):
            continue
        ip, prefix, gateway = net.allocate()
        requested = (settings.get("IPAMConfig") or {}).get("IPv4Address")
        if requested:
            ip = requested
        index = int(ipaddress.ip_address(ip)) & 0xFFFFFFFF if ip else 0
        mac = "02:42:" + ":".join(f"{(index >> s) & 0xFF:02x}" for s in (24, 16, 8, 0)) if ip else ""
        mac = container.mac_addresses.get(net.name) or mac
        settings.update({"IPAddress": ip, "IPPrefixLen": prefix, "Gateway": gateway, "MacAddress": mac})
        if settings.get("DNSNames", 0) is not None or "DNSNames" in settings:
            if net.name != "bridge":
                settings["DNSNames"] = [container.name.lstrip("/"), container.id[:12],
                                        *(settings.get("Aliases") or [])]
        net.endpoints[container.id] = {"Name": container.name.lstrip("/"), "EndpointID": settings["EndpointID"],
                                       "MacAddress": mac, "IPv4Address": f"{ip}/{prefix}" if ip else "",
                                       "IPv6Address": ""}


def detach_running(state: State, container: Container) -> None:
    for settings in container.networks.values():
        net = find(state, settings.get("NetworkID", ""))
        if net:
            net.endpoints.pop(container.id, None)
        settings.update({"EndpointID": "", "IPAddress": "", "IPPrefixLen": 0, "Gateway": "", "MacAddress": ""})


def inspect_json(net: Network, version: Version, verbose: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Name": net.name, "Id": net.id, "Created": rfc3339(net.created_ns), "Scope": net.scope, "Driver": net.driver,
        "EnableIPv6": net.enable_ipv6,
        "IPAM": {"Driver": net.ipam_driver, "Options": net.ipam_options,
                 # IPAMConfig's fields are omitempty: an unset range, gateway or aux address is left out
                 "Config": [{k: v for k, v in c.items() if v not in (None, "", {})} for c in net.ipam_config]},
        "Internal": net.internal, "Attachable": net.attachable, "Ingress": net.ingress,
        "ConfigFrom": {"Network": net.config_from}, "ConfigOnly": net.config_only,
        "Containers": {cid: dict(ep) for cid, ep in net.endpoints.items()}, "Options": dict(net.options),
        "Labels": dict(net.labels),
    }
    if version >= (1, 47):
        out["EnableIPv4"] = net.enable_ipv4
    return out
