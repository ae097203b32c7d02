"""Extraction: the extractor contract and policy table, the heuristic, Ollama and Claude extractors, the breaker.

    contract     Extractor (extract / health / close), ExtractionOutcome, build_batch, extract_all
    policy       ErrorClass and what each class means for retries, the breaker and the fallback
    heuristic    the rule-based offline extractor
    ollama_extractor / claude_extractor   the model extractors (need the `extraction` extra)
    extractor_factory                     which extractor a worker runs

The model extractors import optional libraries, so they are imported from their own modules, never from here.
"""

from processors.extraction.breaker import BreakerState, CircuitBreaker
from processors.extraction.budget import DailyBudget
from processors.extraction.contract import (
    ExtractionOutcome,
    Extractor,
    HealthProbe,
    HealthStatus,
    SourcePosition,
    StaticHealth,
    build_batch,
    extract_all,
    extraction_failure,
    usage_of,
)
from processors.extraction.governor import BlobReader, GovernedWindow, GovernorMode, TokenGovernor
from processors.extraction.heuristic import HeuristicExtractor
from processors.extraction.memory_ids import batch_id, memory_id
from processors.extraction.policy import POLICY, ErrorClass, Policy, policy_of
from processors.extraction.pricing import PriceTable
from processors.extraction.result import ExtractedItem, ExtractionResult, result_json_schema
from processors.extraction.routing import RouteDecision, Tier, route

__all__ = [
    "POLICY",
    "BlobReader",
    "BreakerState",
    "CircuitBreaker",
    "DailyBudget",
    "ErrorClass",
    "ExtractedItem",
    "ExtractionOutcome",
    "ExtractionResult",
    "Extractor",
    "GovernedWindow",
    "GovernorMode",
    "HealthProbe",
    "HealthStatus",
    "HeuristicExtractor",
    "Policy",
    "PriceTable",
    "RouteDecision",
    "SourcePosition",
    "StaticHealth",
    "Tier",
    "TokenGovernor",
    "batch_id",
    "build_batch",
    "extract_all",
    "extraction_failure",
    "memory_id",
    "policy_of",
    "result_json_schema",
    "route",
    "usage_of",
]
