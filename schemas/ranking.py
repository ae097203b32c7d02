"""The RAG pre-ranking contract: how a re-ranker answers for a list of search candidates.

The search service (`sinks.search.context_api`) hands a re-ranker a query and the candidates' texts in search
order; the re-ranker (`processors.offload.rerank`) answers with a `Ranking`: every candidate's index, best
first, with the model's relevance where it gave one. `reranked` is False when the local model was unusable
(connection refused, timeout, an answer that is not the ranking asked for): the order is then the search
order and `reason` says why, so a caller knows it got plain search results. `tokens` is each candidate's
token count (`processors.tokens.estimate_tokens`), in candidate order: what handing it to a paid model costs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ranking:
    """A re-ranker's answer for `len(tokens)` candidates."""

    order: tuple[int, ...]
    """Candidate indexes (0-based, search order numbering), best first; a permutation of all candidates."""
    relevance: tuple[float | None, ...]
    """The model's relevance (0..1) of each entry of `order`; None where it did not rank that candidate."""
    tokens: tuple[int, ...]
    reranked: bool
    reason: str | None = None
    model: str | None = None
    latency_ms: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0

    @classmethod
    def search_order(cls, tokens: tuple[int, ...], reason: str, model: str | None = None) -> Ranking:
        """The fallback: candidates as search ordered them, and why the model did not re-rank."""
        count = len(tokens)
        return cls(tuple(range(count)), (None,) * count, tokens, reranked=False, reason=reason, model=model)


__all__ = ["Ranking"]
