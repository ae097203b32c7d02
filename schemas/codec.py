"""Event codecs: Avro single-object encoding (default) and the Confluent Schema Registry wire format.

Both codecs share one contract: `encode(event, topic) -> bytes` and `decode(raw, model, topic) -> model`.
Decoding failures raise typed errors (`UnknownSchemaError`, `MalformedMessageError`) that keep the raw
bytes, so callers can quarantine the message as it arrived.

Single-object encoding (Avro spec): `C3 01` + 8-byte little-endian CRC-64-AVRO fingerprint of the
writer schema's Parsing Canonical Form + the Avro binary body. The writer schema is looked up by
fingerprint in the shipped catalogue and resolved against the reader's current schema, so events
written with an older or newer compatible schema still decode.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from fastavro import schemaless_reader, schemaless_writer
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from schemas.catalogue import SchemaCatalogue, SchemaVersion, shipped_catalogue
from schemas.errors import CodecError, MalformedMessageError, ServiceUnavailableError, UnknownSchemaError
from schemas.events import EventModel

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
_HEADER_LEN = 10

E = TypeVar("E", bound=EventModel)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_avro_dict(model: BaseModel) -> dict[str, Any]:
    """A model as the plain dict fastavro writes (enums as symbols, tuples as lists, times as epoch ms)."""
    plain = _PLAIN
    return {name: value if type(value) in plain else _to_avro_value(value) for name, value in model.__dict__.items()}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _epoch_millis(value: datetime) -> int:
    """Milliseconds since the epoch, in integers: `timestamp() * 1000` in floats lost a millisecond now and then
    (2038-02-01T00:00:00.015 became .014)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return ((value - _EPOCH) // _MICROSECOND + 500) // 1000


def _identity(value: Any) -> Any:
    return value


def _sequence(value: Any) -> list[Any]:
    return [_to_avro_value(item) for item in value]


def _mapping(value: dict[str, Any]) -> dict[str, Any]:
    return {key: _to_avro_value(item) for key, item in value.items()}


_CONVERTERS: dict[type, Any] = {
    str: _identity,
    int: _identity,
    float: _identity,
    bool: _identity,
    type(None): _identity,
    tuple: _sequence,
    list: _sequence,
    dict: _mapping,
}


def _converter_for(kind: type) -> Any:
    """Pick (and cache) how values of an exact type are written; isinstance runs once per type."""
    if issubclass(kind, BaseModel):
        converter: Any = to_avro_dict
    elif issubclass(kind, Enum):
        converter = _enum_value
    elif issubclass(kind, datetime):
        converter = _epoch_millis
    elif issubclass(kind, tuple | list):
        converter = _sequence
    elif issubclass(kind, dict):
        converter = _mapping
    else:
        converter = _identity
    _CONVERTERS[kind] = converter
    return converter


def _enum_value(value: Enum) -> Any:
    return value.value


def _to_avro_value(value: Any) -> Any:
    converter = _CONVERTERS.get(type(value))
    if converter is None:
        converter = _converter_for(type(value))
    return converter(value)


def from_avro_dict(model: type[E], record: dict[str, Any], raw: bytes) -> E:
    try:
        return model.model_validate(record)
    except PydanticValidationError as exc:
        raise MalformedMessageError(
            f"{model.__name__} decoded but failed validation: {exc.errors()[0]['msg']} "
            f"at {'.'.join(str(p) for p in exc.errors()[0]['loc'])}",
            raw=raw,
        ) from exc


class EventCodec(Protocol):
    """What every wire format offers."""

    wire_format: str

    def encode(self, event: EventModel, topic: str) -> bytes: ...

    def decode(self, raw: bytes, model: type[E], topic: str) -> E: ...


class SingleObjectCodec:
    """Avro single-object encoding against the schemas shipped in `schemas/`; needs no registry."""

    wire_format = "avro-single-object"

    def __init__(self, catalogue: SchemaCatalogue | None = None) -> None:
        self.catalogue = catalogue or shipped_catalogue()

    def encode(self, event: EventModel, topic: str = "") -> bytes:
        version = self.catalogue.current(type(event).avro_name)
        return self.encode_with(version, to_avro_dict(event))

    @staticmethod
    def encode_with(version: SchemaVersion, record: dict[str, Any]) -> bytes:
        """Encode a plain record with a given schema version (used for evolution tests and tools)."""
        buffer = io.BytesIO()
        buffer.write(SINGLE_OBJECT_MAGIC)
        buffer.write(version.fingerprint)
        try:
            schemaless_writer(buffer, version.parsed, record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CodecError(f"cannot encode {version.full_name}: {exc}") from exc
        return buffer.getvalue()

    def decode_record(self, raw: bytes, reader: SchemaVersion) -> dict[str, Any]:
        """Decode to a plain dict, resolving the writer schema against `reader`."""
        if len(raw) < _HEADER_LEN:
            raise MalformedMessageError(f"message of {len(raw)} bytes is too short for Avro", raw=raw)
        if raw[:2] != SINGLE_OBJECT_MAGIC:
            raise MalformedMessageError(f"not Avro single-object encoding: header {raw[:2].hex()} != c301", raw=raw)
        writer = self.catalogue.by_fingerprint(raw[2:_HEADER_LEN], raw=raw)
        body = io.BytesIO(raw)
        body.seek(_HEADER_LEN)
        try:
            if writer.fingerprint == reader.fingerprint:
                record = schemaless_reader(body, writer.parsed, None)
            else:
                record = schemaless_reader(body, writer.parsed, reader.parsed)
        except Exception as exc:  # fastavro raises many types on corrupt input
            raise MalformedMessageError(
                f"corrupt {writer.full_name} body: {type(exc).__name__}: {exc}", raw=raw
            ) from exc
        if body.tell() != len(raw):
            raise MalformedMessageError(
                f"{len(raw) - body.tell()} trailing bytes after the {writer.full_name} body", raw=raw
            )
        if not isinstance(record, dict):
            raise MalformedMessageError("decoded value is not a record", raw=raw)
        return record

    def decode(self, raw: bytes, model: type[E], topic: str = "") -> E:
        reader = self.catalogue.current(model.avro_name)
        return from_avro_dict(model, self.decode_record(raw, reader), raw)


class SchemaRegistryCodec:
    """The Confluent wire format (magic byte 0 + 4-byte schema id) through `confluent_kafka.schema_registry`."""

    wire_format = "confluent-schema-registry"

    def __init__(self, client: Any, catalogue: SchemaCatalogue | None = None) -> None:
        from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer

        self.client = client
        self.catalogue = catalogue or shipped_catalogue()
        self._serializers: dict[str, Any] = {}
        self._deserializers: dict[str, Any] = {}
        self._serializer_cls = AvroSerializer
        self._deserializer_cls = AvroDeserializer

    def _serializer(self, name: str) -> Any:
        if name not in self._serializers:
            version = self.catalogue.current(name)
            self._serializers[name] = self._serializer_cls(
                self.client, version.schema_json, conf={"auto.register.schemas": True}
            )
        return self._serializers[name]

    def _deserializer(self, name: str) -> Any:
        if name not in self._deserializers:
            version = self.catalogue.current(name)
            self._deserializers[name] = self._deserializer_cls(self.client, version.schema_json)
        return self._deserializers[name]

    def encode(self, event: EventModel, topic: str) -> bytes:
        from confluent_kafka.serialization import MessageField, SerializationContext

        try:
            data = self._serializer(type(event).avro_name)(
                to_avro_dict(event), SerializationContext(topic, MessageField.VALUE)
            )
        except Exception as exc:
            if _registry_unavailable(exc):
                raise ServiceUnavailableError(f"schema registry unavailable: {exc}") from exc
            raise CodecError(f"schema registry encode of {type(event).__name__} failed: {exc}") from exc
        return bytes(data)

    def decode(self, raw: bytes, model: type[E], topic: str) -> E:
        from confluent_kafka.serialization import MessageField, SerializationContext

        if len(raw) < 5 or raw[0] != 0:
            raise MalformedMessageError("not in the Confluent Schema Registry wire format", raw=raw)
        try:
            record = self._deserializer(model.avro_name)(raw, SerializationContext(topic, MessageField.VALUE))
        except Exception as exc:
            if _registry_unavailable(exc):
                raise ServiceUnavailableError(f"schema registry unavailable: {exc}") from exc
            message = str(exc)
            if "not found" in message.lower() or "40403" in message:
                raise UnknownSchemaError(f"schema id unknown to the registry: {message}", raw=raw) from exc
            raise MalformedMessageError(f"schema registry decode failed: {message}", raw=raw) from exc
        if not isinstance(record, dict):
            raise MalformedMessageError("decoded value is not a record", raw=raw)
        return from_avro_dict(model, record, raw)


def _registry_unavailable(exc: BaseException) -> bool:
    """Connection failures, timeouts and 5xx answers of the registry (as opposed to a bad message)."""
    seen: BaseException | None = exc
    while seen is not None:
        status = getattr(seen, "http_status_code", None)
        if isinstance(status, int) and status >= 500:
            return True
        if isinstance(seen, ConnectionError | TimeoutError | OSError) or type(seen).__name__ in (
            "ConnectError",
            "ConnectTimeout",
            "ReadTimeout",
            "RemoteProtocolError",
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@lru_cache(maxsize=8)
def codec_for(schema_registry_url: str | None, basic_auth: str | None = None) -> EventCodec:
    """The process's codec: single-object encoding unless a schema registry URL is configured.

    One codec per configuration and process (the registry client caches schemas and ids), shared by every caller.
    """
    if not schema_registry_url:
        return SingleObjectCodec()
    from confluent_kafka.schema_registry import SchemaRegistryClient

    conf = {"url": schema_registry_url}
    if basic_auth:
        conf["basic.auth.user.info"] = basic_auth
    # new_client serves mock:// URLs with the client's in-memory registry (used in tests)
    return SchemaRegistryCodec(SchemaRegistryClient.new_client(conf))


__all__ = [
    "SINGLE_OBJECT_MAGIC",
    "EventCodec",
    "SchemaRegistryCodec",
    "SingleObjectCodec",
    "codec_for",
    "from_avro_dict",
    "to_avro_dict",
]
