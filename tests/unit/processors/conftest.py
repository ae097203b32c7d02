"""Builders shared by the processor tests: turns with sensible defaults and a tiny deterministic embedder."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from schemas.events import ConversationTurn, Role

T0 = datetime(2024, 5, 8, 13, 56, tzinfo=UTC)


class WordEmbedder:
    """Bag of words hashed by character codes into 64 buckets, L2-normalised: same words, same vector."""

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in "".join(c if c.isalnum() else " " for c in text.lower()).split():
                out[row, sum(map(ord, word)) % 64] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


TurnFactory = Callable[..., ConversationTurn]


@pytest.fixture
def make_turn() -> TurnFactory:
    """`make_turn(content, **fields)`: turn indexes count up and event times advance 30 s per turn."""
    counter = itertools.count()

    def build(content: str | None = "hello there", **fields: Any) -> ConversationTurn:
        index = fields.pop("turn_index", None)
        index = next(counter) if index is None else index
        values: dict[str, Any] = {
            "event_id": f"evt-{index}",
            "conversation_id": "conv-1",
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

    return build
