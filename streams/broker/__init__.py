"""Control of the local single-node Apache Kafka broker (KRaft) started from `infra/kafka`."""

from streams.broker.ensure import broker_answers, ensure_broker
from streams.broker.infra import KafkaInfra
from streams.broker.local import BrokerStatus, LocalBroker

__all__ = ["BrokerStatus", "KafkaInfra", "LocalBroker", "broker_answers", "ensure_broker"]
