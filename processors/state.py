"""Per-conversation state of the processors: the pending window, the trigger clocks and the dedupe memory.

`ConversationState` is immutable (stages return a new one) and small enough for one value of a Faust table
on RocksDB: `to_dict()` gives plain JSON types and `from_dict()` reads them back (unknown versions are
refused). Its size is bounded by the settings: the pending window by `max_batch_tokens`, the exact-dedupe
memory by `recent_hashes` (16 hex characters each) and the near-dedupe memory by `recent_vectors`, each
vector kept as base64 of float16 (768 bytes for a 384-dimension embedding, ~1e-3 cosine error).
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from schemas.errors import ValidationError
from schemas.events import ConversationTurn, WindowTurn

STATE_VERSION = 1


def encode_vector(vector: npt.NDArray[np.floating[Any]]) -> str:
    """A 1-D vector as base64 of its little-endian float16 values."""
    return base64.b64encode(np.asarray(vector, dtype="<f2").tobytes()).decode("ascii")


@functools.lru_cache(maxsize=16384)
def decode_vector(encoded: str) -> npt.NDArray[np.float32]:
    """The float32 vector `encode_vector` stored (read-only: decoded once, cached, shared by every state)."""
    vector = np.frombuffer(base64.b64decode(encoded), dtype="<f2").astype(np.float32)
    vector.flags.writeable = False
    return vector


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


@dataclass(frozen=True)
class ConversationState:
    """What the processors remember about one conversation between two of its turns."""

    conversation_id: str
    tenant_id: str
    user_id: str
    """The conversation's user: the one of its first turn (each window turn keeps its own speaker)."""
    agent_id: str | None = None
    pending: tuple[WindowTurn, ...] = ()
    """Accepted turns not yet in a request: the window being accumulated."""
    pending_cues: tuple[str, ...] = ()
    """Union of the pending turns' cues, first seen first."""
    window_opened_at: datetime | None = None
    """Event time of the oldest pending turn (the fact-flush clock)."""
    last_activity: datetime | None = None
    """Event time of the latest turn seen (the idle clock)."""
    last_turn_index: int = -1
    """Highest turn index seen; a turn at or below it is a redelivery."""
    last_extracted_turn: int = -1
    """Last turn index put into a request."""
    recent_hashes: tuple[tuple[str, int], ...] = ()
    """(normalised-text hash, turn index) of recently forwarded turns, oldest first."""
    recent_vectors: tuple[tuple[int, str], ...] = ()
    """(turn index, encoded embedding) of recently forwarded turns, oldest first."""
    counters: dict[str, int] = field(default_factory=dict)
    """Turns seen, skipped (per reason), forwarded and requests emitted: for reconciliation."""

    @classmethod
    def for_turn(cls, turn: ConversationTurn) -> ConversationState:
        """The empty state of the conversation `turn` opens."""
        return cls(
            conversation_id=turn.conversation_id,
            tenant_id=turn.tenant_id,
            user_id=turn.user_id,
            agent_id=turn.agent_id,
        )

    @property
    def pending_tokens(self) -> int:
        """Tokens accumulated since the last extraction (the pending window's size)."""
        return sum(t.token_count for t in self.pending)

    def count(self, *names: str) -> ConversationState:
        """This state with each counter in `names` incremented by one."""
        counters = dict(self.counters)
        for name in names:
            counters[name] = counters.get(name, 0) + 1
        return replace(self, counters=counters)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (what the Faust table stores)."""
        return {
            "v": STATE_VERSION,
            "conversation_id": self.conversation_id,
            "tenant_id": self.tenant_id,
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "pending": [t.model_dump(mode="json") for t in self.pending],
            "pending_cues": list(self.pending_cues),
            "window_opened_at": _time(self.window_opened_at),
            "last_activity": _time(self.last_activity),
            "last_turn_index": self.last_turn_index,
            "last_extracted_turn": self.last_extracted_turn,
            "recent_hashes": [[h, i] for h, i in self.recent_hashes],
            "recent_vectors": [[i, v] for i, v in self.recent_vectors],
            "counters": dict(sorted(self.counters.items())),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        """The state `to_dict` produced; raises `ValidationError` on another version or a bad shape."""
        if data.get("v") != STATE_VERSION:
            raise ValidationError(f"unsupported conversation state version {data.get('v')!r}", field="v")
        try:
            return cls(
                conversation_id=str(data["conversation_id"]),
                tenant_id=str(data["tenant_id"]),
                user_id=str(data["user_id"]),
                agent_id=data.get("agent_id"),
                pending=tuple(WindowTurn.model_validate(t) for t in data.get("pending", ())),
                pending_cues=tuple(str(c) for c in data.get("pending_cues", ())),
                window_opened_at=_parse_time(data.get("window_opened_at")),
                last_activity=_parse_time(data.get("last_activity")),
                last_turn_index=int(data.get("last_turn_index", -1)),
                last_extracted_turn=int(data.get("last_extracted_turn", -1)),
                recent_hashes=tuple((str(h), int(i)) for h, i in data.get("recent_hashes", ())),
                recent_vectors=tuple((int(i), str(v)) for i, v in data.get("recent_vectors", ())),
                counters={str(k): int(v) for k, v in data.get("counters", {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"invalid conversation state: {exc}") from exc


__all__ = ["STATE_VERSION", "ConversationState", "decode_vector", "encode_vector"]
