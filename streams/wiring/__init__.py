"""The composition root: every component built from the one `Settings`, and nothing else built anywhere else.

    stores      embedder, memory store, blob store, claim check, turn publisher, search app
    workers     the five workers (processors, extract, fallback, sink-qdrant, sink-blobs): build and run
    processes   a worker as a child process (its whole configuration passed as `MEMLANE_*` variables)
    broker      a broker that answers: the configured one, or a local one started for a while

The CLI, `memlane run` and the benchmarks call these; the runtime below them (`streams.kafka`,
`streams.workers`, `streams.processor_app`, ...) receives a `StreamContext` and its own settings section.
"""
