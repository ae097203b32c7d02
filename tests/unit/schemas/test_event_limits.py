"""What no event may carry: timestamps outside 1970..2199, ids with control characters or over 256 characters,
text that is not valid Unicode. Refused alike at the edge (model validation) and on decode (quarantine)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from factories import turn
from pydantic import ValidationError

from schemas.codec import SingleObjectCodec, to_avro_dict
from schemas.errors import MalformedMessageError
from schemas.events import MAX_ID_CHARS, ConversationTurn


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("event_time", datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "outside 1970..2199"),
        ("event_time", datetime(1969, 12, 31, tzinfo=UTC), "outside 1970..2199"),
        ("conversation_id", "conv\x00one", "control characters"),
        ("tenant_id", "acme\n", "control characters"),
        ("conversation_id", "c" * (MAX_ID_CHARS + 1), "at most 256 characters"),
        ("content", "caf\udc80", "not valid Unicode"),
        ("metadata", {"k": "\ud800"}, "not valid Unicode"),
    ],
)
def test_the_model_refuses_it_and_names_the_field(field: str, value: object, why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ConversationTurn.model_validate({**turn().model_dump(), field: value})
    assert why in str(caught.value) and field in str(caught.value)


def test_a_decoded_event_with_a_year_9999_clock_is_malformed_not_a_crash() -> None:
    record = to_avro_dict(turn())
    record["event_time"] = int(datetime(9999, 12, 31, 23, 59, tzinfo=UTC).timestamp() * 1000)
    codec = SingleObjectCodec()
    raw = SingleObjectCodec.encode_with(codec.catalogue.current(ConversationTurn.avro_name), record)
    with pytest.raises(MalformedMessageError, match="event_time") as caught:
        codec.decode(raw, ConversationTurn, "t")
    assert caught.value.raw == raw
