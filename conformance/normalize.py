"""Turn an upstream swagger 2.0 Engine API document into prose-free, normalized spec data.

The output is plain JSON-compatible data: operations keyed by operationId and definitions
converted to JSON Schema (draft 7).  It is what `schemas/engine-X.Y.json` holds, and what
`--spec PATH` builds in memory from a user's file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

FORMAT = 1
HTTP_METHODS = ("get", "head", "post", "put", "delete", "patch", "options")

# JSON Schema keywords kept from swagger schemas; everything else (description, example,
# x-go-*, title, readOnly, discriminator ...) is prose or generator hints and is dropped.
_SCALAR_KEYWORDS = (
    "type", "enum", "default", "format", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "pattern", "minItems", "maxItems",
    "uniqueItems", "required", "minProperties", "maxProperties", "multipleOf",
)
_PARAM_KEYS = ("in", "name", "type", "required", "enum", "default", "format", "collectionFormat", "pattern")
_REF_PREFIX = "#/definitions/"


class SpecError(ValueError):
    """The document is not a swagger 2.0 Engine API spec we can read."""


def convert_schema(node: Any) -> dict[str, Any]:
    """Convert one swagger schema object to JSON Schema, keeping only validation keywords."""
    if not isinstance(node, dict):
        return {}
    nullable = bool(node.get("x-nullable") or node.get("nullable"))
    if "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith(_REF_PREFIX):
            raise SpecError(f"unsupported $ref {ref!r}")
        out: dict[str, Any] = {"$ref": ref}
        return {"anyOf": [out, {"type": "null"}]} if nullable else out
    out = {}
    for key in _SCALAR_KEYWORDS:
        if key in node:
            out[key] = node[key]
    if out.get("type") == "file":  # swagger-only type for binary bodies
        del out["type"]
    if out.get("format") == "binary":
        out.pop("type", None)
    if "required" in out and not (isinstance(out["required"], list) and out["required"]):
        del out["required"]  # `required: true` on a property is not JSON Schema
    if isinstance(node.get("properties"), dict):
        out["properties"] = {name: convert_schema(sub) for name, sub in node["properties"].items()}
    if "items" in node:
        out["items"] = convert_schema(node["items"])
    if "additionalProperties" in node:
        extra = node["additionalProperties"]
        out["additionalProperties"] = extra if isinstance(extra, bool) else convert_schema(extra)
    if isinstance(node.get("allOf"), list):
        out["allOf"] = [convert_schema(sub) for sub in node["allOf"]]
    if nullable:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        elif "type" not in out and out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _parameter(param: dict[str, Any]) -> dict[str, Any]:
    out = {key: param[key] for key in _PARAM_KEYS if key in param}
    out.setdefault("required", False)
    if "items" in param:
        out["items"] = convert_schema(param["items"])
    if param.get("in") == "body":
        out["schema"] = convert_schema(param.get("schema", {}))
    return out


def _response(resp: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "schema" in resp:
        out["schema"] = convert_schema(resp["schema"])
    headers = resp.get("headers")
    if isinstance(headers, dict):
        out["headers"] = {
            name: {k: v for k, v in h.items() if k in ("type", "format", "enum")}
            for name, h in headers.items()
        }
    return out


def normalize(doc: Any, source_name: str = "", source_bytes: bytes = b"") -> dict[str, Any]:
    """Normalize a parsed swagger document; raise SpecError when it is not one."""
    if not isinstance(doc, dict) or str(doc.get("swagger")) != "2.0":
        raise SpecError("not a swagger 2.0 document (no `swagger: \"2.0\"`)")
    info = doc.get("info") or {}
    version = str(info.get("version", "")).strip()
    if not version or not all(part.isdigit() for part in version.split(".")):
        raise SpecError(f"info.version {version!r} is not an API version like 1.41")
    if not isinstance(doc.get("paths"), dict):
        raise SpecError("no `paths` section")
    default_produces = list(doc.get("produces") or ["application/json"])
    default_consumes = list(doc.get("consumes") or ["application/json"])
    operations: dict[str, Any] = {}
    for path, item in sorted(doc["paths"].items()):
        if not isinstance(item, dict):
            raise SpecError(f"path {path!r} is not a mapping")
        shared_params = item.get("parameters") or []
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            op_id = op.get("operationId") or f"{method.upper()} {path}"
            params = [*shared_params, *(op.get("parameters") or [])]
            responses = {str(code): _response(r or {}) for code, r in (op.get("responses") or {}).items()}
            body = next((p for p in params if p.get("in") == "body"), None)
            operations[op_id] = {
                "method": method.upper(),
                "path": path,
                "tag": (op.get("tags") or ["Untagged"])[0],
                "parameters": [_parameter(p) for p in params if p.get("in") != "body"],
                "body": _parameter(body) if body else None,
                "consumes": list(op.get("consumes") or default_consumes),
                "produces": list(op.get("produces") or default_produces),
                "responses": dict(sorted(responses.items())),
            }
    definitions = {name: convert_schema(schema) for name, schema in sorted((doc.get("definitions") or {}).items())}
    return {
        "format": FORMAT,
        "api_version": version,
        "source": {"name": source_name, "sha256": hashlib.sha256(source_bytes).hexdigest() if source_bytes else ""},
        "operations": operations,
        "definitions": definitions,
    }


def normalize_file(path: Path) -> dict[str, Any]:
    """Read and normalize an upstream swagger YAML/JSON file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise SpecError(f"{path} is not valid YAML/JSON: {exc}") from exc
    try:
        return normalize(doc, path.name, raw)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None
