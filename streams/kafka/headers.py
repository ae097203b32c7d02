"""The `memlane.error.*` headers that travel with every message parked in the DLQ or quarantine topic.

The value keeps the original bytes untouched; the headers say where it came from and what went wrong:
stage, class, message, topic, partition, offset, attempts, model (the LLM that failed, or the extractor's
name when no model was called; empty on quarantined input), plus timestamp.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

PREFIX = "memlane.error."
REDRIVE_HEADER = "memlane.redrive.count"
"""How many times `memlane dlq redrive` sent a request back to extraction."""
_MAX_MESSAGE = 2000

Header = tuple[str, bytes]


@dataclass(frozen=True)
class ErrorInfo:
    """Why a message was parked, and where it was read from."""

    stage: str
    error_class: str
    message: str
    topic: str
    partition: int
    offset: int
    attempts: int = 1
    timestamp_ms: int = 0
    model: str = ""

    def to_headers(self) -> list[Header]:
        stamp = self.timestamp_ms or int(time.time() * 1000)
        values = {
            "stage": self.stage,
            "class": self.error_class,
            "message": self.message[:_MAX_MESSAGE],
            "topic": self.topic,
            "partition": str(self.partition),
            "offset": str(self.offset),
            "attempts": str(self.attempts),
            "timestamp": str(stamp),
        }
        if self.model:
            values["model"] = self.model
        return [(PREFIX + key, value.encode("utf-8")) for key, value in values.items()]

    @classmethod
    def from_headers(cls, headers: Sequence[tuple[str, bytes | str | None]] | None) -> ErrorInfo | None:
        """Read the error headers back; None when the message carries none."""
        found: dict[str, str] = {}
        for key, value in headers or ():
            if key.startswith(PREFIX) and value is not None:
                found[key[len(PREFIX) :]] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if "class" not in found:
            return None
        return cls(
            stage=found.get("stage", ""),
            error_class=found["class"],
            message=found.get("message", ""),
            topic=found.get("topic", ""),
            partition=int(found.get("partition", "-1")),
            offset=int(found.get("offset", "-1")),
            attempts=int(found.get("attempts", "1")),
            timestamp_ms=int(found.get("timestamp", "0")),
            model=found.get("model", ""),
        )


def without_error_headers(
    headers: Sequence[tuple[str, bytes | str | None]] | None,
) -> list[tuple[str, bytes]]:
    """The non-error headers of a message (to re-drive it with its original metadata)."""
    kept: list[tuple[str, bytes]] = []
    for key, value in headers or ():
        if not key.startswith(PREFIX) and value is not None:
            kept.append((key, value.encode() if isinstance(value, str) else value))
    return kept


def redrive_count(headers: Sequence[tuple[str, bytes | str | None]] | None) -> int:
    """The redrive counter a message carries (0 when it was never re-driven)."""
    for key, value in headers or ():
        if key == REDRIVE_HEADER and value is not None:
            try:
                return int(value.decode() if isinstance(value, bytes) else value)
            except ValueError:
                return 0
    return 0


__all__ = ["PREFIX", "REDRIVE_HEADER", "ErrorInfo", "Header", "redrive_count", "without_error_headers"]
