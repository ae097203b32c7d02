"""The topics a processors worker needs before it starts, checked (and the internal tick topic created).

The catalogue topics (turns, requests, skipped, quarantine) are provisioned by `memlane topics create`;
a worker refuses to start without them rather than let the client auto-create them with other settings.
The tick topic (`<app id>-ticks`) belongs to the app: it is created here with the turns topic's partition
count, which Faust's assignor needs to co-partition it with the turns topic and the changelog.
"""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.errors import TopicError
from streams.kafka.credentials import check_credentials
from streams.kafka.provision import wait_for_leaders
from streams.processor_app.config import WorkerConfig, ticks_topic_name

_TIMEOUT_S = 30.0


def partition_counts(admin: AdminClient, names: list[str]) -> dict[str, int]:
    """Partition count of each existing topic among `names`."""
    try:
        metadata = admin.list_topics(timeout=_TIMEOUT_S)
    except KafkaException as exc:
        raise TopicError(f"cannot list topics: {exc.args[0]}") from exc
    return {name: len(metadata.topics[name].partitions) for name in names if name in metadata.topics}


def require_zstd() -> None:
    """The publisher compresses with zstd; Faust's Kafka client (aiokafka) decodes it only with `cramjam`."""
    from aiokafka.codec import has_zstd

    if not has_zstd():
        raise ImportError("aiokafka cannot decode zstd-compressed turns without `cramjam`: install memlane[processors]")


def prepare_topics(config: WorkerConfig) -> int:
    """Checks the catalogue topics, creates the tick topic if missing; returns the turns topic's partitions."""
    require_zstd()
    check_credentials(config.ctx.kafka)  # aiokafka and the admin client below would only time out on a bad login
    admin = AdminClient(config.ctx.kafka.as_librdkafka_dict())
    topics, app_settings = config.ctx.topics, config.app
    needed = [topics.turns, topics.requests, topics.skipped, topics.quarantine]
    counts = partition_counts(admin, needed)
    missing = [name for name in needed if name not in counts]
    if missing:
        raise TopicError(f"missing topics {', '.join(missing)}: run `memlane topics create` first")
    partitions = counts[topics.turns]
    ticks = ticks_topic_name(app_settings)
    existing = partition_counts(admin, [ticks]).get(ticks)
    if existing is None:
        ticks_config = {"retention.ms": str(int(app_settings.ticks_retention_s * 1000)), "cleanup.policy": "delete"}
        new = NewTopic(
            ticks, num_partitions=partitions, replication_factor=config.replication_factor, config=ticks_config
        )
        for future in admin.create_topics([new], operation_timeout=_TIMEOUT_S).values():
            try:
                future.result(timeout=_TIMEOUT_S)
            except KafkaException as exc:
                if getattr(exc.args[0], "name", lambda: "")() != "TOPIC_ALREADY_EXISTS":
                    raise TopicError(f"cannot create topic {ticks}: {exc.args[0]}") from exc
        wait_for_leaders(admin, [ticks])
    elif existing != partitions:
        raise TopicError(
            f"{ticks} has {existing} partitions but {topics.turns} has {partitions}: they must match "
            "(delete the tick topic, or use another MEMLANE_PROCESSOR_APP__APP_ID)"
        )
    return partitions


__all__ = ["partition_counts", "prepare_topics", "require_zstd"]
