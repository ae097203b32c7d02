"""memlane's Kafka-facing runtime: settings, event codec, topics, publisher, broker control, workers, CLI."""
