"""Extraction: the extractor contract, the Ollama, heuristic and Claude extractors, and the circuit breaker."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from processors.extraction.breaker import BreakerState, CircuitBreaker
from processors.extraction.budget import DailyBudget
from processors.extraction.contract import (
    NOT_RETRIABLE,
    ErrorClass,
    ExtractionFailedError,
    ExtractionOutcome,
    Extractor,
    SourcePosition,
    build_batch,
    extract_all,
    usage_of,
)
from processors.extraction.extraction_settings import ExtractionSettings, RoutingRules
from processors.extraction.extractor_factory import build_fallback, choose_extractor
from processors.extraction.governor import BlobReader, GovernedWindow, GovernorMode, TokenGovernor
from processors.extraction.heuristic import HeuristicExtractor
from processors.extraction.memory_ids import batch_id, memory_id
from processors.extraction.pricing import PriceTable
from processors.extraction.result import ExtractedItem, ExtractionResult, result_json_schema
from processors.extraction.routing import RouteDecision, Tier, route

if TYPE_CHECKING:
    from processors.extraction.claude_extractor import ClaudeExtractor
    from processors.extraction.health import HealthStatus, OllamaHealth
    from processors.extraction.ollama_extractor import OllamaExtractor

# Names whose modules import the optional `ollama` / `anthropic` libraries: loaded on first use, so that
# `streams.settings` (which imports this package's settings) works without the `extraction` extra.
_LAZY = {
    "ClaudeExtractor": "processors.extraction.claude_extractor",
    "HealthStatus": "processors.extraction.health",
    "OllamaHealth": "processors.extraction.health",
    "OllamaExtractor": "processors.extraction.ollama_extractor",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "NOT_RETRIABLE",
    "BlobReader",
    "BreakerState",
    "CircuitBreaker",
    "ClaudeExtractor",
    "DailyBudget",
    "ErrorClass",
    "ExtractedItem",
    "ExtractionFailedError",
    "ExtractionOutcome",
    "ExtractionResult",
    "ExtractionSettings",
    "Extractor",
    "GovernedWindow",
    "GovernorMode",
    "HealthStatus",
    "HeuristicExtractor",
    "OllamaExtractor",
    "OllamaHealth",
    "PriceTable",
    "RouteDecision",
    "RoutingRules",
    "SourcePosition",
    "Tier",
    "TokenGovernor",
    "batch_id",
    "build_batch",
    "build_fallback",
    "choose_extractor",
    "extract_all",
    "memory_id",
    "result_json_schema",
    "route",
    "usage_of",
]
