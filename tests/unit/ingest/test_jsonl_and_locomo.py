"""JSONL turn parsing (errors by line and field) and the LoCoMo importer (dates, speakers, captions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.errors import ValidationError
from schemas.events import Role
from streams.ingest import locomo_turns, parse_session_datetime, parse_turn_line, read_turns_jsonl
from streams.ingest.defaults import derived_event_id

GOOD = {
    "conversation_id": "c1",
    "turn_index": 4,
    "user_id": "u1",
    "role": "assistant",
    "content": "Deploy failed with exit code 2",
    "event_time": "2024-05-01T10:00:00+02:00",
}


def test_valid_line_gets_derived_fields() -> None:
    turn = parse_turn_line(json.dumps(GOOD), 1, tenant_id="acme", platform="web")
    assert turn.tenant_id == "acme" and turn.platform == "web" and turn.role is Role.ASSISTANT
    assert turn.event_id == derived_event_id("acme", "c1", 4)
    assert turn.token_count > 0
    assert turn.event_time == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"role": "robot"}, "role"),
        ({"turn_index": -1}, "turn_index"),
        ({"turn_index": "x"}, "turn_index"),
        ({"event_time": "yesterday"}, "event_time"),
        ({"content": None}, "content"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_fields_are_named(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_turn_line(json.dumps({**GOOD, **change}), 7, tenant_id="t", platform="p")
    assert info.value.line == 7 and info.value.field == field
    assert str(info.value).startswith(f"line 7: field '{field}'")


def test_missing_required_field_is_named() -> None:
    line = json.dumps({k: v for k, v in GOOD.items() if k != "user_id"})
    with pytest.raises(ValidationError, match="line 3: field 'user_id'"):
        parse_turn_line(line, 3, tenant_id="t", platform="p")


def test_file_reader_reports_every_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join([json.dumps(GOOD), "[1, 2]", "", "{oops", json.dumps({**GOOD, "role": "x"})]))
    parsed = list(read_turns_jsonl(path, tenant_id="t"))
    assert [p.line for p in parsed] == [1, 2, 4, 5]
    assert parsed[0].turn is not None and parsed[0].error is None
    assert [p.error.line for p in parsed[1:] if p.error] == [2, 4, 5]
    assert "expected a JSON object" in str(parsed[1].error)


def test_locomo_session_dates() -> None:
    assert parse_session_datetime("1:56 pm on 8 May, 2023") == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert parse_session_datetime("10:37 am on 27 June, 2023") == datetime(2023, 6, 27, 10, 37, tzinfo=UTC)
    with pytest.raises(ValidationError):
        parse_session_datetime("sometime in May")


def test_locomo_import_of_the_dev_conversations(locomo_path: Path) -> None:
    items = list(locomo_turns(locomo_path, tenant_id="acme"))
    assert len(items) == 2760
    by_conv: dict[str, list[int]] = {}
    for item in items:
        by_conv.setdefault(item.sample_id, []).append(item.turn.turn_index)
    assert sorted(by_conv) == ["conv-26", "conv-30", "conv-41", "conv-42", "conv-43"]
    assert all(indexes == list(range(len(indexes))) for indexes in by_conv.values())
    first = items[0]
    assert first.dia_id == "D1:1" and first.turn.metadata["dia_id"] == "D1:1"
    assert first.turn.speaker == "Caroline" and first.turn.user_id == "caroline"
    assert first.turn.event_time == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    with_images = [i for i in items if i.turn.attachments]
    assert with_images and all(a.caption for i in with_images for a in i.turn.attachments)
    assert with_images[0].turn.attachments[0].url.startswith("https://")
    times = [i.turn.event_time for i in items if i.sample_id == "conv-26"]
    assert times == sorted(times), "event time grows through a conversation"
    assert len({i.turn.event_id for i in items}) == 2760
