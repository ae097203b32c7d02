"""Kafka plumbing shared by every component: topic catalogue and provisioning, producers, consumers, headers."""
