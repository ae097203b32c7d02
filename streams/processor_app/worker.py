"""Running the processors app in this process: topics checked, a fresh event loop, a Faust worker until stopped.

SIGTERM and SIGINT stop the worker gracefully (Faust waits for the batch in flight, flushes its producer
and commits); `idle_exit_s` makes it stop itself once the stream is drained (see `ProcessorRuntime`).
A kill -9 loses nothing either: the next start replays from the last committed offsets.
"""

from __future__ import annotations

import asyncio

import faust
import structlog

from schemas.errors import MemlaneError
from streams.processor_app.app_topics import prepare_topics
from streams.processor_app.config import WorkerConfig
from streams.processor_app.runtime import ProcessorRuntime

log = structlog.get_logger(__name__)


def run_worker(config: WorkerConfig, *, idle_exit_s: float | None = None) -> None:
    """Runs one processors worker until it is stopped (or idle for `idle_exit_s`)."""
    app_settings = config.app
    partitions = prepare_topics(config)
    config.table_dir.mkdir(parents=True, exist_ok=True)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    runtime = ProcessorRuntime(config, partitions=partitions, idle_exit_s=idle_exit_s)
    log.info(
        "processors.starting",
        app_id=app_settings.app_id,
        turns=config.ctx.topics.turns,
        partitions=partitions,
        data_dir=str(config.table_dir),
        idle_exit_s=idle_exit_s,
        drain_flush_s=runtime.drain_flush_s,
    )
    worker = faust.Worker(
        runtime.app,
        loop=loop,
        loglevel=app_settings.faust_log_level,
        quiet=True,
        redirect_stdouts=False,
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise MemlaneError(f"the processors worker stopped with exit code {exc.code}") from exc
    finally:
        asyncio.set_event_loop(None)
    log.info("processors.stopped", app_id=app_settings.app_id)


__all__ = ["run_worker"]
