"""Shared helpers of the processors-worker tests: worker processes, test turns, and reading the outputs back.

Each worker is a separate OS process (`python -m streams.cli worker processors`) configured through the
environment, with the test's uuid topics, its own app id (consumer group, changelog and tick topics) and
its own RocksDB directory. Turns carry recent event times: the turns topic keeps messages by their
(event-time) timestamps for 90 days, so older ones would be deleted by retention under the test.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.codec import SingleObjectCodec
from schemas.events import ConversationTurn, ExtractionRequest, Role, SkipRecord
from streams.ingest.publisher import TurnPublisher
from streams.kafka.consumer import read_topic
from streams.kafka.headers import ErrorInfo
from streams.kafka.parking import message_headers
from streams.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[3]

CONTENT = [
    "Hey! How are you doing today?",
    "ok",
    "Thanks so much!",
    "Wow, that's awesome, congrats!",
    "My daughter starts school in September, she is {n} now.",
    "We decided to move the launch of project {n} to Thursday.",
    "TODO: send contract {n} to Lena by Friday.",
    "The build failed with exit code {n} on the arm64 runner.",
    "I went hiking near Sintra with my brother last weekend, {n} km in total.",
    "I have been learning to play the cello for {n} months now.",
    "Next step: I'll draft proposal {n} and share it tomorrow.",
    "lol",
    'My favourite book is "The Left Hand of Darkness", I read it {n} times.',
    "Our team moved to the Berlin office in {n}.",
    "I bought a second-hand bike for {n} euros yesterday.",
]


def make_turns(
    conversations: int, per_conversation: int, *, seed: int = 7, prefix: str = "conv"
) -> list[ConversationTurn]:
    """Interleaved turns of `conversations` conversations (30 s apart in event time, ending about now)."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(seconds=30 * per_conversation + 600)
    turns = []
    for index in range(per_conversation):
        for c in range(conversations):
            template = rng.choice(CONTENT)
            turns.append(
                ConversationTurn(
                    event_id=f"{prefix}-{c}-{index}",
                    conversation_id=f"{prefix}-{c}",
                    turn_index=index,
                    tenant_id="acme",
                    user_id=f"user-{c}",
                    platform="test",
                    role=Role.USER if index % 2 == 0 else Role.ASSISTANT,
                    speaker=f"user-{c}" if index % 2 == 0 else "agent",
                    content=template.format(n=rng.randint(2, 999)),
                    token_count=0,
                    event_time=start + timedelta(seconds=30 * index, milliseconds=c),
                )
            )
    return turns


def publish(settings: Settings, turns: list[ConversationTurn]) -> None:
    with TurnPublisher(settings.stream_context()) as publisher:
        for turn in turns:
            publisher.publish(turn)
    assert publisher.summary.delivered == len(turns)


def worker_env(settings: Settings, app_id: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "MEMLANE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        **{f"MEMLANE_TOPICS__{name.upper()}": value for name, value in settings.topics.model_dump().items()},
        "MEMLANE_PROCESSOR_APP__APP_ID": app_id,
        "MEMLANE_PROCESSOR_APP__DATA_DIR": str(data_dir),
        "MEMLANE_PROCESSOR_APP__SESSION_TIMEOUT_S": "6",
        "MEMLANE_PROCESSOR_APP__TICK_INTERVAL_S": "0.5",
        "MEMLANE_PROCESSOR_APP__COMMIT_INTERVAL_S": "0.3",
        "MEMLANE_PROCESSOR_APP__STANDBY_REPLICAS": "0",
    }
    env.update({f"MEMLANE_PROCESSOR_APP__{key.upper()}": value for key, value in extra.items()})
    return env


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assignments(self) -> list[list[int]]:
        """The partitions of each `processors.assigned` line logged so far."""
        found = []
        for line in self.log().splitlines():
            if "processors.assigned" in line and "partitions=[" in line:
                inside = line.split("partitions=[", 1)[1].split("]", 1)[0]
                found.append([int(p) for p in inside.split(",") if p.strip()])
        return found

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"worker did not exit within {timeout}s; log:\n{self.log()[-4000:]}") from None


@dataclass
class Outputs:
    """What the processors produced, decoded, with each record's raw bytes."""

    requests: list[tuple[bytes, ExtractionRequest]] = field(default_factory=list)
    skips: list[tuple[bytes, SkipRecord]] = field(default_factory=list)
    quarantined: list[tuple[bytes | None, bytes, ErrorInfo | None, int, int]] = field(default_factory=list)

    def verdicts(self) -> dict[tuple[str, int], set[str]]:
        """Per (conversation, turn index): the distinct request and skip ids that cover it."""
        found: dict[tuple[str, int], set[str]] = defaultdict(set)
        for _raw, request in self.requests:
            for turn in request.turns:
                found[(request.conversation_id, turn.turn_index)].add(f"request:{request.request_id}")
        for _raw, skip in self.skips:
            found[(skip.conversation_id, skip.turn_index)].add(f"skip:{skip.skip_id}")
        return found

    def conflicting_ids(self) -> list[str]:
        """Ids delivered more than once with different bytes (must never happen)."""
        seen: dict[str, bytes] = {}
        conflicts = []
        pairs = [(r.request_id, raw) for raw, r in self.requests] + [(s.skip_id, raw) for raw, s in self.skips]
        for record_id, raw in pairs:
            if record_id in seen and seen[record_id] != raw:
                conflicts.append(record_id)
            seen.setdefault(record_id, raw)
        return conflicts

    def duplicates(self) -> int:
        """Records delivered more than once (identical copies, as at-least-once allows)."""
        ids = [r.request_id for _, r in self.requests] + [s.skip_id for _, s in self.skips]
        return len(ids) - len(set(ids))


def read_outputs(settings: Settings) -> Outputs:
    codec = SingleObjectCodec()
    outputs = Outputs()
    for message in read_topic(settings.kafka, settings.topics.requests):
        raw = message.value() or b""
        outputs.requests.append((raw, codec.decode(raw, ExtractionRequest)))
    for message in read_topic(settings.kafka, settings.topics.skipped):
        raw = message.value() or b""
        outputs.skips.append((raw, codec.decode(raw, SkipRecord)))
    for message in read_topic(settings.kafka, settings.topics.quarantine):
        info = ErrorInfo.from_headers(message_headers(message))
        outputs.quarantined.append(
            (message.key(), message.value() or b"", info, message.partition() or 0, message.offset() or 0)
        )
    return outputs


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def accounted(settings: Settings, turns: list[ConversationTurn]) -> bool:
    verdicts = read_outputs(settings).verdicts()
    return all(verdicts.get((t.conversation_id, t.turn_index)) for t in turns)
