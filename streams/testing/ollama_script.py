"""What a fake Ollama server holds and how it behaves: its models, its responder, its failure kinds.

Owns `FakeModel` (one pulled model, listed by `GET /api/tags` with the real field shapes), the default
catalogue, `default_responder` (the smallest JSON document valid against the request's `format` schema)
and `OllamaScript`, the thread-safe runtime knobs of `FakeOllamaServer`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from streams.testing.llm_content import minimal_instance
from streams.testing.script import StubScript

OllamaFailure = Literal["malformed_json", "http_500", "busy", "timeout", "refuse", "schema_violation"]
Responder = Callable[[dict[str, Any]], str]

DEFAULT_TEXT = "This is a reply from the fake Ollama server."
LOADED_NS = 1_000_000
"""The `load_duration` a call to a model already loaded reports."""


def with_tag(name: str) -> str:
    """`name` with ``:latest`` added when it has no tag, as Ollama resolves model names."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


@dataclass(frozen=True)
class FakeModel:
    """A model the server has 'pulled'; `name` without a tag means ``:latest``."""

    name: str
    family: str = "llama"
    parameter_size: str = "3.2B"
    quantization_level: str = "Q4_K_M"
    size: int = 2_019_393_189
    embedding_length: int = 768
    embedding_only: bool = False

    @property
    def full_name(self) -> str:
        return with_tag(self.name)

    def tag_entry(self) -> dict[str, Any]:
        """The model as `GET /api/tags` lists it."""
        return {
            "name": self.full_name,
            "model": self.full_name,
            "modified_at": "2025-01-01T00:00:00Z",
            "size": self.size,
            "digest": hashlib.sha256(self.full_name.encode()).hexdigest(),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": self.family,
                "families": [self.family],
                "parameter_size": self.parameter_size,
                "quantization_level": self.quantization_level,
            },
        }


DEFAULT_MODELS: tuple[FakeModel, ...] = (
    FakeModel("llama3.2:3b"),
    FakeModel("qwen2.5:7b", family="qwen2", parameter_size="7.6B", size=4_683_087_332),
    FakeModel(
        "nomic-embed-text:latest",
        family="nomic-bert",
        parameter_size="137M",
        quantization_level="F16",
        size=274_302_450,
        embedding_only=True,
    ),
)


def default_responder(request: dict[str, Any]) -> str:
    """Smallest JSON valid against a schema `format`, ``{}`` for ``format: "json"``, else fixed text."""
    fmt = request.get("format")
    if isinstance(fmt, dict):
        return json.dumps(minimal_instance(fmt))
    if fmt == "json":
        return "{}"
    return DEFAULT_TEXT


class OllamaScript(StubScript[OllamaFailure]):
    """`StubScript` plus the responder, how long a ``timeout`` failure hangs, and model loads: the first call to
    a model, and a call with another `num_ctx` than the loaded one, wait `load_seconds` (others wait for it)."""

    def __init__(self, *, responder: Responder | None, latency: float, parallel: int, hang_seconds: float) -> None:
        super().__init__(get_args(OllamaFailure), latency=latency, parallel=parallel)
        self._content_lock = threading.Lock()
        self._responder: Responder = responder or default_responder
        self.hang_seconds = hang_seconds
        self.load_seconds = 0.0
        self.loads = 0
        self._load_lock = threading.Lock()
        self._loaded: dict[str, int] = {}

    def load(self, model: str, num_ctx: int) -> int:
        """Load `model` with `num_ctx` unless it is loaded so; the nanoseconds the load took (`load_duration`)."""
        with self._load_lock:
            if self._loaded.get(model) == num_ctx:
                return LOADED_NS
            began = time.monotonic()
            time.sleep(self.load_seconds)
            self._loaded[model] = num_ctx
            self.loads += 1
            return max(LOADED_NS, int((time.monotonic() - began) * 1e9))

    @property
    def responder(self) -> Responder:
        with self._content_lock:
            return self._responder

    @responder.setter
    def responder(self, responder: Responder | None) -> None:
        with self._content_lock:
            self._responder = responder or default_responder


__all__ = [
    "DEFAULT_MODELS",
    "DEFAULT_TEXT",
    "LOADED_NS",
    "FakeModel",
    "OllamaFailure",
    "OllamaScript",
    "Responder",
    "default_responder",
    "with_tag",
]
