"""Avro single-object encoding and the Confluent Schema Registry format: round trips and typed errors."""

from __future__ import annotations

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from factories import batch, request, skip, turn, usage

from schemas.catalogue import crc64_fingerprint
from schemas.codec import SchemaRegistryCodec, SingleObjectCodec, codec_for
from schemas.errors import CodecError, MalformedMessageError, UnknownSchemaError
from schemas.events import ConversationTurn, EventModel, MemoryBatch, SkipRecord

EVENTS = [turn(), turn(content=None), skip(), request(), batch(), usage()]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_single_object_round_trip(event: EventModel) -> None:
    codec = SingleObjectCodec()
    raw = codec.encode(event, "t")
    assert raw[:2] == b"\xc3\x01"
    version = codec.catalogue.current(type(event).avro_name)
    assert raw[2:10] == version.fingerprint
    assert codec.decode(raw, type(event), "t") == event


def test_fingerprint_is_crc64_avro_little_endian() -> None:
    # Test vector from Avro's reference implementation: fingerprint64("null") == 7195948357588979594.
    assert crc64_fingerprint('"null"') == (7195948357588979594).to_bytes(8, "little")
    version = SingleObjectCodec().catalogue.current(ConversationTurn.avro_name)
    assert version.fingerprint == crc64_fingerprint(version.canonical_form)


@pytest.mark.parametrize(
    ("raw", "error", "fragment"),
    [
        (b"", MalformedMessageError, "too short"),
        (b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a", MalformedMessageError, "header"),
        (b"\xc3\x01" + b"\xff" * 8 + b"\x02", UnknownSchemaError, "fingerprint"),
        (b'{"json": "not avro"}', MalformedMessageError, "header"),
    ],
)
def test_malformed_bytes_raise_typed_error_with_raw(raw: bytes, error: type[CodecError], fragment: str) -> None:
    with pytest.raises(error, match=fragment) as info:
        SingleObjectCodec().decode(raw, ConversationTurn, "t")
    assert info.value.raw == raw


def test_truncated_and_trailing_bytes_are_rejected() -> None:
    codec = SingleObjectCodec()
    raw = codec.encode(turn(), "t")
    with pytest.raises(MalformedMessageError) as truncated:
        codec.decode(raw[:-5], ConversationTurn, "t")
    assert truncated.value.raw == raw[:-5]
    with pytest.raises(MalformedMessageError, match="trailing"):
        codec.decode(raw + b"\x00\x00", ConversationTurn, "t")


def test_decoding_as_the_wrong_event_type_fails_cleanly() -> None:
    codec = SingleObjectCodec()
    raw = codec.encode(skip(), "t")
    with pytest.raises(MalformedMessageError):
        codec.decode(raw, MemoryBatch, "t")


def test_schema_registry_wire_format_round_trip() -> None:
    client = SchemaRegistryClient.new_client({"url": "mock://memlane-test"})
    codec = SchemaRegistryCodec(client)
    raw = codec.encode(skip(), "memlane.turns.skipped.v1")
    assert raw[0] == 0 and len(raw) > 5
    schema_id = int.from_bytes(raw[1:5], "big")
    assert client.get_schema(schema_id) is not None
    assert codec.decode(raw, SkipRecord, "memlane.turns.skipped.v1") == skip()
    with pytest.raises(MalformedMessageError) as info:
        codec.decode(b"\xc3\x01abc", SkipRecord, "memlane.turns.skipped.v1")
    assert info.value.raw == b"\xc3\x01abc"


def test_codec_for_picks_the_wire_format() -> None:
    assert codec_for(None).wire_format == "avro-single-object"
    assert codec_for("mock://x").wire_format == "confluent-schema-registry"
