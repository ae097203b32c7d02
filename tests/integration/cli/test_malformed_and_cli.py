"""Malformed bytes on the wire give the typed error with the raw message; the CLI rejects bad input by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka import Producer
from typer.testing import CliRunner

from schemas.codec import SingleObjectCodec
from schemas.errors import CodecError, MalformedMessageError, UnknownSchemaError
from schemas.events import ConversationTurn
from streams.cli import app
from streams.kafka.consumer import read_topic
from streams.settings import Settings


def _env(settings: Settings) -> dict[str, str]:
    return {
        "MEMLANE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        **{f"MEMLANE_TOPICS__{name.upper()}": value for name, value in settings.topics.model_dump().items()},
    }


def test_malformed_bytes_from_the_broker_keep_the_raw_message(kafka_settings: Settings) -> None:
    garbage = [b"", b"not avro at all", b"\xc3\x01" + b"\x00" * 8 + b"zz", b"\xc3\x01\x01"]
    producer = Producer(kafka_settings.kafka_config())
    for raw in garbage:
        producer.produce(kafka_settings.topics.turns, value=raw, key=b"k")
    assert producer.flush(30) == 0
    codec = SingleObjectCodec()
    seen = []
    for message in read_topic(kafka_settings.kafka, kafka_settings.topics.turns):
        value = message.value() or b""
        with pytest.raises(CodecError) as info:
            codec.decode(value, ConversationTurn, message.topic())
        assert isinstance(info.value, MalformedMessageError | UnknownSchemaError)
        assert info.value.raw == value
        seen.append(value)
    assert sorted(seen) == sorted(garbage)


def test_publish_rejects_invalid_jsonl_by_line_and_sends_nothing(kafka_settings: Settings, tmp_path: Path) -> None:
    good = {
        "conversation_id": "c1",
        "turn_index": 0,
        "user_id": "u",
        "role": "user",
        "content": "hi there",
        "event_time": "2024-05-01T10:00:00Z",
    }
    lines = [
        json.dumps(good),
        json.dumps({**good, "turn_index": 1, "role": "robot"}),
        "{not json",
        json.dumps({**good, "turn_index": 3, "event_time": None}),
        "",
        json.dumps({k: v for k, v in good.items() if k != "user_id"} | {"turn_index": 5}),
    ]
    path = tmp_path / "turns.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["publish", str(path)], env=_env(kafka_settings))
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "line 2: field 'role'" in output
    assert "line 3: not valid JSON" in output
    assert "line 4: field 'event_time'" in output
    assert "line 6: field 'user_id'" in output
    assert "nothing was sent" in output
    assert list(read_topic(kafka_settings.kafka, kafka_settings.topics.turns)) == []


def test_publish_cli_sends_valid_jsonl_and_locomo(kafka_settings: Settings, tmp_path: Path, locomo_path: Path) -> None:
    rows = [
        {
            "conversation_id": "c9",
            "turn_index": i,
            "user_id": "u",
            "role": "user",
            "content": f"turn {i}",
            "event_time": f"2024-05-01T10:00:0{i}Z",
        }
        for i in range(3)
    ]
    path = tmp_path / "ok.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    runner = CliRunner()
    ok = runner.invoke(app, ["publish", str(path), "--no-progress"], env=_env(kafka_settings))
    assert ok.exit_code == 0, ok.output
    loco = runner.invoke(
        app,
        ["publish", "--format", "locomo", "-c", "conv-30", str(locomo_path), "--no-progress"],
        env=_env(kafka_settings),
    )
    assert loco.exit_code == 0, loco.output
    messages = list(read_topic(kafka_settings.kafka, kafka_settings.topics.turns))
    codec = SingleObjectCodec()
    conversations = [codec.decode(m.value(), ConversationTurn, "").conversation_id for m in messages]
    assert conversations.count("c9") == 3
    assert conversations.count("conv-30") == 369
