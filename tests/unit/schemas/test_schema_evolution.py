"""BACKWARD compatibility: an added optional field keeps old events readable, and old readers read new ones."""

from __future__ import annotations

import copy
from typing import Any

from factories import turn

from schemas.catalogue import SchemaCatalogue, make_version, shipped_catalogue
from schemas.codec import SingleObjectCodec, to_avro_dict
from schemas.events import ConversationTurn


def _v2_schema() -> dict[str, Any]:
    schema = copy.deepcopy(shipped_catalogue().current(ConversationTurn.avro_name).schema)
    schema["fields"].append({"name": "language", "type": ["null", "string"], "default": None})
    return schema


def test_new_reader_reads_old_events() -> None:
    current = shipped_catalogue().current(ConversationTurn.avro_name)
    v2 = make_version(_v2_schema())
    assert v2.fingerprint != current.fingerprint
    old_bytes = SingleObjectCodec().encode(turn(), "t")
    reader_side = SingleObjectCodec(SchemaCatalogue([current]))
    reader_side.catalogue.register_writer(current)
    record = reader_side.decode_record(old_bytes, v2)
    assert record["language"] is None
    assert record["content"] == turn().content


def test_old_reader_reads_new_events() -> None:
    v2 = make_version(_v2_schema())
    new_record = {**to_avro_dict(turn()), "language": "pt"}
    new_bytes = SingleObjectCodec.encode_with(v2, new_record)
    old_reader = SingleObjectCodec(SchemaCatalogue(shipped_catalogue().current(n) for n in shipped_catalogue().names()))
    decoded_before = None
    try:
        old_reader.decode(new_bytes, ConversationTurn, "t")
    except Exception as exc:  # unknown writer fingerprint until the new schema is registered
        decoded_before = exc
    assert decoded_before is not None
    old_reader.catalogue.register_writer(v2)
    assert old_reader.decode(new_bytes, ConversationTurn, "t") == turn()


def test_required_field_without_default_is_not_backward_compatible() -> None:
    schema = _v2_schema()
    schema["fields"][-1] = {"name": "language", "type": "string"}
    v3 = make_version(schema)
    current = shipped_catalogue().current(ConversationTurn.avro_name)
    codec = SingleObjectCodec()
    old_bytes = codec.encode(turn(), "t")
    try:
        codec.decode_record(old_bytes, v3)
    except Exception as exc:
        assert "language" in str(exc) or "default" in str(exc).lower()
    else:
        raise AssertionError(f"reading {current.full_name} events with a new required field must fail")
