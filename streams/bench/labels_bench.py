"""`memlane bench labels`: label coverage, and multivector recall@k with heuristic tags vs the local model's labels.

The retrieval benchmark's memories (every LoCoMo dev turn, `retrieval.session_batches`) are upserted into an
embedded shard in a temporary directory: at insert each carries its heuristic tags (`tag_text`), as in the
pipeline. Every question is asked in `multivector` mode (dense + the tag vector) and scored as the retrieval
benchmark scores it (`retrieval_eval`). Then the labeller labels the memories once (`--limit`: only the first
N, in conversation order), `batch_size` per call, as the label worker does. For each way the store can apply
labels (`VARIANTS`, a `label_tags.LabelPolicy` each: the labels replace the tags; heuristic tags and labels;
the same with free labels, or new vocabulary labels, weighted lower in the tag vector; and the store's own
settings when they are none of these) the indexed shard is copied, the label batches are applied to the copy
by `MemoryStore.upsert` with that policy (no new version), and the questions are asked again. All runs side
by side in one report, with coverage: the share of memories with at least one heuristic tag, and with at
least one model label (of those sent to the model, and of all).

Without `--ollama-url` the model is the fake Ollama server (`streams.testing`): it echoes each memory's
heuristic tags as its labels (`general` when there are none), so its figures test the plumbing, not a model;
the report says so. `--ollama-url URL --model NAME --limit 40` labels with a real server.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from processors.offload.labels import Labeller
from schemas.events import Memory, MemoryBatch, UsageRecord
from sinks.embeddings import build_embedder
from sinks.memory_store import EdgeMemoryStore, SearchMode
from sinks.memory_store.label_tags import LabelPolicy
from sinks.memory_store.tags import TAG_VOCAB, tag_text
from sinks.sink_settings import SinkSettings
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.locomo_eval import LocomoConversation, load_locomo
from streams.bench.retrieval import _progress, index_conversations, session_batches, store_ranker
from streams.bench.retrieval_eval import KS, evaluate
from streams.testing.fake_ollama import FakeOllamaServer
from streams.wiring.workers import labeller_for
from streams.workers.label import label_batch, label_items

FAKE_MODEL = "fake-labeller"
HEURISTIC = "multivector (heuristic tags)"
VARIANTS: dict[str, tuple[str, LabelPolicy]] = {
    # summary key: (row name, how the store applies the labels: tags, vocabulary label weight, free label weight)
    "replace": ("multivector (a) labels replace tags", LabelPolicy("replace", 1.0, 1.0)),
    "union": ("multivector (b) heuristic tags + labels", LabelPolicy("union", 1.0, 1.0)),
    "union_free_0_3": ("multivector (c) (b), free labels x0.3", LabelPolicy("union", 1.0, 0.3)),
    "union_vocab_0_5": ("multivector (d) (b), new vocab labels x0.5", LabelPolicy("union", 0.5, 1.0)),
    "union_vocab_0_25": ("multivector (d) (b), new vocab labels x0.25", LabelPolicy("union", 0.25, 1.0)),
    "union_vocab_0": ("multivector (d) (b), new vocab labels x0", LabelPolicy("union", 0.0, 1.0)),
}


def echo_hints(body: dict[str, Any]) -> str:
    """The fake model: each numbered memory's heuristic tags (the prompt's hint) as its labels, else `general`."""
    out = []
    for number, hint in re.findall(r"^(\d+)\. .*?(?:\[tags: ([^\]]*)\])?$", body["messages"][-1]["content"], re.M):
        labels = [tag.strip() for tag in hint.split(",") if tag.strip()] if hint else ["general"]
        out.append({"n": int(number), "labels": labels[:3]})
    return json.dumps({"labels": out})


def _memories(conversations: Sequence[LocomoConversation]) -> list[tuple[MemoryBatch, Memory]]:
    return [(batch, memory) for conv in conversations for batch in session_batches(conv) for memory in batch.memories]


def label_all(
    labeller: Labeller, items: Sequence[tuple[MemoryBatch, Memory]], batch_size: int, progress: Progress
) -> tuple[dict[str, tuple[str, ...]], dict[str, Any]]:
    """Label `items` `batch_size` at a time; the labels by memory id and the labeller's figures."""
    usage: list[UsageRecord] = []
    labeller.on_usage = usage.append
    labels: dict[str, tuple[str, ...]] = {}
    repairs: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    task = progress.add_task("labelling", total=len(items))
    started = time.perf_counter()
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        result = labeller.label(label_items([memory for _batch, memory in chunk]), tenant_id=chunk[0][0].tenant_id)
        labels.update(result.labels)
        repairs.update(result.repairs)
        if result.error_class is not None:
            failures[result.error_class] += 1
        progress.advance(task, len(chunk))
    seconds = time.perf_counter() - started
    every = [label for found in labels.values() for label in found]
    return labels, {
        "calls": len(usage),
        "failed_calls": sum(failures.values()),
        "failures": dict(failures),
        "repairs": dict(repairs),
        "label_seconds": seconds,
        "seconds_per_call": seconds / len(usage) if usage else 0.0,
        "tokens_in": sum(u.tokens_in for u in usage),
        "tokens_out": sum(u.tokens_out for u in usage),
        "memories_labelled": len(labels),
        "labels_per_labelled_memory": len(every) / len(labels) if labels else 0.0,
        "distinct_labels": len(set(every)),
        "share_labels_in_vocabulary": sum(1 for label in every if label in TAG_VOCAB) / len(every) if every else 0.0,
        "top_labels": Counter(every).most_common(10),
    }


def apply_labels(
    store: EdgeMemoryStore, items: Sequence[tuple[MemoryBatch, Memory]], labels: dict[str, tuple[str, ...]], model: str
) -> int:
    """Apply `labels` to `store` as the label worker's label batches (one per source batch); memories labelled."""
    applied = 0
    by_batch: dict[str, MemoryBatch] = {batch.batch_id: batch for batch, _memory in items}
    for batch in by_batch.values():
        out = label_batch(batch, labels, model)
        if out is not None:
            applied += len(store.upsert(out).labelled)
    store.flush()
    return applied


def _with_policy(sinks: SinkSettings, policy: LabelPolicy) -> SinkSettings:
    weights = {"vocabulary_label_weight": policy.label_weight, "free_label_weight": policy.free_weight}
    return sinks.model_copy(update={"label_tags": policy.tags, **weights})


def _variants(sinks: SinkSettings) -> tuple[dict[str, tuple[str, LabelPolicy]], str]:
    """`VARIANTS`, plus the store's own settings (`label_tags`, `*_label_weight`) when they are none of them;
    and the key of the store's."""
    policy = LabelPolicy(sinks.label_tags, sinks.vocabulary_label_weight, sinks.free_label_weight)
    key = next((key for key, (_method, p) in VARIANTS.items() if p == policy), None)
    if key is not None:
        return dict(VARIANTS), key
    return {**VARIANTS, "store": ("multivector (the store's settings)", policy)}, "store"


def run(options: BenchOptions) -> BenchReport:
    """Index LoCoMo turns with heuristic tags, ask in multivector mode; label, apply, ask again."""
    settings = options.settings
    source = options.data_path("locomo/locomo_dev5.json")
    conversations = load_locomo(source)[: 1 if options.quick else None]
    console = Console(stderr=True)
    sinks = settings.sinks.model_copy(update={"edge_flush_each_upsert": False})
    real = options.ollama_url is not None
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="memlane-labels-") as tmp, ExitStack() as stack:
        if real:
            labeller = labeller_for(settings, url=options.ollama_url)
        else:
            fake = stack.enter_context(FakeOllamaServer([FAKE_MODEL], responder=echo_hints))
            labeller = labeller_for(settings, url=fake.url, model=FAKE_MODEL)
        stack.callback(labeller.close)
        embedder = build_embedder(sinks, ollama_url=settings.ollama_url)
        shard = Path(tmp) / "shard"
        items = _memories(conversations)
        sent = items[: options.limit] if options.limit else items
        heuristic = sum(1 for _b, m in items if tag_text(m.text, m.kind, m.tags))
        heuristic_sent = sum(1 for _b, m in sent if tag_text(m.text, m.kind, m.tags))
        applied: dict[str, int] = {}
        variants, store_key = _variants(sinks)
        with EdgeMemoryStore(shard, embedder, sinks) as store:
            indexed = index_conversations(store, conversations, console)
            with _progress(console) as progress:
                rows += evaluate(HEURISTIC, store_ranker(store, SearchMode.MULTIVECTOR, []), conversations, progress)
                labels, labelled = label_all(labeller, sent, settings.labels.batch_size, progress)
        for key, (method, policy) in variants.items():
            copy = Path(tmp) / f"shard-{key}"
            shutil.copytree(shard, copy)
            with EdgeMemoryStore(copy, embedder, _with_policy(sinks, policy)) as store, _progress(console) as progress:
                applied[key] = apply_labels(store, sent, labels, labeller.model)
                rows += evaluate(method, store_ranker(store, SearchMode.MULTIVECTOR, []), conversations, progress)
            shutil.rmtree(copy)
        model = labeller.model
    overall = {row["method"]: row for row in rows if row["split"] == "all" and row["category"] == "all"}
    store_method = variants[store_key][0]
    summary: dict[str, Any] = {
        "model": model,
        "model_is_fake": not real,
        "ollama_url": options.ollama_url,
        "memories": len(items),
        "memories_sent": len(sent),
        "coverage_heuristic": heuristic / len(items) if items else 0.0,
        "coverage_heuristic_sent": heuristic_sent / len(sent) if sent else 0.0,
        "coverage_model_sent": labelled["memories_labelled"] / len(sent) if sent else 0.0,
        "coverage_model_all": labelled["memories_labelled"] / len(items) if items else 0.0,
        **{f"multivector_recall_at_{k}_heuristic": overall[HEURISTIC][f"R@{k}"] for k in KS},
        **{f"multivector_recall_at_{k}_model": overall[store_method][f"R@{k}"] for k in KS},
        **{f"multivector_recall_at_10_{key}": overall[method]["R@10"] for key, (method, _p) in variants.items()},
        "store_policy": store_key,
        "best_variant_at_10": max(variants, key=lambda key: overall[variants[key][0]]["R@10"]),
        "labels_improve_recall_at_10": overall[store_method]["R@10"] > overall[HEURISTIC]["R@10"],
        "questions": overall[HEURISTIC]["questions"],
        **labelled,
        "labels_applied": applied[store_key],
        "batch_size": settings.labels.batch_size,
        "conversations": len(conversations),
        "index_seconds": indexed["index_seconds"],
        "embedder": embedder.name,
        "data": str(source),
    }
    notes = [
        (
            "THE MODEL IS FAKE: the fake Ollama echoes each memory's heuristic tags as its labels ('general' when it"
            " has none), so these figures test the labelling path, not a model's labels; run with --ollama-url URL"
            " --model NAME --limit N for a real one"
            if not real
            else f"labels by {model} on {options.ollama_url}: {labelled['calls']} calls,"
            f" {labelled['seconds_per_call']:.1f} s per call, {labelled['failed_calls']} failed"
        ),
        f"coverage: memories with >= 1 heuristic tag {summary['coverage_heuristic']:.1%} of {len(items)};"
        f" with >= 1 model label {summary['coverage_model_sent']:.1%} of the {len(sent)} sent"
        f" (heuristic on those: {summary['coverage_heuristic_sent']:.1%})",
        "multivector = dense + the tag vector (one slot per vocabulary tag, other labels hashed into the spare"
        " slots); the query side weights only vocabulary tags, so labels outside the vocabulary"
        f" ({1 - labelled['share_labels_in_vocabulary']:.0%} of the model's here) help the tags filter, not recall;"
        " (a) the labels replace the tags, (b) tags = heuristic tags + labels, (c) as (b) with free labels"
        " weighted lower in the tag vector, (d) as (b) with the vocabulary labels the heuristics did not give"
        f" weighted lower (the rest of their weight on a slot no query weights); the store's settings: {store_key!r}",
        "recall@k as in `memlane bench retrieval` (evidence turns in the top k, all conversations, questions"
        " of categories 1-4); with --limit only the first N memories carry model labels",
    ]
    columns = ["split", "category", "method", "questions", *(f"R@{k}" for k in KS), "all@10"]
    return BenchReport(
        "labels",
        columns=columns,
        rows=[row for row in rows if row["category"] == "all"],
        summary=summary,
        title="labels: coverage and multivector recall, heuristic tags vs the ways to apply model labels",
        notes=notes,
    )


__all__ = ["HEURISTIC", "VARIANTS", "apply_labels", "echo_hints", "label_all", "run"]
