"""`memlane serve`: the search service, the memory sink beside it on the embedded store, and the lag exporter.

On the embedded store exactly one process may open the shard (`shard_owner`), and a search must see
what the sink writes. So `serve` owns the shard and runs the memory sink's consumer loop in a thread
over the same store object (`GuardedStore` serialises their calls): a memory is searchable as soon as
the sink has upserted it, and no other process ever opens the shard under it. Its description names the
service's URL, so `memlane search` asks it instead of opening the shard. With `MEMLANE_QDRANT_URL` the
store is a server that any number of processes share: `serve` only serves, and `memlane worker
sink-qdrant` writes.

Beside them, a thread measures the consumer lag of the pipeline's groups every `ops.lag_interval_s`
and exports it (`memlane_consumergroup_lag`, `..._lag_seconds`, `memlane_partition_stalled`). A sink
thread that dies stops the service with an error, so a supervisor restarts the whole process.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog
import uvicorn

from schemas.errors import MemlaneError
from sinks.memory_store import MemoryStore
from streams.health import HEALTH
from streams.kafka.consumer_lag import LagMonitor
from streams.kafka.worker_spec import build_worker
from streams.settings import Settings
from streams.wiring import shard_owner
from streams.wiring.groups import pipeline_groups
from streams.wiring.stores import blob_store, embedded_shard, memory_store, search_app
from streams.workers import sink_qdrant

log = structlog.get_logger(__name__)
COMPONENT = "serve"


class LiveSearch:
    """The search service of one deployment, with the threads that keep it live."""

    def __init__(self, settings: Settings, host: str, port: int, *, log_level: str = "info") -> None:
        self.settings = settings
        self.host, self.port = host, port
        self.embedded = settings.qdrant_url is None
        self.log_level = log_level.lower()
        self.stop = threading.Event()
        self.failure: str | None = None
        self.server: uvicorn.Server | None = None
        self._threads: list[threading.Thread] = []
        self._sink_loop: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _start_sink(self, store: MemoryStore) -> None:
        sinks = self.settings.sinks
        loop, _sink = build_worker(
            sink_qdrant.SPEC,
            self.settings.stream_context(),
            lambda _producer: sink_qdrant.QdrantSink(store, owns_store=False),
            group_id=sinks.qdrant_sink_group_id,
            batch_size=sinks.sink_batch_size,
            overflow=None,
        )
        self._sink_loop = loop

        def run() -> None:
            try:
                loop.run()
            except Exception as exc:  # the sink cannot go on: the process must restart
                self._fail(f"the memory sink stopped: {exc}")
                return
            if not self.stop.is_set():
                self._fail("the memory sink stopped")

        self._spawn("memory-sink", run)

    def _start_lag_exporter(self) -> None:
        monitor = LagMonitor(self.settings.kafka, stall_after_s=self.settings.ops.stall_after_s)
        groups = pipeline_groups(self.settings)

        def run() -> None:
            while not self.stop.is_set():
                try:
                    monitor.export(monitor.measure(groups))
                except Exception as exc:
                    log.warning("lag.measure_failed", error=str(exc))
                self.stop.wait(self.settings.ops.lag_interval_s)

        self._spawn("lag-exporter", run)

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _fail(self, reason: str) -> None:
        log.error("serve.failed", reason=reason)
        self.failure = reason
        HEALTH.not_ready(reason)
        if self.server is not None:
            self.server.should_exit = True

    def run(self) -> None:
        """Serve until SIGTERM / Ctrl-C (or until the sink dies: then `MemlaneError`)."""
        store = memory_store(
            self.settings, sink_settings=sink_qdrant.sink_settings(self.settings.sinks), component=COMPONENT
        )
        blobs = blob_store(self.settings)
        try:
            if self.embedded:
                shard_owner.describe(embedded_shard(self.settings), COMPONENT, url=self.url)
                self._start_sink(store)
            self._start_lag_exporter()
            app = search_app(self.settings, store=store, blobs=blobs)
            config = uvicorn.Config(app, host=self.host, port=self.port, log_level=self.log_level, access_log=False)
            self.server = uvicorn.Server(config)
            HEALTH.ready(COMPONENT)
            self.server.run()
        finally:
            self.stop.set()
            if self._sink_loop is not None:
                self._sink_loop.stop_event.set()
            for thread in self._threads:
                thread.join(timeout=30)
            store.close()
            blobs.close()
        if self.failure is not None:
            raise MemlaneError(self.failure)


__all__ = ["COMPONENT", "LiveSearch"]
