"""The processors as a faust-streaming app: the pure stages of `processors/` wired to Kafka topics.

    config     ProcessorAppSettings (`MEMLANE_PROCESSOR_APP__*`) and the `faust.App` options
    topics     the topics a worker needs; the internal tick topic
    envelope   a table value: ConversationState + the offset of the last turn applied
    schedule   when a silent conversation's window is flushed (event-time deadlines, wall-clock silence)
    outputs    requests, skip records and quarantined input as messages; their metrics
    planner    a batch of turns and ticks -> outputs + new states (pure)
    runtime    the Faust app: agent, table, tick timer; the delivery order that makes kill -9 safe
    worker     running it in this process

`docs/processors.md` describes the guarantees and how they were tested.
"""

from typing import Any

from streams.processor_app.app_settings import ProcessorAppSettings


def __getattr__(name: str) -> Any:
    # `streams.settings` imports this package for its settings section: the worker (which needs
    # `streams.settings` and faust) is imported on first use only.
    if name == "run_worker":
        from streams.processor_app.worker import run_worker

        return run_worker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ProcessorAppSettings", "run_worker"]
