"""RAG pre-ranking against the fake Ollama server through the real `ollama` client: the model's order when it
answers the ranking asked for, the search order and the error class when it cannot (every path)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from processors.offload.offload_settings import OffloadSettings
from processors.offload.rerank import InvalidRankingError, OllamaReranker, merged_order, parse_ranking, ranking_schema
from processors.tokens import estimate_tokens
from schemas.events import UsageRecord
from streams.testing.fake_ollama import FakeOllamaServer

MODEL = "qwen2.5:7b"
TEXTS = [
    "Ana went hiking in the Alps last summer",
    "Bruno likes strong coffee",
    "Ana is allergic to shellfish and carries an epipen",
    "The weather was rainy on Tuesday",
]


SEEN: list[dict[str, Any]] = []


def shellfish_first(body: dict[str, Any]) -> str:
    """A scripted model: candidates that mention shellfish first, then the last one it saw."""
    SEEN.append(body)
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", body["messages"][-1]["content"], flags=re.M)]
    lines = dict(re.findall(r"^(\d+)\. (.*)$", body["messages"][-1]["content"], flags=re.M))
    hits = [n for n in numbers if "shellfish" in lines[str(n)]]
    rest = [n for n in reversed(numbers) if n not in hits][:1]
    ranking = [{"candidate": n, "relevance": 9} for n in hits] + [{"candidate": n, "relevance": 2} for n in rest]
    return json.dumps({"ranking": ranking})


@pytest.fixture
def server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer([MODEL], responder=shellfish_first, hang_seconds=3.0) as fake:
        yield fake


def reranker(server: FakeOllamaServer, usage: list[UsageRecord], timeout_s: float = 2.0) -> OllamaReranker:
    settings = OffloadSettings(rerank_timeout_s=timeout_s)
    return OllamaReranker.connect(server.url, MODEL, settings, on_usage=usage.append)


def test_the_models_order_comes_first_with_usage_and_the_schema_sent(server: FakeOllamaServer) -> None:
    usage: list[UsageRecord] = []
    ranker = reranker(server, usage)
    try:
        ranking = ranker.rank("what is Ana allergic to?", TEXTS, tenant_id="acme")
    finally:
        ranker.close()
    assert ranking.reranked and ranking.reason is None and ranking.model == MODEL
    assert ranking.order == (2, 3, 0, 1), "ranked ones in the model's order, the others in search order"
    assert ranking.relevance == (0.9, 0.2, None, None)
    assert ranking.tokens == tuple(estimate_tokens(t) for t in TEXTS)
    [record] = usage
    assert record.outcome == "success" and record.tenant_id == "acme" and record.model == MODEL
    assert record.tokens_in > 0 and record.tokens_out > 0 and ranking.tokens_in == record.tokens_in
    sent = SEEN[-1]
    assert sent["format"] == ranking_schema(len(TEXTS)) and sent["options"]["temperature"] == 0.0
    assert "4. The weather was rainy on Tuesday" in sent["messages"][-1]["content"]


@pytest.mark.parametrize(
    ("kind", "error_class"),
    [("timeout", "timeout"), ("malformed_json", "invalid_json"), ("http_500", "server_error"), ("busy", "overloaded")],
)
def test_an_unusable_model_leaves_the_search_order_and_says_why(
    server: FakeOllamaServer, kind: str, error_class: str
) -> None:
    usage: list[UsageRecord] = []
    ranker = reranker(server, usage, timeout_s=0.5)
    server.fail_next(1, kind)  # type: ignore[arg-type]
    try:
        ranking = ranker.rank("what is Ana allergic to?", TEXTS)
    finally:
        ranker.close()
    assert not ranking.reranked and ranking.order == (0, 1, 2, 3) and ranking.relevance == (None,) * 4
    assert ranking.reason is not None and ranking.reason.startswith(error_class)
    assert [(u.outcome, u.error_class) for u in usage] == [("failure", error_class)]


def test_a_server_that_is_down_or_a_wrong_answer_falls_back(server: FakeOllamaServer) -> None:
    usage: list[UsageRecord] = []
    ranker = reranker(server, usage)
    try:
        server.script.responder = lambda _body: json.dumps({"ranking": [{"candidate": 9, "relevance": 5}]})
        assert (ranker.rank("q", TEXTS).reason or "").startswith("schema_violation: candidate 9")
        server.pause()
        down = ranker.rank("q", TEXTS)
        server.resume()
        assert not down.reranked and (down.reason or "").startswith("connection_refused")
        assert ranker.rank("q", TEXTS[:1]).reason == "fewer than two candidates: nothing to re-rank"
    finally:
        ranker.close()
    assert [u.error_class for u in usage] == ["schema_violation", "connection_refused"]


def test_parse_ranking_keeps_the_first_mention_and_orders_by_relevance() -> None:
    answer = '{"ranking": [{"candidate": 2, "relevance": 4}, {"candidate": 3, "relevance": 8},' \
        ' {"candidate": 2, "relevance": 10}]}'  # fmt: skip
    assert parse_ranking(answer, 3) == [(2, 0.8), (1, 0.4)]
    assert merged_order(4, [(2, 0.8), (1, 0.4)]) == ((2, 1, 0, 3), (0.8, 0.4, None, None))
    bad_relevance = '{"ranking": [{"candidate": 1, "relevance": 0.5}]}'
    for bad in (
        "[1, 2]",
        '{"ranking": []}',
        '{"ranking": [{"candidate": true, "relevance": 1}]}',
        "nope",
        bad_relevance,
    ):
        with pytest.raises(InvalidRankingError):
            parse_ranking(bad, 3)
