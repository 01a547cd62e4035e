"""The target under test: resolve its address the docker way, connect, and identify it."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import docker
import docker.errors
import requests
from docker.tls import TLSConfig

from conformance.exchange import guard_hijacks
from conformance.redact import redact_text

FAKE_PREFIX = "fake"
KINDS = ("docker", "podman", "swarm-classic", "fake", "unknown")


class TargetError(RuntimeError):
    """The target cannot be used: unreachable, not an Engine API, bad TLS settings."""


@dataclass(frozen=True)
class TargetConfig:
    url: str  # as given: unix://, tcp://, http://, https:// or fake[:kind]
    tls: TLSConfig | bool = False
    kind_override: str | None = None
    timeout: float = 30.0

    @property
    def is_fake(self) -> bool:
        return self.url == FAKE_PREFIX or self.url.startswith(FAKE_PREFIX + ":")


@dataclass
class TargetInfo:
    address: str  # without credentials
    kind: str
    engine_version: str
    api_min: str | None
    api_max: str | None
    os: str
    arch: str
    experimental: bool | None = None
    version_body: dict[str, Any] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("version_body")
        return data

    def header_line(self) -> str:
        return (f"target: {self.address} kind={self.kind} engine={self.engine_version} "
                f"api={self.api_min or '?'}-{self.api_max or '?'} os/arch={self.os}/{self.arch}")


def redact_url(url: str) -> str:
    """Drop user:password@ from a URL so it can be printed and stored (one rule: conformance.redact)."""
    return redact_text(url)


def resolve(
    target: str | None,
    environ: dict[str, str] | None = None,
    tls: bool = False,
    tls_verify: bool | None = None,
    tls_ca: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    kind_override: str | None = None,
    timeout: float = 30.0,
) -> TargetConfig:
    """--target, else DOCKER_HOST, else the embedded fake; TLS from options, else DOCKER_TLS_* like docker."""
    env = dict(os.environ if environ is None else environ)
    url = target or env.get("DOCKER_HOST") or FAKE_PREFIX
    if kind_override and kind_override not in KINDS:
        raise TargetError(f"--target-kind {kind_override!r}: expected one of {', '.join(KINDS)}")
    if url == FAKE_PREFIX or url.startswith(FAKE_PREFIX + ":"):
        return TargetConfig(url, False, kind_override, timeout)
    explicit_tls = tls or tls_verify or tls_ca or tls_cert or tls_key
    if explicit_tls:
        try:
            client_cert = (tls_cert, tls_key) if tls_cert or tls_key else None
            if client_cert and not all(client_cert):
                raise TargetError("--tls-cert and --tls-key go together")
            tls_config: TLSConfig | bool = TLSConfig(
                client_cert=client_cert, ca_cert=tls_ca, verify=bool(tls_verify) or bool(tls_ca)
            )
        except docker.errors.TLSParameterError as exc:
            raise TargetError(f"TLS settings: {exc}") from exc
    else:
        try:
            from_env = docker.utils.kwargs_from_env(environment=env)
        except docker.errors.TLSParameterError as exc:
            raise TargetError(f"TLS settings from DOCKER_TLS_VERIFY/DOCKER_CERT_PATH: {exc}") from exc
        tls_config = from_env.get("tls", False) if (target is None or env.get("DOCKER_HOST") == target) else False
    if url.startswith("https://") and tls_config is False:
        tls_config = TLSConfig()
    try:
        docker.utils.parse_host(url, tls=bool(tls_config))
    except (docker.errors.DockerException, ValueError) as exc:
        raise TargetError(f"--target {redact_url(url)!r}: {exc} (expected unix://PATH, tcp://HOST:PORT, "
                          "http(s)://HOST:PORT or fake)") from exc
    return TargetConfig(url, tls_config, kind_override, timeout)


def open_client(config: TargetConfig, url: str | None = None, version: str = "1.25") -> docker.APIClient:
    """A docker SDK APIClient (a requests.Session with the right transport); no request sent yet.

    A fixed version avoids the SDK's own /version probe.  The suite's checked requests build
    their /vX.Y paths themselves; `version` only matters for SDK calls (preconditions).  A connection that
    was hijacked or upgraded is never pooled again (conformance.exchange.guard_hijacks).
    """
    try:
        return guard_hijacks(docker.APIClient(base_url=url or config.url, tls=config.tls, version=version,
                                              timeout=config.timeout))
    except docker.errors.DockerException as exc:
        raise TargetError(f"cannot open {redact_url(url or config.url)}: {exc}") from exc


def detect_kind(version: dict[str, Any], ping_headers: dict[str, str]) -> str:
    """docker / podman / swarm-classic / fake / unknown, from /version (and /_ping headers)."""
    engine_version = str(version.get("Version", ""))
    if engine_version.startswith("swarm/"):
        return "swarm-classic"
    components = version.get("Components") or []
    names = " ".join(str(c.get("Name", "")) for c in components if isinstance(c, dict))
    details = [c.get("Details") or {} for c in components if isinstance(c, dict)]
    if any(str(d.get("Fake", "")).lower() == "true" for d in details if isinstance(d, dict)):
        return "fake"
    if "podman" in names.lower() or "podman" in str((version.get("Platform") or {}).get("Name", "")).lower():
        return "podman"
    if "Engine" in names or "Docker" in str(ping_headers.get("Server", "")) or version.get("ApiVersion"):
        return "docker"
    return "unknown"


def _root_cause(exc: BaseException) -> str:
    """The innermost OS-level reason ("No such file or directory", "Connection refused") of a wrapped error."""
    seen: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.append(current)
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return str(exc)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def identify(api: docker.APIClient, config: TargetConfig, address: str) -> TargetInfo:
    """Ask /_ping and /version (unversioned, so any API version answers); TargetError if not an Engine."""
    shown = redact_url(address)
    try:
        ping = api.get(f"{api.base_url}/_ping", timeout=min(config.timeout, 10))
    except requests.exceptions.SSLError as exc:
        raise TargetError(f"cannot reach {shown}: TLS handshake failed ({exc.__class__.__name__})") from exc
    except (requests.exceptions.ConnectionError, OSError) as exc:
        raise TargetError(f"cannot reach {shown}: {_root_cause(exc)}") from exc
    except requests.exceptions.Timeout as exc:
        raise TargetError(f"{shown} did not answer /_ping within {min(config.timeout, 10)} s") from exc
    if ping.status_code != 200:
        raise TargetError(f"{shown} answered /_ping with HTTP {ping.status_code}: not a Docker Engine API endpoint?")
    try:
        resp = api.get(f"{api.base_url}/version", timeout=config.timeout)
        version = resp.json()
    except (requests.exceptions.RequestException, ValueError) as exc:
        raise TargetError(f"{shown} answered /_ping but /version gave no JSON: {exc}") from exc
    if not isinstance(version, dict):
        raise TargetError(f"{shown}: /version is not a JSON object")
    headers = dict(ping.headers)
    experimental = headers.get("Docker-Experimental")
    return TargetInfo(
        address=shown,
        kind=config.kind_override or detect_kind(version, headers),
        engine_version=str(version.get("Version", "?")),
        api_min=_text(version.get("MinAPIVersion")),
        # A /version that breaks its own schema (ApiVersion not a string) must not break identification.
        api_max=_text(version.get("ApiVersion")) or headers.get("Api-Version"),
        os=str(version.get("Os", "?")),
        arch=str(version.get("Arch", "?")),
        experimental=None if experimental is None else experimental.lower() == "true",
        version_body=version,
    )
