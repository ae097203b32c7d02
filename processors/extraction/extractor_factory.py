"""Which extractor a worker runs: `MEMLANE_EXTRACTOR=auto|ollama|heuristic`, and the Claude fallback.

    heuristic   the rule-based extractor, no model server needed
    ollama      the Ollama extractor, whatever its health (failures go to the dead-letter topic)
    auto        Ollama when `/api/tags` answers and lists the fast model; the heuristic extractor otherwise
                (also when the `extraction` extra is not installed)

The choice is made once, at start; the worker keeps probing health (`Extractor.health()`) and a restart
re-decides. The `ollama` and `anthropic` libraries are imported only when needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import structlog

from processors.extraction.budget import DailyBudget
from processors.extraction.contract import Extractor
from processors.extraction.extraction_settings import ExtractionSettings
from processors.extraction.governor import BlobReader
from processors.extraction.heuristic import HeuristicExtractor

if TYPE_CHECKING:
    from processors.extraction.claude_extractor import ClaudeExtractor

log = structlog.get_logger(__name__)

ExtractorChoice = Literal["auto", "ollama", "heuristic"]


def choose_extractor(
    choice: ExtractorChoice, settings: ExtractionSettings, *, ollama_url: str, blobs: BlobReader | None = None
) -> Extractor:
    """The extractor `choice` names (for `auto`: after one health check of the Ollama server at `ollama_url`)."""
    heuristic = HeuristicExtractor(max_items_per_kind=settings.max_items_per_kind)
    if choice == "heuristic":
        return heuristic
    try:
        from processors.extraction.ollama_extractor import OllamaExtractor
    except ImportError:
        if choice == "ollama":
            raise
        log.warning("extractor.fallback_to_heuristic", reason="the ollama library is not installed")
        return heuristic
    extractor = OllamaExtractor.connect(ollama_url, settings, blobs=blobs)
    if choice == "ollama":
        return extractor
    status = extractor.health().check()
    fast = settings.fast_model
    if not status.reachable or fast in status.missing:
        why = status.error if not status.reachable else f"it lacks {fast}"
        log.warning("extractor.fallback_to_heuristic", ollama_url=ollama_url, reason=why)
        extractor.close()
        return heuristic
    if status.missing:
        log.warning("extractor.models_missing", ollama_url=ollama_url, missing=list(status.missing))
    return extractor


def build_fallback(
    settings: ExtractionSettings,
    *,
    api_key: str | None,
    base_url: str | None = None,
    blobs: BlobReader | None = None,
    budget: DailyBudget | None = None,
) -> ClaudeExtractor:
    """The Claude extractor of the DLQ consumer (it fails with `no_api_key` when no key is set)."""
    from processors.extraction.claude_extractor import ClaudeExtractor

    return ClaudeExtractor.connect(settings, api_key=api_key, base_url=base_url, blobs=blobs, budget=budget)


__all__ = ["ExtractorChoice", "build_fallback", "choose_extractor"]
