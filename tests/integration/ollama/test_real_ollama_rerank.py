"""RAG pre-ranking against the real Ollama with the packaged test model: the grammar-enforced ranking schema
is accepted and answered within bounds, and the usage carries the server's own counts. (SmolLM2-135M tests
the protocol, not the quality of a ranking.)"""

from __future__ import annotations

from real_ollama import RealOllama

from processors.offload.offload_settings import OffloadSettings
from processors.offload.rerank import OllamaReranker
from schemas.events import UsageRecord

TEXTS = [
    "Caroline went to an LGBTQ support group on 7 May",
    "Melanie painted a sunrise over a lake",
    "Caroline is researching adoption agencies",
    "Melanie ran a charity race for mental health",
]


def test_the_real_server_answers_the_ranking_schema(real_ollama: RealOllama) -> None:
    usage: list[UsageRecord] = []
    ranker = OllamaReranker.connect(real_ollama.url, real_ollama.model, OffloadSettings(), on_usage=usage.append)
    try:
        ranking = ranker.rank("What is Caroline researching?", TEXTS)
    finally:
        ranker.close()
    assert ranking.reranked, ranking.reason
    assert sorted(ranking.order) == [0, 1, 2, 3], "a permutation of the candidates"
    ranked = [r for r in ranking.relevance if r is not None]
    assert ranked and all(0.0 <= r <= 1.0 for r in ranked)
    [record] = usage
    assert record.outcome == "success" and record.model == real_ollama.model
    assert record.tokens_in == ranking.tokens_in > 50 and record.tokens_out > 0
