"""Processor settings: the documented defaults, nesting under MEMLANE_PROCESSORS__*, refused combinations."""

from __future__ import annotations

import pytest

from processors.stage_settings import PriorityWeights, ProcessorSettings
from schemas.errors import ConfigError
from streams.settings import Settings


def test_defaults_match_the_issue() -> None:
    settings = ProcessorSettings()
    assert settings.context_usage_ratio == 0.8
    assert (settings.idle_timeout_s, settings.fact_flush_interval_s) == (300.0, 900.0), (
        "live defaults: facts in minutes"
    )
    assert settings.near_duplicate_threshold == 0.85
    assert settings.weights == PriorityWeights(error=1.0, decision=0.9, next_step=0.8, fact=0.5, chit_chat=0.1)
    assert settings.chit_chat_skip_threshold < settings.weights.fact
    assert settings.weights.next_step >= settings.extract_now_threshold > settings.weights.fact


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMLANE_PROCESSORS__TOKEN_THRESHOLD", "900")
    monkeypatch.setenv("MEMLANE_PROCESSORS__WEIGHTS__FACT", "0.6")
    monkeypatch.setenv("MEMLANE_PROCESSORS__CUE_WEIGHTS", '{"fact:attachment": 0.5}')
    processors = Settings().processors
    assert processors.token_threshold == 900
    assert processors.weights.fact == 0.6
    assert processors.cue_weights == {"fact:attachment": 0.5}


def test_contradictory_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="TOKEN_THRESHOLD"):
        ProcessorSettings(token_threshold=5000, max_batch_tokens=4000)
    with pytest.raises(ConfigError, match="chit_chat_skip_threshold"):
        ProcessorSettings(chit_chat_skip_threshold=0.9, extract_now_threshold=0.8)
