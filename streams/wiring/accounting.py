"""The accounting verifier over one deployment: its topics, its groups, and the processors' open windows.

A turn the processors hold in a conversation's pending window is past their committed offset but in no
request or skip record yet: it waits in the durable state (the state table's changelog) for its window to
close. `open_window_turns` reads the latest state of every conversation from that changelog so the
verifier counts such turns as *in open windows*, not lost; `verify_deployment` runs the verifier with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from confluent_kafka import KafkaException

from schemas.errors import MemlaneError
from sinks.blobstore import BlobStore
from sinks.memory_store import MemoryStore
from streams.kafka.consumer import read_topic
from streams.processor_app.envelope import StoredState
from streams.processor_app.runtime import TABLE_NAME
from streams.settings import Settings
from streams.verifier import VerifyReport, verify
from streams.wiring.groups import verifier_groups


def state_changelog(settings: Settings) -> str:
    """The changelog topic of the processors' state table."""
    return f"{settings.processor_app.app_id}-{TABLE_NAME}-changelog"


def open_window_turns(settings: Settings) -> set[tuple[int, int]]:
    """`(partition, offset)` on the turns topic of every turn waiting in a pending window."""
    latest: dict[bytes, bytes | None] = {}
    try:
        for message in read_topic(settings.kafka, state_changelog(settings)):
            latest[message.key() or b""] = message.value()
    except (MemlaneError, KafkaException):
        return set()  # no changelog yet: no processors ran, no window is open
    positions: set[tuple[int, int]] = set()
    for value in latest.values():
        if not value:
            continue
        try:
            stored = StoredState.from_bytes(value)
        except MemlaneError:
            continue
        for turn in stored.state.pending:
            if turn.source_partition is not None and turn.source_offset is not None:
                positions.add((turn.source_partition, turn.source_offset))
    return positions


def verify_deployment(
    settings: Settings,
    *,
    store: MemoryStore | None = None,
    blobs: BlobStore | None = None,
    tenant_id: str | None = None,
    since: datetime | None = None,
    upstream_quarantine: Sequence[str] = (),
) -> VerifyReport:
    """The verifier's report on the deployment `settings` describe."""
    return verify(
        settings.stream_context(),
        verifier_groups(settings),
        store=store,
        blobs=blobs,
        tenant_id=tenant_id,
        since=since,
        upstream_quarantine=upstream_quarantine,
        open_windows=lambda: open_window_turns(settings),
    )


__all__ = ["open_window_turns", "state_changelog", "verify_deployment"]
