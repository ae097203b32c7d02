"""Conversation state: a JSON round trip that loses nothing, compact vectors, refusal of unknown versions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import TurnFactory, WordEmbedder

from processors.dedupe import HashingEmbedder
from processors.pipeline import TurnProcessor
from processors.stage_settings import ProcessorSettings
from processors.state import STATE_VERSION, ConversationState, decode_vector, encode_vector
from schemas.errors import ValidationError


def test_round_trip_through_json_is_exact(make_turn: TurnFactory) -> None:
    processor = TurnProcessor(ProcessorSettings(recent_vectors=4), embedder=WordEmbedder())
    state = None
    for text in (
        "My sister moved to Porto last spring.",
        "Thanks!",
        "We adopted two cats named Miso and Tofu in 2021.",
        "I started a pottery class on Tuesdays.",
    ):
        state, _ = processor.process(state, make_turn(text, agent_id="agent-7"))
    assert state is not None and state.pending and state.recent_vectors and state.recent_hashes
    encoded = json.dumps(state.to_dict())
    restored = ConversationState.from_dict(json.loads(encoded))
    assert restored == state
    assert restored.to_dict() == state.to_dict()
    assert restored.pending_tokens == state.pending_tokens


def test_state_stays_bounded(make_turn: TurnFactory) -> None:
    settings = ProcessorSettings(recent_hashes=5, recent_vectors=3, max_window_turns=4)
    processor = TurnProcessor(settings, embedder=HashingEmbedder(dim=384))
    state = None
    for i in range(40):
        state, _ = processor.process(state, make_turn(f"I bought {i} new plants for the balcony garden {i * 7}."))
    assert state is not None
    assert len(state.recent_hashes) == 5 and len(state.recent_vectors) == 3
    assert len(state.pending) < 4
    assert len(json.dumps(state.to_dict())) < 8_000


def test_vectors_are_stored_as_float16() -> None:
    vector = np.random.default_rng(1).standard_normal(384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    encoded = encode_vector(vector)
    assert len(encoded) == 1024  # base64 of 768 bytes
    decoded = decode_vector(encoded)
    assert decoded.dtype == np.float32
    assert float(np.dot(decoded, vector)) == pytest.approx(1.0, abs=1e-3)


def test_unknown_version_or_shape_is_refused(make_turn: TurnFactory) -> None:
    data = ConversationState.for_turn(make_turn()).to_dict()
    assert data["v"] == STATE_VERSION
    with pytest.raises(ValidationError):
        ConversationState.from_dict({**data, "v": STATE_VERSION + 1})
    with pytest.raises(ValidationError):
        ConversationState.from_dict({k: v for k, v in data.items() if k != "tenant_id"})
    with pytest.raises(ValidationError):
        ConversationState.from_dict({**data, "pending": [{"turn_index": "x"}]})
