"""Fixtures of the real-Ollama tests: the binary (found or built once), one server per session, its settings.

The model is SmolLM2-135M (the `test-model` extra): it tests the protocol, the error paths and the accounting,
not the quality of memories. Its Modelfile runs one thread; requests are small windows with num_predict caps.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from real_ollama import SESSION_PARALLEL, RealOllama, ollama_binary

from processors.extraction.extraction_settings import ExtractionSettings


@pytest.fixture(scope="session")
def ollama_bin() -> Path:
    return ollama_binary()


@pytest.fixture(scope="session")
def real_ollama(ollama_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealOllama]:
    env = {"OLLAMA_NUM_PARALLEL": str(SESSION_PARALLEL)}
    with RealOllama(ollama_bin, tmp_path_factory.mktemp("ollama"), env=env) as server:
        yield server


@pytest.fixture
def real_settings(real_ollama: RealOllama) -> ExtractionSettings:
    """memlane's defaults, with the test model on both routes."""
    return ExtractionSettings(fast_model=real_ollama.model, complex_model=real_ollama.model)
