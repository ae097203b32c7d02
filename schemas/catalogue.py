"""The schema catalogue: loads `schemas/*.avsc`, resolves named types, and indexes schemas by fingerprint.

Named types (BlobRef, Role, ...) live in their own files and are referenced by name; each top-level
schema is expanded into a self-contained schema in which every named type is defined once, at its
first use. The catalogue knows every shipped schema by full name and by its CRC-64-AVRO fingerprint
of the Parsing Canonical Form, which is what Avro single-object encoding carries. The versions memlane
shipped before (`schemas/history/vN/`) are registered as writers, so events already on the topics keep
decoding after an upgrade (BACKWARD compatibility); other services' writer schemas can be registered too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from schemas import SCHEMA_DIR
from schemas.errors import CodecError, UnknownSchemaError

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
TOP_LEVEL = ("conversation_turn", "skip_record", "extraction_request", "memory_batch", "usage_record")


@dataclass(frozen=True)
class SchemaVersion:
    """One concrete Avro schema: its JSON, fastavro's parsed form, and its fingerprint."""

    full_name: str
    schema: dict[str, Any]
    parsed: Any = field(repr=False, compare=False)
    canonical_form: str = field(repr=False)
    fingerprint: bytes  # 8 bytes, little-endian CRC-64-AVRO as single-object encoding writes it

    @property
    def schema_json(self) -> str:
        return json.dumps(self.schema, separators=(",", ":"))


def _full_name(name: str, namespace: str | None) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _expand(node: Any, namespace: str | None, named: dict[str, dict[str, Any]], defined: set[str]) -> Any:
    """Inline named references at first use; later uses stay references by full name."""
    if isinstance(node, str):
        if node in _PRIMITIVES:
            return node
        full = _full_name(node, namespace)
        if full in defined:
            return full
        if full not in named:
            raise CodecError(f"schema references unknown named type {full!r}")
        return _expand(named[full], namespace, named, defined)
    if isinstance(node, list):
        return [_expand(branch, namespace, named, defined) for branch in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if kind in ("record", "error", "enum", "fixed"):
        own_ns = node.get("namespace", namespace)
        full = _full_name(node["name"], own_ns)
        defined.add(full)
        out = {**node, "name": full}
        out.pop("namespace", None)
        if kind in ("record", "error"):
            out["fields"] = [{**fld, "type": _expand(fld["type"], own_ns, named, defined)} for fld in node["fields"]]
        return out
    if kind == "array":
        return {**node, "items": _expand(node["items"], namespace, named, defined)}
    if kind == "map":
        return {**node, "values": _expand(node["values"], namespace, named, defined)}
    if isinstance(kind, dict | list) or (isinstance(kind, str) and kind not in _PRIMITIVES):
        return _expand(kind, namespace, named, defined)
    return node


def crc64_fingerprint(canonical_form: str) -> bytes:
    """CRC-64-AVRO of a Parsing Canonical Form, as the 8 little-endian bytes single-object encoding carries.

    (fastavro renders the fingerprint as the hex of those little-endian bytes.)
    """
    return bytes.fromhex(fingerprint(canonical_form, "CRC-64-AVRO"))


def make_version(schema: dict[str, Any]) -> SchemaVersion:
    """Build a SchemaVersion from a self-contained schema (all named types defined inline)."""
    parsed = parse_schema(schema)
    canonical = to_parsing_canonical_form(parsed)
    fp = crc64_fingerprint(canonical)
    return SchemaVersion(
        full_name=_full_name(schema["name"], schema.get("namespace")),
        schema=schema,
        parsed=parsed,
        canonical_form=canonical,
        fingerprint=fp,
    )


def load_schema_dir(directory: Path) -> dict[str, SchemaVersion]:
    """Load every `.avsc` in `directory`; return the expanded top-level schemas by file stem."""
    raw: dict[str, dict[str, Any]] = {}
    named: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.avsc")):
        try:
            schema = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise CodecError(f"{path.name} is not valid JSON: {exc}") from exc
        raw[path.stem] = schema
        named[_full_name(schema["name"], schema.get("namespace"))] = schema
    return {
        stem: make_version(_expand(raw[stem], raw[stem].get("namespace"), named, set()))
        for stem in TOP_LEVEL
        if stem in raw
    }


class SchemaCatalogue:
    """Known schemas by full name (the current reader schema) and by fingerprint (any writer schema)."""

    def __init__(self, versions: Iterable[SchemaVersion]) -> None:
        self._current: dict[str, SchemaVersion] = {}
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        for version in versions:
            self._current[version.full_name] = version
            self._by_fingerprint[version.fingerprint] = version

    def current(self, full_name: str) -> SchemaVersion:
        try:
            return self._current[full_name]
        except KeyError:
            raise UnknownSchemaError(f"no schema named {full_name!r} is shipped") from None

    def by_fingerprint(self, fp: bytes, *, raw: bytes | None = None) -> SchemaVersion:
        try:
            return self._by_fingerprint[fp]
        except KeyError:
            raise UnknownSchemaError(
                f"unknown schema fingerprint {fp[::-1].hex()} (not among {len(self._by_fingerprint)} known)",
                raw=raw,
            ) from None

    def register_writer(self, version: SchemaVersion) -> None:
        """Make another version of a schema (older or newer writer) resolvable by its fingerprint."""
        self._by_fingerprint[version.fingerprint] = version

    def names(self) -> list[str]:
        return sorted(self._current)


HISTORY_DIR = SCHEMA_DIR / "history"
"""Earlier versions of the schemas (`history/v1/`, ...): events already on the topics were written with them."""


@lru_cache(maxsize=1)
def shipped_catalogue() -> SchemaCatalogue:
    """The catalogue of the schemas shipped in `schemas/`, with every earlier version registered as a writer."""
    catalogue = SchemaCatalogue(load_schema_dir(SCHEMA_DIR).values())
    for version_dir in sorted(path for path in HISTORY_DIR.glob("*") if path.is_dir()):
        for version in load_schema_dir(version_dir).values():
            catalogue.register_writer(version)
    return catalogue


__all__ = [
    "SchemaCatalogue",
    "SchemaVersion",
    "crc64_fingerprint",
    "load_schema_dir",
    "make_version",
    "shipped_catalogue",
]
