"""Builders shared by the processor-app unit tests: turns, encoded turn messages and a dict-backed state store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from processors.pipeline import TurnProcessor
from processors.stage_settings import ProcessorSettings
from schemas.codec import SingleObjectCodec
from schemas.events import ConversationTurn, Role
from schemas.keys import conversation_key
from streams.kafka.topic_catalogue import TopicNames
from streams.processor_app.envelope import StoredState
from streams.processor_app.planner import BatchPlanner, TurnMessage

T0 = datetime(2024, 5, 8, 13, 56, tzinfo=UTC)
TOPICS = TopicNames()
CODEC = SingleObjectCodec()


def turn(index: int, content: str, conversation: str = "conv-1", **fields: Any) -> ConversationTurn:
    values: dict[str, Any] = {
        "event_id": f"{conversation}-{index}",
        "conversation_id": conversation,
        "turn_index": index,
        "tenant_id": "acme",
        "user_id": "alice",
        "platform": "test",
        "role": Role.USER,
        "speaker": "alice",
        "content": content,
        "token_count": 0,
        "event_time": T0 + timedelta(seconds=30 * index),
    }
    values.update(fields)
    return ConversationTurn(**values)


def message(t: ConversationTurn, offset: int, partition: int = 0, key: bytes | None = None) -> TurnMessage:
    key = conversation_key(t.tenant_id, t.conversation_id).encode() if key is None else key
    return TurnMessage(TOPICS.turns, partition, offset, key, CODEC.encode(t), ())


def planner(settings: ProcessorSettings | None = None) -> BatchPlanner:
    return BatchPlanner(TurnProcessor(settings or ProcessorSettings(), source_topic=TOPICS.turns), CODEC, TOPICS)


class Table:
    """The `conversation-state` table as a dict of the bytes the runtime would store."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.reads = 0

    def read(self, conversation: str, partition: int) -> StoredState | None:
        self.reads += 1
        raw = self.data.get(conversation)
        return StoredState.from_bytes(raw) if raw is not None else None

    def write(self, states: dict[str, StoredState]) -> None:
        for conversation, stored in states.items():
            self.data[conversation] = stored.to_bytes()


CONTENT = [
    "Hey! How are you?",
    "I went hiking near Sintra with my brother last weekend.",
    "ok",
    "My daughter starts school in September.",
    "We decided to move the launch to Thursday.",
    "Thanks so much!",
    "I have been learning the cello for 3 months now.",
    "I went hiking near Sintra with my brother last weekend.",
    "TODO: send the contract to Lena",
    "Our team moved to the Berlin office in 2021.",
]


def conversation(count: int = 30, name: str = "conv-1") -> list[ConversationTurn]:
    return [turn(i, CONTENT[i % len(CONTENT)] + ("" if i < len(CONTENT) else f" ({i})"), name) for i in range(count)]
