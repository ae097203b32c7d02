"""The A/B comparison of a replay's arms: what each extractor made of the same requests, and at what price.

Read back from each arm's topics and collection (nothing is re-run):

    memories       per request, by kind, and who they belong to
    coverage       of each arm's memories by the other's: a memory is covered when the other arm made a
                   memory of the *same request* whose embedding (the sink's embedder) has cosine similarity
                   at or above the threshold; shown for thresholds 0.50..0.95 so the choice is visible
    calls          LLM calls from the usage topic: tokens in/out (local and paid), latency p50/p95 of the
                   successful calls, cost in dollars (paid) and what the local tokens would cost in the cloud
    failures       the DLQ taxonomy (`streams.dlq_report`): by model, class and attempt; DLQ rate per 1,000
                   requests; fallback rate (requests whose memories came from the fallback)
    quality        with `qa_path` (a LoCoMo file holding the replayed conversations): the end-to-end memory
                   QA figures of `memlane bench memory-qa` for each arm's collection
    examples       memories one arm found that the other missed (lowest best-match similarity)
    accounting     the verifier's verdict over each arm
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from processors.extraction.pricing import PriceTable
from schemas.events import MemoryBatch, UsageRecord
from sinks.embeddings import Embedder
from streams.bench.memory_qa import progress_bar, questions, score
from streams.bench.report import percentile
from streams.dlq_report import dlq_report
from streams.ingest.turn_files import InputFormat, load_turns
from streams.kafka.consumer import read_topic
from streams.replay.manifest import ReplayManifest
from streams.replay.namespace import ArmSpec, ReplayNamespace
from streams.replay.runner import verify_arm
from streams.settings import Settings
from streams.wiring.stores import embedder, memory_store

THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
DEFAULT_THRESHOLD = 0.8
EXAMPLES = 5
LOCAL_PROVIDERS = frozenset({"ollama"})


@dataclass
class ArmData:
    """Everything read back for one arm."""

    arm: ArmSpec
    settings: Settings
    requests: int = 0
    by_request: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """request id -> [(kind, text)] of every memory the arm's batches hold."""
    extractors: Counter[str] = field(default_factory=Counter)
    conversations: dict[str, str] = field(default_factory=dict)
    """conversation id -> its tenant, for every conversation the arm made memories of."""
    kinds: Counter[str] = field(default_factory=Counter)
    usage: list[UsageRecord] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def memories(self) -> int:
        return sum(len(items) for items in self.by_request.values())


def _read_arm(ns: ReplayNamespace, arm: ArmSpec) -> ArmData:
    settings = ns.arm(arm)
    data = ArmData(arm, settings)
    codec, topics = settings.codec(), settings.topics
    for message in read_topic(settings.kafka, topics.memories):
        batch = codec.decode(message.value() or b"", MemoryBatch, topics.memories)
        data.extractors[batch.extractor] += 1
        data.conversations[batch.conversation_id] = batch.tenant_id
        items = data.by_request.setdefault(batch.request_id, [])
        for memory in batch.memories:
            items.append((memory.kind.value, memory.text))
            data.kinds[memory.kind.value] += 1
    data.usage = [
        codec.decode(message.value() or b"", UsageRecord, topics.usage)
        for message in read_topic(settings.kafka, topics.usage)
    ]
    taxonomy = dlq_report(settings.stream_context(), settings.extraction.fallback_group_id)
    data.requests = taxonomy.requests
    accounting = verify_arm(ns, arm).verdict
    data.figures = _figures(data, taxonomy.as_dict(), accounting)
    return data


def _figures(data: ArmData, taxonomy: dict[str, Any], accounting: str) -> dict[str, Any]:
    ex = data.settings.extraction
    prices = PriceTable(ex.prices, cloud_equivalent_model=ex.cloud_equivalent_model)
    local = [u for u in data.usage if u.provider in LOCAL_PROVIDERS]
    paid = [u for u in data.usage if u.provider not in LOCAL_PROVIDERS]
    latencies = [u.latency_ms for u in data.usage if u.error_class is None]
    fallback = sum(n for name, n in data.extractors.items() if name == "claude") if data.arm.kind != "claude" else 0
    return {
        "arm": data.arm.label,
        "requests": data.requests,
        "memories": data.memories,
        "memories_per_request": data.memories / data.requests if data.requests else 0.0,
        "kinds": dict(data.kinds.most_common()),
        "extractors": dict(data.extractors.most_common()),
        "llm_calls": len(data.usage),
        "local_tokens_in": sum(u.tokens_in for u in local),
        "local_tokens_out": sum(u.tokens_out for u in local),
        "paid_tokens_in": sum(u.tokens_in for u in paid),
        "paid_tokens_out": sum(u.tokens_out for u in paid),
        "latency_p50_ms": percentile(latencies, 50) if latencies else None,
        "latency_p95_ms": percentile(latencies, 95) if latencies else None,
        "paid_usd": sum(u.cost_usd for u in paid),
        "local_cloud_equivalent_usd": sum(prices.cloud_equivalent_usd(u.tokens_in, u.tokens_out) for u in local),
        "dlq_rate_per_1000": taxonomy["dlq_rate_per_1000"],
        "fallback_rate": fallback / data.requests if data.requests else 0.0,
        "failures": taxonomy["failures"],
        "calls_by_model": taxonomy["calls"],
        "accounting": accounting,
    }


def _vectors(model: Embedder, data: ArmData) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for request_id, items in data.by_request.items():
        if items:
            out[request_id] = np.asarray(model.embed([text for _kind, text in items]), dtype=np.float32)
    return out


def best_matches(mine: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per request: each of my memories' highest cosine similarity to the other arm's (0 when it has none)."""
    best: dict[str, np.ndarray] = {}
    for request_id, vectors in mine.items():
        other = theirs.get(request_id)
        best[request_id] = (vectors @ other.T).max(axis=1) if other is not None else np.zeros(len(vectors))
    return best


def coverage_curve(best: dict[str, np.ndarray]) -> dict[str, float]:
    """Share of memories covered at each threshold."""
    values = np.concatenate(list(best.values())) if best else np.zeros(0)
    return {f"{t:.2f}": float((values >= t).mean()) if len(values) else 0.0 for t in THRESHOLDS}


def _misses(
    data: ArmData,
    other: ArmData,
    best: dict[str, np.ndarray],
    mine: dict[str, np.ndarray],
    theirs: dict[str, np.ndarray],
) -> list[dict[str, Any]]:
    ranked: list[tuple[float, str, int]] = []
    for request_id, scores in best.items():
        ranked.extend((float(s), request_id, i) for i, s in enumerate(scores))
    ranked.sort()
    examples = []
    for similarity, request_id, index in ranked[:EXAMPLES]:
        closest = None
        if request_id in theirs:
            j = int((mine[request_id][index] @ theirs[request_id].T).argmax())
            closest = other.by_request[request_id][j][1]
        kind, text = data.by_request[request_id][index]
        examples.append(
            {"request_id": request_id, "kind": kind, "text": text, "closest_other": closest, "similarity": similarity}
        )
    return examples


def _quality(data: ArmData, qa_path: Path, console: Console) -> list[dict[str, Any]]:
    """Memory QA figures of the arm's collection for the questions of the conversations it replayed."""
    turns, _ = load_turns(qa_path, InputFormat.LOCOMO, tenant_id=data.settings.tenant_id)
    asked = [item for item in questions(qa_path, turns) if item["conversation"] in data.conversations]
    tenants = {data.conversations[item["conversation"]] for item in asked}
    rows: list[dict[str, Any]] = []
    with memory_store(data.settings) as store, progress_bar(console) as progress:
        for tenant in sorted(tenants):
            mine = [item for item in asked if data.conversations[item["conversation"]] == tenant]
            rows.extend(score(store, mine, data.arm.label, progress, tenant_id=tenant))
    return rows


def ab_report(
    ns: ReplayNamespace,
    manifest: ReplayManifest,
    *,
    qa_path: Path | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    console: Console | None = None,
) -> dict[str, Any]:
    """The comparison of every arm of the replay `manifest` describes (pairs: the first arm against each other)."""
    out = console or Console(stderr=True)
    arms = [_read_arm(ns, ArmSpec.parse(label)) for label in manifest.arms]
    report: dict[str, Any] = {
        "replay": manifest.name,
        "stage": manifest.stage,
        "source_topic": manifest.source_topic,
        "from": manifest.start.isoformat(),
        "to": manifest.end.isoformat(),
        "tenant": manifest.tenant_id,
        "conversations": list(manifest.conversations),
        "threshold": threshold,
        "arms": [arm.figures for arm in arms],
        "pairs": [],
    }
    if qa_path is not None:
        for arm in arms:
            arm.figures["quality"] = _quality(arm, qa_path, out)
    if len(arms) >= 2:
        model = embedder(ns.shared())
        vectors = {arm.arm.label: _vectors(model, arm) for arm in arms}
        first = arms[0]
        for other in arms[1:]:
            a, b = vectors[first.arm.label], vectors[other.arm.label]
            a_by_b, b_by_a = best_matches(a, b), best_matches(b, a)
            curve_a, curve_b = coverage_curve(a_by_b), coverage_curve(b_by_a)
            report["pairs"].append(
                {
                    "a": first.arm.label,
                    "b": other.arm.label,
                    "coverage_of_a_by_b": curve_a,
                    "coverage_of_b_by_a": curve_b,
                    "coverage_of_a_by_b_at_threshold": _at(a_by_b, threshold),
                    "coverage_of_b_by_a_at_threshold": _at(b_by_a, threshold),
                    "a_missed_by_b": _misses(first, other, a_by_b, a, b),
                    "b_missed_by_a": _misses(other, first, b_by_a, b, a),
                }
            )
    return report


def _at(best: dict[str, np.ndarray], threshold: float) -> float:
    values = np.concatenate(list(best.values())) if best else np.zeros(0)
    return float((values >= threshold).mean()) if len(values) else 0.0


__all__ = ["DEFAULT_THRESHOLD", "THRESHOLDS", "ab_report", "best_matches", "coverage_curve"]
