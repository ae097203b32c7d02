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


def test_events_written_with_an_earlier_shipped_version_still_decode() -> None:
    """A batch and a request written by memlane before attribution fields existed read back with defaults."""
    from factories import batch, request

    from schemas.catalogue import HISTORY_DIR, load_schema_dir
    from schemas.events import ExtractionRequest, MemoryBatch

    v1 = load_schema_dir(HISTORY_DIR / "v1")
    codec = SingleObjectCodec()
    for stem, event, model in (
        ("memory_batch", batch(), MemoryBatch),
        ("extraction_request", request(), ExtractionRequest),
    ):
        old = copy.deepcopy(to_avro_dict(event))
        if model is MemoryBatch:
            for memory in old["memories"]:
                for name in ("user_id", "user_ids", "source_turn_indexes"):
                    memory.pop(name)
        else:
            for window_turn in old["turns"]:
                window_turn.pop("user_id")
        old_bytes = SingleObjectCodec.encode_with(v1[stem], old)
        assert v1[stem].fingerprint != shipped_catalogue().current(model.avro_name).fingerprint
        decoded = codec.decode(old_bytes, model, "t")
        assert decoded.model_dump(exclude={"memories", "turns"}) == event.model_dump(exclude={"memories", "turns"})


def test_events_written_before_they_carried_publish_times_still_decode() -> None:
    """A request and a batch of v2 (no turn publish times) read back with empty clocks."""
    from factories import batch, request

    from schemas.catalogue import HISTORY_DIR, load_schema_dir
    from schemas.events import ExtractionRequest, MemoryBatch

    v2 = load_schema_dir(HISTORY_DIR / "v2")
    codec = SingleObjectCodec()
    old_request = copy.deepcopy(to_avro_dict(request()))
    for window_turn in old_request["turns"]:
        window_turn.pop("published_at", None)
    decoded = codec.decode(SingleObjectCodec.encode_with(v2["extraction_request"], old_request), ExtractionRequest, "t")
    assert all(turn.published_at is None for turn in decoded.turns)
    old_batch = copy.deepcopy(to_avro_dict(batch()))
    for name in ("turn_indexes", "turn_published_at", "turn_priority_classes"):
        old_batch["lineage"].pop(name, None)
    back = codec.decode(SingleObjectCodec.encode_with(v2["memory_batch"], old_batch), MemoryBatch, "t")
    assert back.lineage.turn_published_at == () and back.lineage.turn_indexes == ()
    assert v2["memory_batch"].fingerprint != shipped_catalogue().current(MemoryBatch.avro_name).fingerprint
