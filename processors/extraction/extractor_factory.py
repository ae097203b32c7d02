"""Which extractor a worker runs: `MEMLANE_EXTRACTOR=auto|ollama|heuristic`, and the Claude fallback.

    heuristic   the rule-based extractor, no model server needed
    ollama      the Ollama extractor, whatever its health (failures go to the dead-letter topic)
    auto        Ollama when `/api/tags` answers and lists the fast model; the heuristic extractor otherwise
                (also when the `extraction` extra is not installed)

The choice is made once, at start; the worker keeps probing health (`OllamaExtractor.health()`) and a
restart re-decides. The `ollama` and `anthropic` libraries are imported only when needed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from processors.extraction.budget import DailyBudget
from processors.extraction.contract import Extractor
from processors.extraction.governor import BlobReader
from processors.extraction.heuristic import HeuristicExtractor

if TYPE_CHECKING:
    from processors.extraction.claude_extractor import ClaudeExtractor
    from streams.settings import Settings

log = logging.getLogger(__name__)


def choose_extractor(settings: Settings, *, blobs: BlobReader | None = None) -> Extractor:
    """The extractor `settings.extractor` names (for `auto`: after one health check of Ollama)."""
    heuristic = HeuristicExtractor(max_items_per_kind=settings.extraction.max_items_per_kind)
    if settings.extractor == "heuristic":
        return heuristic
    try:
        from processors.extraction.ollama_extractor import OllamaExtractor
    except ImportError:
        if settings.extractor == "ollama":
            raise
        log.warning("ollama is not installed: using the heuristic extractor")
        return heuristic
    extractor = OllamaExtractor.from_settings(settings, blobs=blobs)
    if settings.extractor == "ollama":
        return extractor
    status = extractor.health().check()
    fast = settings.extraction.fast_model
    if not status.reachable or fast in status.missing:
        why = status.error if not status.reachable else f"it lacks {fast}"
        log.warning("Ollama at %s is not usable (%s): using the heuristic extractor", settings.ollama_url, why)
        extractor.close()
        return heuristic
    if status.missing:
        log.warning("Ollama at %s lacks %s: those windows will fail", settings.ollama_url, ", ".join(status.missing))
    return extractor


def build_fallback(
    settings: Settings, *, blobs: BlobReader | None = None, budget: DailyBudget | None = None
) -> ClaudeExtractor:
    """The Claude extractor of the DLQ consumer (it fails with `no_api_key` when no key is set)."""
    from processors.extraction.claude_extractor import ClaudeExtractor

    return ClaudeExtractor.from_settings(settings, blobs=blobs, budget=budget)


__all__ = ["build_fallback", "choose_extractor"]
