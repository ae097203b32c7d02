"""`memlane bench storage`: bytes on disk per memory in the embedded Qdrant store, at 100k memories.

Builds a fresh edge shard in a temporary directory through the real write path (`MemoryStore.upsert`:
replay check, near-duplicate lookup, tags, payload, write, flush), runs `optimize()` (HNSW graphs,
int8 quantization) and measures the allocated bytes of every file, grouped by component. The goal is
`bytes_per_memory` <= 2048. Memory texts are synthetic (seeded templates over names, places, foods,
tools, ...), realistic in length and vocabulary; the module also provides that corpus to `search.py`.

Vectors: embedding 100k texts with the ONNX model on 2 cores takes minutes, so `base` texts are
really embedded and the vector of every other text is a normalised mix of two real embeddings plus
noise (its size on disk is the same; its content only shapes the HNSW graph). The measured embedding
rate is reported.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from sinks.embeddings import Embedder, FloatMatrix, l2_normalise, shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore
from sinks.sink_settings import SinkSettings
from streams.bench.contract import BenchOptions, BenchReport

GOAL_BYTES_PER_MEMORY = 2048
TENANT = "bench"


def _words(text: str) -> list[str]:
    return text.split()


_NAMES = _words("Ana Bob Chen Dara Eli Fatima Gus Hana Ivan Jia Kofi Lena Marco Nia Omar Priya Quinn Rosa Sam Tariq")
_PLACES = _words("Lisbon Berlin Tokyo Nairobi Lima Oslo Austin Seoul Porto Denver Kyoto Accra Quito Hanoi Zurich")
_FOODS = _words("sushi tacos ramen falafel paella pho lasagne dumplings curry ceviche pierogi tagine risotto")
_TOOLS = _words("Postgres Kafka Redis Terraform pytest Docker Kubernetes React FastAPI Airflow Spark nginx")
_THINGS = _words("cello guitar chess pottery climbing sourdough watercolours marathons birdwatching salsa")
_KIN = _words("sister brother mother father daughter son cousin grandmother partner uncle")
_TEMPLATES: tuple[tuple[MemoryKind, str], ...] = (
    (MemoryKind.FACT, "{name} prefers {food} over anything else when eating out in {place}"),
    (MemoryKind.FACT, "{name}'s {kin} lives in {place} and visits every {n} weeks"),
    (MemoryKind.FACT, "{name} has been practising {thing} for {n} years and joined a club in {place}"),
    (MemoryKind.FACT, "{name} is allergic to {food} and always asks restaurants about it"),
    (MemoryKind.FACT, "{name} works remotely from {place} on the {tool} platform team"),
    (MemoryKind.DECISION, "Decided to move the {tool} cluster to {place} region before the Q{q} launch"),
    (MemoryKind.DECISION, "{name} chose {tool} over {tool2} for the new ingestion service after a {n}-day spike"),
    (MemoryKind.NEXT_STEP, "{name} plans a trip to {place} in {n} weeks to see their {kin}"),
    (MemoryKind.NEXT_STEP, "Remind {name} to renew the passport before the {place} conference on day {n}"),
    (MemoryKind.ERROR, "{tool} failed with a timeout after {n} retries while deploying to {place}"),
    (MemoryKind.ERROR, "pytest crashed with ModuleNotFoundError for {tool} in CI build {n}"),
    (MemoryKind.SUMMARY, "{name} talked about {thing}, a recent trip to {place} and cooking {food} at home"),
)


def synthetic_memories(n: int, seed: int = 7) -> list[tuple[MemoryKind, str]]:
    """`n` deterministic (kind, text) pairs from the templates above."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        kind, template = rng.choice(_TEMPLATES)
        tool, tool2 = rng.sample(_TOOLS, 2)
        text = template.format(
            name=rng.choice(_NAMES), place=rng.choice(_PLACES), food=rng.choice(_FOODS), tool=tool,
            tool2=tool2, thing=rng.choice(_THINGS), kin=rng.choice(_KIN), n=rng.randint(2, 400), q=rng.randint(1, 4),
        )  # fmt: skip
        out.append((kind, text))
    return out


class VectorBank(Embedder):
    """Precomputed vectors by text: `base` texts embedded for real, the rest mixed from them."""

    def __init__(self, texts: Sequence[str], embedder: Embedder, base: int = 4096, seed: int = 7) -> None:
        unique = list(dict.fromkeys(texts))
        real = embedder.embed(unique[:base])
        rng = np.random.default_rng(seed)
        rest = len(unique) - len(real)
        mixed = real[rng.integers(0, len(real), rest)] + real[rng.integers(0, len(real), rest)]
        mixed = l2_normalise(mixed + rng.normal(0.0, 0.04, mixed.shape).astype(np.float32))
        self._vectors = dict(zip(unique, np.concatenate([real, mixed]), strict=True))
        self._fallback = embedder

    @property
    def dim(self) -> int:
        return self._fallback.dim

    @property
    def name(self) -> str:
        return self._fallback.name

    def _embed_batch(self, texts: Sequence[str]) -> FloatMatrix:
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._fallback.embed(missing), strict=True))
        return np.stack([self._vectors[t] for t in texts])


def synthetic_context(memories: Sequence[tuple[MemoryKind, str]], i: int, rng: random.Random) -> str:
    """A context window like the pipeline's: two earlier turns (`speaker: text`), each two template sentences.

    LoCoMo's turns give a mean context of ~290 bytes per memory; these give about as much."""
    turns = []
    for back in (2, 1):
        first, second = memories[(i - back) % len(memories)][1], memories[(i - 3 * back) % len(memories)][1]
        turns.append(f"{rng.choice(_NAMES)}: {first}. {second}.")
    return "\n".join(turns)


def synthetic_batches(
    memories: Sequence[tuple[MemoryKind, str]],
    *,
    per_batch: int = 8,
    per_user: int = 100,
    seed: int = 7,
    context: bool = True,
) -> Iterator[MemoryBatch]:
    """`MemoryBatch`es of `per_batch` memories; user k owns memories [k * per_user, (k + 1) * per_user).

    Each memory carries a synthetic context window (`synthetic_context`) unless `context` is False."""
    rng = random.Random(seed)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    for start in range(0, len(memories), per_batch):
        user = start // per_user
        chunk = memories[start : start + per_batch]
        when = t0 + timedelta(minutes=start)
        yield MemoryBatch(
            batch_id=str(uuid.UUID(int=rng.getrandbits(128))),
            request_id=str(uuid.UUID(int=rng.getrandbits(128))),
            conversation_id=f"conv-{user}-{start // 40}",
            tenant_id=TENANT,
            user_id=f"user-{user}",
            agent_id=f"agent-{user % 7}",
            extractor="ollama",
            extractor_version="1.0.0",
            model="qwen2.5:7b",
            memories=tuple(
                Memory(
                    memory_id=str(uuid.UUID(int=rng.getrandbits(128))),
                    kind=kind,
                    text=text,
                    confidence=0.85,
                    priority=0.5,
                    event_time=when,
                    context=synthetic_context(memories, start + j, rng) if context else None,
                )
                for j, (kind, text) in enumerate(chunk)
            ),
            lineage=Lineage(
                source_topic="memlane.extraction.requests.v1",
                source_partition=start % 6,
                source_offset=start // per_batch,
                first_turn_index=start % 50,
                last_turn_index=start % 50 + 6,
            ),
        )


def build_store(
    path: Path,
    n: int,
    embedder: Embedder,
    settings: SinkSettings,
    *,
    per_user: int = 100,
    checkpoint_batches: int = 100,
) -> dict[str, Any]:
    """Fill an edge store at `path` with `n` synthetic memories through `upsert`; timings and counts.

    Like the sink, it flushes at checkpoints (every `checkpoint_batches` batches), not after each upsert.
    """
    memories = synthetic_memories(n)
    started = time.perf_counter()
    bank = VectorBank([text for _, text in memories], embedder)
    bank_s = time.perf_counter() - started
    inserted = updated = 0
    settings = settings.model_copy(update={"edge_flush_each_upsert": False})
    with EdgeMemoryStore(path, bank, settings) as store:
        started = time.perf_counter()
        for i, batch in enumerate(synthetic_batches(memories, per_user=per_user), start=1):
            report = store.upsert(batch)
            inserted += len(report.inserted)
            updated += len(report.updated)
            if i % checkpoint_batches == 0:
                store.flush()
        store.flush()
        upsert_s = time.perf_counter() - started
        started = time.perf_counter()
        store.optimize()
        optimize_s = time.perf_counter() - started
        points = store.count()
    return {
        "memories": n,
        "points": points,
        "inserted": inserted,
        "near_duplicate_updates": updated,
        "vector_bank_s": round(bank_s, 1),
        "upsert_s": round(upsert_s, 1),
        "upsert_per_s_no_embed": n / upsert_s,
        "optimize_s": round(optimize_s, 1),
    }


def _component(rel: Path) -> str:
    parts = rel.parts
    if parts[0] != "segments" or len(parts) < 3:
        return parts[0] if parts[0] != "segments" else "segment files"
    part = parts[2]
    if part == "payload_index" and len(parts) > 3 and "-" in parts[3]:
        return "payload index " + parts[3].split("-", 1)[1].rsplit("-", 1)[0]
    return "segment files" if len(parts) == 3 else part


def disk_usage(path: Path) -> dict[str, int]:
    """Allocated bytes (st_blocks x 512, what `du` counts) under `path`, by component."""
    usage: dict[str, int] = {}
    for root, _, files in os.walk(path):
        for name in files:
            file = Path(root) / name
            key = _component(file.relative_to(path))
            usage[key] = usage.get(key, 0) + file.stat().st_blocks * 512
    return usage


def run(options: BenchOptions) -> BenchReport:
    """Bytes on disk per memory of a 100k-memory store (10k with `--quick`)."""
    return measure(n=10_000 if options.quick else 100_000)


def measure(n: int = 100_000, embed_sample: int = 1024) -> BenchReport:
    """Build an `n`-memory store and measure its bytes on disk per memory."""
    embedder = shared_onnx_embedder()
    sample = [text for _, text in synthetic_memories(embed_sample, seed=11)]
    started = time.perf_counter()
    embedder.embed(sample)
    embed_rate = embed_sample / (time.perf_counter() - started)
    settings = SinkSettings(optimize_every_points=0)
    with tempfile.TemporaryDirectory(prefix="memlane-bench-storage-") as tmp:
        path = Path(tmp) / "shard"
        built = build_store(path, n, embedder, settings)
        usage = disk_usage(path)
        apparent = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    total = sum(usage.values())
    rows = [
        {"component": key, "bytes": value, "bytes_per_memory": value / built["points"], "share": value / total}
        for key, value in sorted(usage.items(), key=lambda kv: -kv[1])
        if value
    ]
    summary = {
        **built,
        "bytes_total": total,
        "bytes_apparent": apparent,
        "bytes_per_memory": total / built["points"],
        "goal_bytes_per_memory": GOAL_BYTES_PER_MEMORY,
        "goal_met": total / built["points"] <= GOAL_BYTES_PER_MEMORY,
        "embed_texts_per_s": embed_rate,
        "embed_100k_estimate_s": 100_000 / embed_rate,
    }
    notes = [
        f"embedded Qdrant (qdrant-edge), text vectors {settings.vector_datatype} originals + int8 scalar "
        f"quantization, HNSW m={settings.hnsw_m} "
        f"(global) / {settings.hnsw_payload_m} (per tenant), "
        "tags vector 32 x float16, payload indexes on tenant/user/agent/conversation/kind/tags/merged_ids/"
        "event_time plus a BM25 full-text index on text; WAL off (the memories topic is the log)",
        "bytes are allocated blocks (st_blocks x 512); payload pages are allocated 32 MiB at a time",
        f"texts: {n} synthetic memories from seeded templates; vectors: 4096 embedded with the ONNX model, "
        f"the rest mixed from those plus noise (measured embed rate {embed_rate:.0f} texts/s on this machine)",
        "written through MemoryStore.upsert in batches of 8 (replay check, near-duplicate lookup), flushed every "
        "100 batches like a sink's checkpoints; near-duplicate templates merge, so points < memories and "
        "bytes_per_memory divides by points",
    ]
    return BenchReport(
        "storage",
        columns=("component", "bytes", "bytes_per_memory", "share"),
        rows=rows,
        summary=summary,
        title=f"memlane bench storage: {n:,} memories",
        notes=notes,
    )


__all__ = ["GOAL_BYTES_PER_MEMORY", "VectorBank", "build_store", "disk_usage", "run", "synthetic_batches"]
