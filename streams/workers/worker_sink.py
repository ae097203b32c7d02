"""The base of every worker's sink: a `sinks.base.Sink` that keeps counts of what it did.

`WorkerCounts` holds what every worker counts (messages its loop quarantined); each worker's counts extend it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sinks.base import Sink

T = TypeVar("T")
C = TypeVar("C", bound="WorkerCounts")


@dataclass
class WorkerCounts:
    quarantined: int = 0


class WorkerSink(Sink[T], Generic[T, C]):
    """A sink with `counts` (the worker's figures since it started)."""

    counts: C


__all__ = ["WorkerCounts", "WorkerSink"]
