"""Deterministic stand-ins for what a model produces, shared by the fake Ollama and Anthropic servers.

Owns: whitespace token counting and splitting (so token accounting is testable), the smallest JSON
document a JSON schema accepts (following `$ref`/`$defs` as pydantic writes them), a document that
breaks a schema, and deterministic unit-length embeddings.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

_PIECE = re.compile(r"\s*\S+\s*")
_MAX_DEPTH = 32


def count_tokens(text: str) -> int:
    """Tokens in `text`: its whitespace-separated words."""
    return len(text.split())


def split_pieces(text: str) -> list[str]:
    """`text` cut into one piece per token, whitespace kept; ``"".join(pieces) == text``."""
    pieces: list[str] = _PIECE.findall(text)
    if not pieces:
        return [text] if text else []
    return pieces


def truncate_tokens(text: str, limit: int) -> str:
    """The first `limit` tokens of `text` (with their whitespace)."""
    return "".join(split_pieces(text)[:limit])


def minimal_instance(schema: Mapping[str, Any]) -> Any:
    """The smallest JSON value valid against `schema`: required properties only, empty arrays, 0, ""."""
    return _minimal(schema, schema, 0)


def violating_instance(schema: Mapping[str, Any]) -> Any:
    """A JSON value `schema` rejects: an object whose first required property has the wrong type, else a
    wrong type (a wrong type, not a missing property: a reader may safely read a missing list as empty)."""
    node = _resolve(schema, schema)
    kind = _type_of(node)
    required = node.get("required") or []
    if kind == "object" and required:
        doc = _minimal(node, schema, 0)
        if isinstance(doc, dict):
            properties: Mapping[str, Any] = node.get("properties") or {}
            first = _type_of(_resolve(properties.get(required[0], {}), schema))
            doc[required[0]] = ["not", "an", "object"] if first == "object" else {"unexpected": "object"}
            return doc
    if kind == "object":
        return ["not", "an", "object"]
    return {"unexpected": "object"}


def embedding(text: str, dimensions: int) -> list[float]:
    """A unit-length vector that depends only on `text` and `dimensions`."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    values = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    for _ in range(_MAX_DEPTH):
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return node
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/"):
            if part:
                target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _type_of(node: Mapping[str, Any]) -> str | None:
    kind = node.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        return str(non_null[0]) if non_null else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in node or "required" in node:
        return "object"
    if "items" in node or "prefixItems" in node:
        return "array"
    return None


def _minimal(node: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        return None
    node = _resolve(node, root)
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    for key in ("anyOf", "oneOf"):
        options: Sequence[Mapping[str, Any]] = node.get(key) or []
        if options:
            return _minimal(options[0], root, depth + 1)
    if node.get("allOf"):
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        for part in node["allOf"]:
            for k, v in _resolve(part, root).items():
                merged[k] = merged[k] + v if k == "required" and k in merged else v
        return _minimal(merged, root, depth + 1)
    return _minimal_of_type(node, _type_of(node), root, depth)


def _minimal_of_type(node: Mapping[str, Any], kind: str | None, root: Mapping[str, Any], depth: int) -> Any:
    if kind == "object":
        properties: Mapping[str, Any] = node.get("properties") or {}
        return {name: _minimal(properties.get(name, {}), root, depth + 1) for name in node.get("required") or []}
    if kind == "array":
        prefix: Sequence[Mapping[str, Any]] = node.get("prefixItems") or []
        items: Mapping[str, Any] = node["items"] if isinstance(node.get("items"), Mapping) else {}
        count = int(node.get("minItems", 0))
        return [_minimal(prefix[i] if i < len(prefix) else items, root, depth + 1) for i in range(count)]
    if kind == "string":
        return _minimal_string(node)
    if kind in ("integer", "number"):
        low = node.get("minimum", node.get("exclusiveMinimum"))
        high = node.get("maximum", node.get("exclusiveMaximum"))
        value: float = 0
        if low is not None and value < low:
            value = low + (1 if "exclusiveMinimum" in node and "minimum" not in node else 0)
        elif high is not None and value > high:
            value = high - (1 if "exclusiveMaximum" in node and "maximum" not in node else 0)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    return None


def _minimal_string(node: Mapping[str, Any]) -> str:
    formats = {
        "date-time": "1970-01-01T00:00:00Z",
        "date": "1970-01-01",
        "uuid": "00000000-0000-4000-8000-000000000000",
        "email": "user@example.com",
        "uri": "https://example.com/",
    }
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt in formats:
        return formats[fmt]
    return "x" * int(node.get("minLength", 0))


__all__ = [
    "count_tokens",
    "embedding",
    "minimal_instance",
    "split_pieces",
    "truncate_tokens",
    "violating_instance",
]
