"""Property tests of the codecs and the event models.

* Round trip: every valid event of every model encodes and decodes to itself, in the single-object encoding
  and in the Confluent wire format (the client's in-memory registry: these are properties of our codec, the
  real registry has its own tests); or, where the model admits a value its Avro schema cannot carry, encoding
  refuses it with a `CodecError` (counted, and reported by the test output).
* Any bytes: decoding arbitrary bytes, and valid encodings damaged every which way, returns an event or raises
  a `CodecError`, and never anything else (no `IndexError`, `UnicodeDecodeError`, pydantic error, ...).
* Any record: a decoded Avro record that breaks a model's rules raises `MalformedMessageError`.
"""

from __future__ import annotations

import pytest
from cases import count
from hypothesis import given
from hypothesis import strategies as st
from strategies import corruptions, events

from schemas.codec import SchemaRegistryCodec, SingleObjectCodec, from_avro_dict
from schemas.errors import CodecError, MalformedMessageError
from schemas.events import EVENT_MODELS, EventModel

SINGLE = SingleObjectCodec()
TOPIC = "fuzz.memlane.v1"


def _registry_codec() -> SchemaRegistryCodec:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryCodec(SchemaRegistryClient.new_client({"url": "mock://memlane-fuzz"}))


REGISTRY = _registry_codec()
CODECS = {"single-object": SINGLE, "confluent": REGISTRY}
MODELS = {model.__name__: model for model in EVENT_MODELS}


def _same(left: EventModel, right: EventModel) -> bool:
    return left == right or left.model_dump_json() == right.model_dump_json()  # NaN != NaN


@pytest.mark.parametrize("codec_name", sorted(CODECS))
@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_every_event_round_trips(model_name: str, codec_name: str) -> None:
    codec, model = CODECS[codec_name], MODELS[model_name]

    @given(events(model))
    def round_trip(event: EventModel) -> None:
        count(f"round trip {model_name} ({codec_name})")
        try:
            raw = codec.encode(event, TOPIC)
        except CodecError:
            count(f"refused at encode {model_name} ({codec_name})")
            return
        assert _same(codec.decode(raw, model, TOPIC), event)

    round_trip()


def _decodes_or_raises_typed(codec_name: str, raw: bytes, model: type[EventModel]) -> None:
    try:
        decoded = CODECS[codec_name].decode(raw, model, TOPIC)
    except CodecError:
        return
    assert isinstance(decoded, model)


@pytest.mark.parametrize("codec_name", sorted(CODECS))
@given(raw=st.binary(max_size=512), model=st.sampled_from(EVENT_MODELS))
def test_any_bytes_decode_or_raise_the_typed_error(codec_name: str, raw: bytes, model: type[EventModel]) -> None:
    count(f"arbitrary bytes ({codec_name})")
    header = b"\xc3\x01" if codec_name == "single-object" else b"\x00\x00\x00\x00\x01"
    _decodes_or_raises_typed(codec_name, raw, model)
    _decodes_or_raises_typed(codec_name, header + raw, model)


@pytest.mark.parametrize("codec_name", sorted(CODECS))
@given(data=st.data(), model=st.sampled_from(EVENT_MODELS))
def test_damaged_encodings_decode_or_raise_the_typed_error(
    codec_name: str, data: st.DataObject, model: type[EventModel]
) -> None:
    count(f"damaged encodings ({codec_name})")
    event = data.draw(events(model))
    try:
        raw = CODECS[codec_name].encode(event, TOPIC)
    except CodecError:
        return
    _decodes_or_raises_typed(codec_name, data.draw(corruptions(raw)), model)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=12,
)


@given(
    model=st.sampled_from(EVENT_MODELS),
    record=st.dictionaries(st.text(max_size=20), JSONISH, max_size=8),
    data=st.data(),
)
def test_any_record_becomes_a_model_or_a_malformed_message(
    model: type[EventModel], record: dict[str, object], data: st.DataObject
) -> None:
    count("arbitrary records")
    valid = SINGLE.decode_record(SINGLE.encode(data.draw(events(model))), SINGLE.catalogue.current(model.avro_name))
    for candidate in (record, {**valid, **record}):
        try:
            assert isinstance(from_avro_dict(model, candidate, b"raw"), model)
        except MalformedMessageError as exc:
            assert exc.raw == b"raw"
