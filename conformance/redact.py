"""Keep secrets out of everything the suite writes: headers, URLs, bodies, reports."""

from __future__ import annotations

import re

SECRET_HEADERS = {"x-registry-auth", "x-registry-config", "authorization", "proxy-authorization", "cookie"}
_SECRETS: set[str] = set()
# Also matches JSON that sits escaped inside another JSON string (\"password\": \"x\").
_JSON_SECRET = re.compile(r'(\\?"(?:password|Password|identitytoken|IdentityToken|registrytoken|RegistryToken|'
                          r'auth|Auth|token|Token|secret)\\?"\s*:\s*\\?")(?:[^"\\]|\\[^"])*(\\?")')
_URL_USERINFO = re.compile(r"(://)[^/@\s]+@")
MASK = "***"


def register_secret(value: str | None) -> None:
    """Every later redaction masks this exact value too (passwords given on the command line)."""
    if value and len(value) >= 3:
        _SECRETS.add(value)


def redact_text(text: str) -> str:
    text = _JSON_SECRET.sub(lambda m: m.group(1) + MASK + m.group(2), text)
    text = _URL_USERINFO.sub(r"\1" + MASK + "@", text)
    for secret in _SECRETS:
        text = text.replace(secret, MASK)
    return text


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: (MASK if k.lower() in SECRET_HEADERS else redact_text(str(v))) for k, v in headers.items()}
