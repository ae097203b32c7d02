"""`memlane bench NAME`: the benchmarks, one module each, all behind one contract (`streams.bench.contract`).

Modules are imported when their benchmark runs (they pull in heavy optional libraries).
"""

from streams.bench.contract import Benchmark, BenchOptions, BenchReport

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("publish", "publish", "TurnPublisher vs a bare confluent-kafka producer on the same broker"),
        Benchmark("processors", "processors_bench", "processors worker vs a raw passthrough consumer; latency"),
        Benchmark("locomo-filter", "locomo_filter", "what the processors forward of LoCoMo: tokens vs QA evidence"),
        Benchmark(
            "extract",
            "extract_bench",
            "extraction worker efficiency at fixed latency; with --ollama-url, a real server on LoCoMo windows",
        ),
        Benchmark(
            "evidence-coverage",
            "evidence_coverage",
            "forwarded LoCoMo evidence turns that are the source of a heuristic memory (goal 90%)",
        ),
        Benchmark("storage", "storage", "bytes on disk per memory in the embedded store"),
        Benchmark("search", "search", "search latency at 100k and 1M memories, upsert rates"),
        Benchmark("retrieval", "retrieval", "LoCoMo evidence recall@k of memory search over raw turns"),
        Benchmark("digest", "digest_bench", "tool-result digests: tokens before/after, facts a later turn needs kept"),
        Benchmark(
            "labels",
            "labels_bench",
            "label coverage; LoCoMo multivector recall@k with heuristic tags vs the local model's labels",
        ),
        Benchmark("context", "context_bench", "RAG pre-ranking: LoCoMo recall@3 with/without, tokens top 3 vs 20"),
        Benchmark(
            "summaries",
            "summaries_bench",
            "hierarchical summaries of one LoCoMo conversation: summaries and tokens per level, Claude for level 3",
        ),
        Benchmark("offload", "offload_bench", "blob store: compression, offload and slice latency on real logs"),
        Benchmark("memory-qa", "memory_qa", "LoCoMo questions answered by the pipeline's memories vs raw turns"),
        Benchmark("cost", "cost_bench", "paid-LLM tokens and dollars per 100 turns vs Claude extracting every 3 turns"),
        Benchmark(
            "soak",
            "soak",
            "a fixed turn rate through the whole fleet for --minutes: RSS and fd growth, max lag, lost, duplicated",
        ),
    )
}

__all__ = ["BENCHMARKS", "BenchOptions", "BenchReport", "Benchmark"]
