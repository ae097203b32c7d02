"""How the processors' Faust app runs: the `Settings.processor_app` section (`MEMLANE_PROCESSOR_APP__*`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ProcessorAppSettings(BaseModel):
    """How the processors' Faust app runs (`MEMLANE_PROCESSOR_APP__*`)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    app_id: str = Field(default="memlane-processors", min_length=1)
    """Faust app id: the consumer group, and the prefix of the changelog and tick topics."""
    data_dir: Path | None = None
    """Where the RocksDB tables live (default `<state dir>/processors`); one per worker process."""
    batch_size: int = Field(default=1000, ge=1)
    """Events taken per batch; outputs of a batch are awaited together before its states are written."""
    batch_within_s: float = Field(default=0.05, gt=0.0)
    """Longest wait for a batch to fill."""
    tick_interval_s: float = Field(default=1.0, gt=0.0)
    """How often each assigned partition gets a tick (the wall-clock check of silent conversations)."""
    drain_flush_s: float | None = Field(default=None, gt=0.0)
    """Flush a silent conversation's window after this many wall-clock seconds (None: only after the
    event-time idle timeout has passed in wall-clock terms). With `idle_exit_s`, half of it is used."""
    commit_interval_s: float = Field(default=1.0, gt=0.0)
    """Seconds between offset commits of the processors."""
    commit_every: int = Field(default=10_000, ge=1)
    """Events after which the processors commit regardless of the interval."""
    session_timeout_s: float = Field(default=30.0, gt=0.0)
    """Consumer session: how long a dead worker keeps its partitions before the group moves them."""
    standby_replicas: int = Field(default=1, ge=0)
    """Standby copies of the conversation-state table kept by other workers."""
    delivery_attempts: int = Field(default=3, ge=1)
    """Attempts at delivering a batch's outputs before the worker exits (nothing of the batch committed)."""
    delivery_backoff_s: float = Field(default=1.0, ge=0.0)
    """Seconds to wait before retrying a failed produce of a request or skip record."""
    ticks_retention_s: float = Field(default=3600.0, gt=0.0)
    """Retention of the ticks topic, in seconds."""
    embedder: Literal["hashing", "model", "none"] = "hashing"
    """Near-duplicate embeddings: the model-free hashing embedder, the memory store's embedding model
    (`model`: also checks the user's existing memories when a Qdrant server is configured), or none."""
    web_enabled: bool = False
    """Serve faust's own web interface."""
    web_port: int = Field(default=6066, ge=1, le=65535)
    """Port of faust's web interface."""
    faust_log_level: str = "WARNING"
    """Log level of faust and aiokafka."""


__all__ = ["ProcessorAppSettings"]
