"""The processors as a faust-streaming app: the pure stages of `processors/` wired to Kafka topics.

    app_settings  ProcessorAppSettings (`MEMLANE_PROCESSOR_APP__*`)
    config        WorkerConfig (what one worker is given) and the `faust.App` options
    app_topics    the topics a worker needs; the internal tick topic
    envelope      a table value: ConversationState + the offset of the last turn applied
    schedule      when a silent conversation's window is flushed (event-time deadlines, wall-clock silence)
    outputs       requests, skip records and quarantined input as messages; their metrics
    planner       a batch of turns and ticks -> outputs + new states (pure)
    runtime       the Faust app: agent, table, tick timer; the delivery order that makes kill -9 safe
    worker        running it in this process

`docs/processors.md` describes the guarantees and how they were tested.
"""
