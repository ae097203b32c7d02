"""A turn dated 9999, a turn far ahead of its publish time, and a conversation whose processing raises, between
good turns of other conversations; the processors worker killed and restarted twice. Every good turn is
accounted for, the poison is quarantined with its reason, and the worker never stops for it."""

from __future__ import annotations

import random
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scenario_support import FAULTS, Pipeline, record

from schemas.codec import SingleObjectCodec, to_avro_dict
from schemas.events import ConversationTurn, Role
from schemas.keys import conversation_key
from streams.kafka.consumer import read_topic
from streams.kafka.headers import ErrorInfo
from streams.kafka.parking import message_headers
from streams.settings import Settings

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
LINES = (
    "I moved to Lisbon in May and I work at the harbour office.",
    "We decided to ship the release on Thursday.",
    "TODO: send the contract to Lena by Friday.",
    "My daughter starts school in September.",
    "Thanks!",
    "ValueError: invalid literal for int() with base 10",
)


def turns(conversation: str, count: int, rng: random.Random) -> list[ConversationTurn]:
    return [
        ConversationTurn(
            event_id=f"{conversation}-{i}",
            conversation_id=conversation,
            turn_index=i,
            tenant_id="acme",
            user_id=f"user-{conversation}",
            platform="test",
            role=Role.USER,
            content=f"{rng.choice(LINES)} ({i})",
            token_count=0,
            event_time=T0 + timedelta(seconds=20 * i),
        )
        for i in range(count)
    ]


def raw_turn(turn: ConversationTurn, **avro_fields: object) -> bytes:
    """The turn encoded as a foreign producer might: fields the model would refuse, written anyway."""
    codec = SingleObjectCodec()
    record_ = {**to_avro_dict(turn), **avro_fields}
    return SingleObjectCodec.encode_with(codec.catalogue.current(ConversationTurn.avro_name), record_)


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_poison_turns_are_contained_across_two_kills(kafka_settings: Settings, tmp_path: Path) -> None:
    pipeline = Pipeline.for_test(kafka_settings, tmp_path)
    rng = random.Random(9)
    good = [t for c in range(3) for t in turns(f"conv-{c}", 40, rng)]
    bomb = turns("conv-bomb", 5, rng)
    rng.shuffle(good)
    pipeline.publish(good[:40])
    year_9999 = bomb[0].model_copy(update={"conversation_id": "conv-9999", "event_id": "e-9999"})
    pipeline.produce_raw(
        conversation_key("acme", "conv-9999").encode(),
        raw_turn(year_9999, event_time=millis(datetime(9999, 12, 31, 23, 59, tzinfo=UTC))),
    )
    ahead = bomb[1].model_copy(update={"conversation_id": "conv-ahead", "event_id": "e-ahead"})
    pipeline.produce_raw(
        conversation_key("acme", "conv-ahead").encode(),
        raw_turn(ahead, published_at=millis(T0), event_time=millis(T0 + timedelta(days=400))),
    )
    pipeline.publish(bomb)
    pipeline.publish(good[40:80])

    faults = {"PYTHONPATH": str(FAULTS), "TEST_FAULT_FAIL_CONVERSATION": "conv-bomb"}
    kills = 0
    for remaining in (good[80:100], good[100:]):
        worker = pipeline.processors(idle_exit_s=600, env=faults)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and sum(
            1 for _ in read_topic(pipeline.settings.kafka, pipeline.settings.topics.skipped)
        ) < 10 * (kills + 1):
            time.sleep(0.3)
        worker.send_signal(signal.SIGKILL)
        worker.wait(20)
        kills += 1
        pipeline.publish(remaining)
    pipeline.drain_processors(env=faults)
    logs = "".join(path.read_text(errors="replace") for path in tmp_path.glob("processors-*.log"))
    assert "processors.turn_failed" in logs, "the injected fault was hit and logged"

    report = pipeline.verify()
    quarantined = {
        (info.partition, info.offset): info
        for info in (
            ErrorInfo.from_headers(message_headers(m))
            for m in read_topic(pipeline.settings.kafka, pipeline.settings.topics.quarantine)
        )
        if info is not None
    }
    reasons = sorted(info.error_class for info in quarantined.values())
    record(
        "poison turns (9999, clock ahead, raising conversation) + 2 kills",
        sent=len(good) + len(bomb) + 2,
        accounted=report.turns - report.turns_lost - report.turns_pending,
        lost=report.turns_lost,
        duplicated=report.turns_duplicated,
        quarantined=report.turns_quarantined,
        kills=kills,
        verdict=report.verdict,
    )
    assert report.turns == len(good) + len(bomb) + 2
    assert report.turns_lost == 0 and report.turns_duplicated == 0 and report.turns_pending == 0, report.discrepancies
    assert report.turns_quarantined == len(bomb) + 2, reasons
    assert reasons.count("ArithmeticError") == len(bomb)
    messages = " ".join(info.message for info in quarantined.values())
    assert "outside 1970..2199" in messages and "after the turn was published" in messages
    assert report.turns_skipped + report.turns_in_requests == len(good), "every good turn went on"
