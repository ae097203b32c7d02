"""The Avro schemas (`*.avsc`) that are the source of truth for every memlane event."""

from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent

__all__ = ["SCHEMA_DIR"]
