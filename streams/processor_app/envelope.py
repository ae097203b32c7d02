"""What one value of the `conversation-state` table holds: a conversation's state and how far it got.

    {"v": 1, "partition": 2, "offset": 4711, "state": {...ConversationState.to_dict()...}}

`partition` and `offset` locate the last turn applied to the state on the turns topic. A turn at or below
that offset on that partition is a *replay* after a restart (its outputs were delivered before the state
was written, see `streams.processor_app.runtime`), so the wiring emits nothing for it; a turn at a new
offset whose index was already seen is a genuine duplicate event and gets the pure processor's
`redelivered` skip record. `pending_window` reads only what the flush schedule needs, without building
the whole state (used when a worker indexes the windows of newly assigned partitions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from processors.state import ConversationState
from schemas.errors import ValidationError

ENVELOPE_VERSION = 1


@dataclass(frozen=True)
class StoredState:
    """A conversation's state with the position of the last turn applied to it."""

    state: ConversationState
    partition: int
    offset: int = -1

    def applied(self, partition: int, offset: int) -> bool:
        """Was the turn at `partition`/`offset` already applied to this state?"""
        return partition == self.partition and offset <= self.offset

    def to_bytes(self) -> bytes:
        payload: dict[str, Any] = {"v": ENVELOPE_VERSION, "partition": self.partition, "offset": self.offset}
        payload["state"] = self.state.to_dict()
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> StoredState:
        """The value `to_bytes` wrote; `ValidationError` for another version or a damaged value."""
        data = _load(raw)
        return cls(
            state=ConversationState.from_dict(_field(data, "state", dict)),
            partition=_field(data, "partition", int),
            offset=_field(data, "offset", int),
        )


@dataclass(frozen=True)
class PendingWindow:
    """The parts of a stored state that say whether and when its pending window is due."""

    partition: int
    last_activity: datetime
    window_opened_at: datetime


def pending_window(raw: bytes) -> PendingWindow | None:
    """The pending window of a stored value, or None when the conversation has nothing pending."""
    data = _load(raw)
    state = _field(data, "state", dict)
    if not state.get("pending"):
        return None
    try:
        return PendingWindow(
            partition=_field(data, "partition", int),
            last_activity=datetime.fromisoformat(str(state["last_activity"])),
            window_opened_at=datetime.fromisoformat(str(state["window_opened_at"])),
        )
    except (KeyError, ValueError) as exc:
        raise ValidationError(f"stored state with a pending window but no clocks: {exc}") from exc


def _load(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"stored conversation state is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("v") != ENVELOPE_VERSION:
        version = data.get("v") if isinstance(data, dict) else None
        raise ValidationError(f"unsupported stored state version {version!r}", field="v")
    return data


def _field(data: dict[str, Any], name: str, kind: type[Any]) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValidationError(f"stored state field {name!r} is not a {kind.__name__}", field=name)
    return value


__all__ = ["ENVELOPE_VERSION", "PendingWindow", "StoredState", "pending_window"]
