"""Control of the local single-node Apache Kafka broker (KRaft) started from `infra/kafka`."""

from streams.broker.broker_settings import BrokerSettings
from streams.broker.ensure import ensure_broker
from streams.broker.infra import KafkaInfra
from streams.broker.local import BrokerStatus, LocalBroker
from streams.broker.probe import broker_answers

__all__ = ["BrokerSettings", "BrokerStatus", "KafkaInfra", "LocalBroker", "broker_answers", "ensure_broker"]
