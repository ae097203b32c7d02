"""Fixtures of the extraction tests: settings, a fake clock, and the fake Ollama / Anthropic servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from extraction_support import API_KEY, COMPLEX, FAST, FakeClock, ollama_responder, window_result

from processors.extraction.extraction_settings import ExtractionSettings
from streams.testing.fake_anthropic import FakeAnthropicServer
from streams.testing.fake_ollama import FakeOllamaServer


@pytest.fixture
def settings() -> ExtractionSettings:
    return ExtractionSettings(fast_model=FAST, complex_model=COMPLEX)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ollama_server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer([FAST, COMPLEX], responder=ollama_responder(), parallel=4, hang_seconds=5.0) as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(api_key=API_KEY, tool_responder=window_result, hang_seconds=5.0) as server:
        yield server
