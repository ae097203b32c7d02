"""`StreamContext`: what every runtime component is given instead of the application's settings.

The connection to the cluster, the names of the topics, and the one event codec of the process (Avro
single-object encoding, or the schema registry's wire format). The composition root (`streams.settings`)
builds it once; workers, the publisher and tools receive it together with their own settings section.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.codec import EventCodec
from streams.kafka.connection import KafkaConnection
from streams.kafka.topic_catalogue import TopicNames


@dataclass(frozen=True)
class StreamContext:
    """Connection, topic names and codec: the runtime's whole view of the deployment."""

    kafka: KafkaConnection
    topics: TopicNames
    codec: EventCodec

    def with_topics(self, topics: TopicNames) -> StreamContext:
        return StreamContext(self.kafka, topics, self.codec)


__all__ = ["StreamContext"]
