"""Extraction settings from the environment, the extractor choice, and the package's public API."""

from __future__ import annotations

import pytest
from extraction_support import simple_request

from processors import extraction
from processors.extraction.claude_extractor import ClaudeExtractor
from processors.extraction.extraction_settings import ExtractionSettings
from processors.extraction.extractor_factory import build_fallback, choose_extractor
from processors.extraction.ollama_extractor import OllamaExtractor
from schemas.errors import ConfigError, ExtractionError
from streams.settings import Settings
from streams.testing.fake_ollama import FakeOllamaServer


def test_defaults_match_the_issue() -> None:
    s = ExtractionSettings()
    assert (s.fast_model, s.complex_model) == ("qwen2.5:7b-instruct", "qwen2.5:32b-instruct")
    assert (s.temperature, s.num_ctx, s.ollama_parallelism, s.min_confidence) == (0.3, 4096, 1, 0.7)
    assert (s.breaker_failure_threshold, s.breaker_cooldown_s) == (5, 300.0)
    assert (s.governor_warn_tokens, s.governor_pointer_tokens) == (20_000, 40_000)
    assert s.claude_model == "claude-sonnet-4-6"


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMLANE_EXTRACTION__FAST_MODEL", "llama3.2:3b")
    monkeypatch.setenv("MEMLANE_EXTRACTION__ROUTING__MIN_SPEAKERS", "4")
    monkeypatch.setenv("MEMLANE_EXTRACTION__PRICES", '{"my-model": [1.5, 2.5]}')
    s = Settings().extraction
    assert s.fast_model == "llama3.2:3b" and s.routing.min_speakers == 4
    assert s.prices == {"my-model": (1.5, 2.5)}


def test_num_ctx_and_the_output_cap_per_model_and_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMLANE_EXTRACTION__NUM_CTX_BY_MODEL", '{"qwen2.5:32b-instruct": 16384}')
    s = Settings().extraction
    assert (s.num_ctx_of("qwen2.5:32b-instruct"), s.num_ctx_of("qwen2.5:7b-instruct")) == (16384, 4096)
    assert [s.answer_items(turns) for turns in (1, 4, 5, 12, 200)] == [1, 1, 2, 3, 20]
    assert s.num_predict(1) == 64 + 100 * 4 and s.num_predict(200) == s.max_output_tokens == 1536
    with pytest.raises(ConfigError):
        ExtractionSettings(num_ctx_by_model={"tiny": 100})


def test_inconsistent_thresholds_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        ExtractionSettings(governor_warn_tokens=50_000, governor_pointer_tokens=40_000)
    with pytest.raises(ConfigError):
        ExtractionSettings(backoff_base_s=10, backoff_max_s=1)


def chosen(settings: Settings) -> str:
    """The class name of the extractor `choose_extractor` picks (closed again at once)."""
    extractor = choose_extractor(settings.extractor, settings.extraction, ollama_url=settings.ollama_url, blobs=None)
    if isinstance(extractor, OllamaExtractor):
        extractor.close()
    return type(extractor).__name__


def settings_for(url: str, mode: str) -> Settings:
    return Settings(ollama_url=url, extractor=mode, extraction=ExtractionSettings(fast_model="qwen2.5:7b-instruct"))


def test_auto_uses_ollama_when_it_answers_with_the_fast_model() -> None:
    with FakeOllamaServer(["qwen2.5:7b-instruct"]) as server:
        assert chosen(settings_for(server.url, "auto")) == "OllamaExtractor"
        assert server.request_count("/api/tags") == 1


def test_auto_falls_back_to_heuristic_when_ollama_is_down_or_lacks_the_model() -> None:
    with FakeOllamaServer(["llama3.2:3b"]) as server:
        assert chosen(settings_for(server.url, "auto")) == "HeuristicExtractor"
        server.pause()
        assert chosen(settings_for(server.url, "auto")) == "HeuristicExtractor"
        server.resume()


def test_explicit_modes_do_not_probe() -> None:
    with FakeOllamaServer(["llama3.2:3b"]) as server:
        assert chosen(settings_for(server.url, "ollama")) == "OllamaExtractor"
        assert chosen(settings_for(server.url, "heuristic")) == "HeuristicExtractor"
        assert server.request_count() == 0


def test_fallback_without_a_key_is_built_and_refuses() -> None:
    fallback = build_fallback(ExtractionSettings(), api_key=None)
    assert isinstance(fallback, ClaudeExtractor)
    fallback.close()
    with pytest.raises(ExtractionError) as info:
        fallback.extract(simple_request())
    assert info.value.error_class == "no_api_key"


def test_public_api_resolves() -> None:
    for name in extraction.__all__:
        assert getattr(extraction, name) is not None, name
    assert sorted(extraction.__all__) == sorted(set(extraction.__all__))
