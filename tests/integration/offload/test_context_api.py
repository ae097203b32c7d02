"""`POST /v1/context` and `memlane context` over a real embedded shard, re-ranked by the fake Ollama server.

The top candidates of the tenant's search are re-ranked by the local model (here a scripted fake: what it
ranks first is the test's choice, the point is the protocol and the fallbacks), the best `top_n` come back
with their token counts against all candidates'; with the model down the search order comes back with
`reranked: false` and the reason, and another tenant's memories never appear. Every call's usage record
reaches the usage topic of the real broker (the cost report's source), from the service and from the CLI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from processors.memory_write import plan_write
from processors.tokens import estimate_tokens
from schemas.events import UsageRecord
from schemas.memory_input import MemoryInput
from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore
from streams.cli import app as cli
from streams.kafka.consumer import read_topic
from streams.metrics import CONTEXT_CALLS, LLM_CALLS
from streams.settings import Settings
from streams.testing.fake_ollama import FakeOllamaServer
from streams.wiring.stores import search_app

MODEL = "rerank-test:1b"
ACME = {"Authorization": "Bearer k-acme"}
FACTS = [
    "Ana went hiking in the Alps last summer",
    "Ana drinks strong coffee every morning",
    "Ana is allergic to shellfish and carries an epipen",
    "Ana moved to Lisbon in May",
    "Ana plays the cello in an amateur orchestra",
    "Ana's brother Tiago studies medicine in Porto",
]


def last_candidate_first(body: dict[str, Any]) -> str:
    """A scripted model: the last candidate it was shown ranks first (so a re-rank is visible)."""
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", body["messages"][-1]["content"], flags=re.M)]
    return json.dumps({"ranking": [{"candidate": numbers[-1], "relevance": 9}]})


@pytest.fixture
def ollama() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer([MODEL], responder=last_candidate_first) as server:
        yield server


@pytest.fixture
def settings(kafka_settings: Settings, ollama: FakeOllamaServer) -> Settings:
    base = kafka_settings.model_copy(update={"tenant_id": "acme"})
    configured = base.model_copy(
        update={
            "ollama_url": ollama.url,
            "api_keys": {"k-acme": "acme", "k-globex": "globex"},
            "offload": base.offload.model_copy(update={"rerank_model": MODEL, "context_candidates": 5}),
        }
    )
    when = datetime(2025, 1, 1, tzinfo=UTC)
    with EdgeMemoryStore(configured.qdrant_dir / configured.sinks.collection, shared_onnx_embedder()) as store:
        for tenant in ("acme", "globex"):
            inputs = [MemoryInput(text=f"{t} ({tenant})", user_id="ana", event_time=when) for t in FACTS]
            for batch in plan_write(tenant, inputs).batches:
                store.upsert(batch)
        store.flush()
    return configured


def test_context_is_reranked_by_the_local_model_and_falls_back_when_it_is_down(
    settings: Settings, ollama: FakeOllamaServer
) -> None:
    query = {"query": "what is Ana allergic to?", "user_id": "ana"}
    reranked, refused = CONTEXT_CALLS.labels(reranked="true"), CONTEXT_CALLS.labels(reranked="false")
    before = (reranked._value.get(), refused._value.get())
    failed_calls = LLM_CALLS.labels(provider="ollama", model=MODEL, outcome="failure")
    failures_before = failed_calls._value.get()
    with TestClient(search_app(settings)) as client:
        answer = client.post("/v1/context", json=query, headers=ACME)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["reranked"] is True and body["reason"] is None and body["model"] == MODEL
        assert body["candidates"] == 5 and len(body["memories"]) == 3
        first = body["memories"][0]
        assert first["search_rank"] == 5 and first["relevance"] == 0.9, "the model's choice leads"
        assert [m["search_rank"] for m in body["memories"][1:]] == [1, 2], "then the search order"
        assert all(m["memory"]["text"].endswith("(acme)") for m in body["memories"])
        assert body["tokens"] == sum(estimate_tokens(m["memory"]["text"]) for m in body["memories"])
        assert body["candidate_tokens"] > body["tokens"] and 0 < body["tokens_saved_ratio"] < 1
        assert body["context"].startswith(f"1. {first['memory']['text']}\n2. ")

        two = client.post("/v1/context", json={**query, "top_n": 2, "candidates": 6}, headers=ACME).json()
        assert len(two["memories"]) == 2 and two["candidates"] == 6

        ollama.pause()
        down = client.post("/v1/context", json=query, headers=ACME).json()
        ollama.resume()
        assert down["reranked"] is False and down["reason"].startswith("connection_refused")
        assert [m["search_rank"] for m in down["memories"]] == [1, 2, 3]
        assert "shellfish" in down["memories"][0]["memory"]["text"], "plain search finds it first here"
        assert client.post("/v1/context", json=query).status_code == 401
    assert (reranked._value.get() - before[0], refused._value.get() - before[1]) == (2, 1), "one count per call"
    assert failed_calls._value.get() - failures_before == 1

    result = CliRunner().invoke(cli, ["context", "what is Ana allergic to?", "--user", "ana", "--json"], obj=settings)
    assert result.exit_code == 0, result.output
    start = re.search(r"^\{", result.stdout, flags=re.M)
    assert start is not None, result.stdout
    printed = json.loads(result.stdout[start.start() :])  # after the fake server's log lines
    assert printed["reranked"] is True and printed["memories"][0]["search_rank"] == 5

    codec = settings.stream_context().codec
    usage = [codec.decode(m.value(), UsageRecord) for m in read_topic(settings.kafka, settings.topics.usage)]
    assert [(u.outcome, u.tenant_id, u.model) for u in usage].count(("success", "acme", MODEL)) == 3
    assert [u.error_class for u in usage if u.outcome == "failure"] == ["connection_refused"]

    report = CliRunner().invoke(cli, ["usage", "--json", "--tenant", "acme"], obj=settings)
    assert report.exit_code == 0, report.output
    start = re.search(r"^\{", report.stdout, flags=re.M)
    assert start is not None, report.stdout
    rows = json.loads(report.stdout[start.start() :])["rows"]
    assert [(r["task"], r["provider"], r["model"], r["calls"], r["failures"]) for r in rows] == [
        ("rerank", "ollama", MODEL, 4, 1)
    ], "every re-ranking call, under its task"
