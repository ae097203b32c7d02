"""The one exception root of memlane and its tree.

Every error memlane raises derives from `MemlaneError`. Third-party errors are translated at the
boundary with ``raise ... from exc``; errors about a message keep its raw bytes so the dead-letter
and quarantine topics can carry them.

    MemlaneError
    ├── ConfigError                 settings that cannot work together
    ├── BrokerError                 the local Kafka broker cannot be set up, started or stopped
    ├── TopicError                  provisioning failed or a topic's settings differ from the catalogue
    ├── ValidationError             an event or input line is invalid (names the field / line)
    ├── CodecError                  a message cannot be encoded or decoded; `.raw` holds its bytes
    │   ├── UnknownSchemaError      the fingerprint / schema id is not one we know
    │   └── MalformedMessageError   bad header, truncated or corrupt body
    ├── ServiceUnavailableError     a service memlane depends on (schema registry, ...) did not answer:
    │                               retry later; never a reason to quarantine a message
    ├── DeliveryError               Kafka did not acknowledge a produce
    ├── ExtractionError             an extractor failed on a request; `.error_class` names why
    ├── SinkError                   a sink write failed; the offsets it covers are not committed
    │   └── SinkBackpressureError   retry after `.retry_after` seconds
    ├── BlobStoreError              blob store: bad key, missing blob, integrity failure
    ├── SearchError                 bad search request or unknown memory
    │   └── RangeError              a blob slice that cannot be served (sinks.search.ranges)
    └── AuthError                   missing or unknown API key; `.status` is 401/403 (sinks.search.tenancy)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class MemlaneError(Exception):
    """Root of every error memlane raises."""


class ConfigError(MemlaneError):
    """Settings that cannot work together."""


class BrokerError(MemlaneError):
    """The local Kafka broker could not be set up, started, reached or stopped."""


class TopicError(MemlaneError):
    """Topic provisioning failed, or an existing topic's settings differ from the catalogue."""


class ValidationError(MemlaneError):
    """An event or an input line is invalid; the message names the field (and line, for files)."""

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.line = line


class CodecError(MemlaneError):
    """A message could not be encoded or decoded. `raw` keeps the original bytes."""

    def __init__(self, message: str, *, raw: bytes | None = None) -> None:
        super().__init__(message)
        self.raw = raw


class UnknownSchemaError(CodecError):
    """The message names a schema (fingerprint or registry id) that is not known."""


class MalformedMessageError(CodecError):
    """The message has a bad header or a truncated / corrupt body."""


class ServiceUnavailableError(MemlaneError):
    """A dependency did not answer (connection refused, timeout, 5xx): retry, do not park the message."""


class DeliveryError(MemlaneError):
    """Kafka did not acknowledge a produced message."""

    def __init__(self, message: str, *, key: bytes | None = None, retriable: bool = False) -> None:
        super().__init__(message)
        self.key = key
        self.retriable = retriable


class ExtractionError(MemlaneError):
    """An extractor failed on a request.

    `error_class` is a short stable name (timeout, invalid_json, ...), `retriable` says whether a later
    attempt can succeed without an operator, and `usage` holds a usage record of every LLM call made
    before it failed (they cost money whatever the outcome); `repairs` names the safe repairs its answer
    needed before it failed (e.g. `low_confidence` after a code fence was removed).
    """

    def __init__(self, message: str, *, error_class: str, retriable: bool = True, usage: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.retriable = retriable
        self.usage: tuple[Any, ...] = tuple(usage)
        self.repairs: tuple[str, ...] = ()


class SinkError(MemlaneError):
    """A sink write failed; the offsets it covers must not be committed."""


class SinkBackpressureError(SinkError):
    """The sink is saturated; retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BlobStoreError(MemlaneError):
    """Blob store failure: invalid key, missing blob, or integrity check failed."""


class SearchError(MemlaneError):
    """A search request is invalid or names an unknown memory."""


__all__ = [
    "BlobStoreError",
    "BrokerError",
    "CodecError",
    "ConfigError",
    "DeliveryError",
    "ExtractionError",
    "MalformedMessageError",
    "MemlaneError",
    "SearchError",
    "ServiceUnavailableError",
    "SinkBackpressureError",
    "SinkError",
    "TopicError",
    "UnknownSchemaError",
    "ValidationError",
]
