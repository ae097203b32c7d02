"""The local broker's settings section (`MEMLANE_BROKER__*`): where its data and its Kafka runtime live, ports, heap."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class BrokerSettings(BaseModel):
    """The local single-node Kafka broker started from `infra/kafka` (`MEMLANE_BROKER__*`)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    data_dir: Path | None = None
    """Log segments, config, pid and logs of the broker (default `<state dir>/kafka`)."""
    infra_dir: Path = Path("infra")
    """The project's `infra/` folder (the Kafka runtime POM and logging config; the jars are fetched into
    `infra/kafka/lib`). Relative paths are taken from the working directory."""
    port: int = Field(default=9092, ge=0, le=65535)
    """Client port of the local broker (0: a free one)."""
    controller_port: int = Field(default=9093, ge=0, le=65535)
    """KRaft controller port of the local broker (0: a free one)."""
    heap: str = "768m"
    """JVM heap of the local broker."""
    start_timeout_s: float = 90.0
    """Seconds to wait for the local broker to answer after start."""
    stop_timeout_s: float = 60.0
    """Seconds to wait for the local broker to stop before killing it."""
    default_partitions: int = Field(default=6, ge=1)
    """Partitions of new topics on the local broker."""
    auth: Literal["none", "scram"] = "none"
    """`scram`: clients connect with SASL/SCRAM-SHA-512 over TLS (a CA generated into the data directory;
    `streams.broker.auth`). Chosen when the data directory is formatted; `memlane broker start --auth scram`."""


__all__ = ["BrokerSettings"]
