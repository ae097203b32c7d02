"""Pydantic models that mirror the Avro schemas in `schemas/` field for field.

The `.avsc` files are the source of truth; `tests/unit/events/test_models_match_schemas.py` proves
each model and its schema agree (names, types, nullability, defaults). Models are frozen and
validated at the edges (publisher, CLI input); inside the pipeline they are built from decoded events.
Timestamps are timezone-aware UTC datetimes (Avro `timestamp-millis`).

Every model refuses what no component could carry safely, whether it arrives at the publisher or is decoded
from a topic: a timestamp outside `EARLIEST`..`LATEST` (a turn dated 9999-12-31 would overflow every clock
built on it), text that is not valid Unicode (a lone surrogate cannot be encoded as UTF-8), and ids
(`Id`: conversation, tenant, user, event, ... ids) that are empty, longer than `MAX_ID_CHARS` or hold control
characters such as NUL. A decoded event that fails goes to quarantine with the reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""Timestamps must lie in [EARLIEST, LATEST): anything else is a bad clock, not a date."""
MAX_FUTURE_EVENT_S = 86_400.0
"""By default an event time may lie at most this far after now (publisher, direct writes) or after its
publish time (processors): further ahead is a broken clock, refused or quarantined."""
INT32_MAX = 2**31 - 1
"""The largest value of an Avro `int` field: a model refuses what its wire type cannot carry."""
MAX_ID_CHARS = 256


def _check_id(value: str) -> str:
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError("must not contain control characters (NUL, newline, ...)")
    return value


Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS), AfterValidator(_check_id)]
"""An identifier: 1-256 characters, no control characters."""


def _check_unicode(value: Any) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"is not valid Unicode text (character {exc.start}: {exc.reason})") from None
    elif isinstance(value, tuple | list):
        for item in value:
            _check_unicode(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_unicode(key)
            _check_unicode(item)


def utc_now() -> datetime:
    """Now, in UTC, truncated to milliseconds (the precision Avro keeps)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _to_utc_millis(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"
    SYSTEM = "system"


class SkipStage(StrEnum):
    CHANGE_DETECTION = "change_detection"
    DEDUPE = "dedupe"
    PRIORITY = "priority"


class MemoryKind(StrEnum):
    FACT = "fact"
    DECISION = "decision"
    NEXT_STEP = "next_step"
    ERROR = "error"
    SUMMARY = "summary"


class _Record(BaseModel):
    """Base of every Avro record model: frozen, no unknown fields, UTC millisecond timestamps."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _normalise_datetimes(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            return _checked_timestamp(value)
        if isinstance(value, tuple) and value and all(isinstance(item, datetime) for item in value):
            return tuple(_checked_timestamp(item) for item in value)  # arrays of timestamps, as Avro keeps them
        _check_unicode(value)
        return value


def _checked_timestamp(value: datetime) -> datetime:
    value = _to_utc_millis(value)
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"timestamp {value.isoformat()} is outside {EARLIEST.year}..{LATEST.year - 1}")
    return value


class EventModel(_Record):
    """A top-level event: one Kafka message value. `avro_name` names its schema."""

    avro_name: ClassVar[str] = ""


class BlobRef(_Record):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)
    media_type: str = "text/plain"
    preview: str = ""


class Attachment(_Record):
    kind: str = Field(min_length=1)
    url: str | None = None
    caption: str | None = None


class ConversationTurn(EventModel):
    avro_name: ClassVar[str] = "dev.memlane.events.ConversationTurn"

    event_id: Id
    conversation_id: Id
    turn_index: int = Field(ge=0)
    tenant_id: Id
    user_id: Id
    agent_id: Id | None = None
    platform: Id
    role: Role
    speaker: Id | None = None
    content: str | None = None
    content_ref: BlobRef | None = None
    tool_name: Id | None = None
    tool_output_bytes: int | None = Field(default=None, ge=0)
    token_count: int = Field(ge=0, le=INT32_MAX)
    context_tokens_used: int | None = Field(default=None, ge=0, le=INT32_MAX)
    context_tokens_limit: int | None = Field(default=None, gt=0, le=INT32_MAX)
    attachments: tuple[Attachment, ...] = ()
    session_id: Id | None = None
    event_time: datetime
    published_at: datetime = Field(default_factory=utc_now)
    metadata: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _content_or_ref(self) -> ConversationTurn:
        if self.content is None and self.content_ref is None:
            raise ValueError("a turn needs content or content_ref")
        return self

    def text(self) -> str:
        """The turn's inline text, or the preview of its offloaded content."""
        if self.content is not None:
            return self.content
        return self.content_ref.preview if self.content_ref else ""


class SkipRecord(EventModel):
    avro_name: ClassVar[str] = "dev.memlane.events.SkipRecord"

    skip_id: str
    event_id: str
    conversation_id: str
    turn_index: int
    tenant_id: str
    user_id: str
    stage: SkipStage
    reason: str
    detail: str = ""
    scores: dict[str, float] = Field(default_factory=dict)
    cues: tuple[str, ...] = ()
    token_count: int = Field(le=INT32_MAX)
    source_partition: int | None = Field(default=None, le=INT32_MAX)
    source_offset: int | None = None
    event_time: datetime
    recorded_at: datetime = Field(default_factory=utc_now)


class WindowTurn(_Record):
    event_id: str
    turn_index: int
    role: Role
    speaker: str | None = None
    user_id: str | None = None
    content: str | None = None
    content_ref: BlobRef | None = None
    tool_name: str | None = None
    token_count: int = Field(le=INT32_MAX)
    priority: float = 0.0
    priority_class: str = "fact"
    event_time: datetime
    source_partition: int | None = Field(default=None, le=INT32_MAX)
    source_offset: int | None = None
    published_at: datetime | None = None
    """When the turn was published (None in requests written before it was carried)."""


class ExtractionRequest(EventModel):
    avro_name: ClassVar[str] = "dev.memlane.events.ExtractionRequest"

    request_id: str
    conversation_id: str
    tenant_id: str
    user_id: str
    agent_id: str | None = None
    first_turn_index: int
    last_turn_index: int
    turns: tuple[WindowTurn, ...]
    context_refs: tuple[BlobRef, ...] = ()
    priority: float
    priority_class: str
    trigger: str
    route: str = "auto"
    token_count: int = Field(le=INT32_MAX)
    cues: tuple[str, ...] = ()
    source_topic: str | None = None
    created_at: datetime = Field(default_factory=utc_now)
    task: Literal["extract", "summary"] = "extract"
    """What the window is for: memories (`extract`) or a summary at `summary_level`."""
    summary_level: int | None = Field(default=None, ge=1, le=3)
    """For a summary: 1 one window, 2 a ten-turn block, 3 the whole conversation (compaction)."""


class Memory(_Record):
    memory_id: str
    kind: MemoryKind
    text: str = Field(min_length=1)
    subject: str | None = None
    user_id: str | None = None
    """Whose memory this is: the user of its source turns (None in batches written before it was carried)."""
    user_ids: tuple[str, ...] = ()
    """Every user whose turns the memory came from; more than one for a memory drawn from several people."""
    confidence: float = Field(ge=0.0, le=1.0)
    priority: float = 0.5
    source_turn_ids: tuple[str, ...] = ()
    source_turn_indexes: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    context: str | None = None
    """For keyword search: the text of the turns just before the source turns (same window), nearest last."""
    event_time: datetime
    summary_level: int | None = Field(default=None, ge=1, le=3)
    """For a `summary` memory: 1 a window, 2 a ten-turn block, 3 a conversation compaction."""
    labels: tuple[str, ...] = ()
    """Short semantic labels from the local model; empty until it has labelled the memory (heuristic tags: `tags`)."""
    labels_model: str | None = None
    """The model that gave `labels`."""


class Lineage(_Record):
    source_topic: str
    source_partition: int = Field(le=INT32_MAX)
    source_offset: int
    turn_topic: str | None = None
    first_turn_index: int
    last_turn_index: int
    turn_offsets: tuple[int, ...] = ()
    window_blob: str | None = None
    turn_indexes: tuple[int, ...] = ()
    """Every window turn's index, aligned with `turn_published_at` and `turn_priority_classes` (turns whose
    publish time is unknown are left out): what the memory sink measures freshness with."""
    turn_published_at: tuple[datetime, ...] = ()
    turn_priority_classes: tuple[str, ...] = ()


class MemoryBatch(EventModel):
    avro_name: ClassVar[str] = "dev.memlane.events.MemoryBatch"

    batch_id: str
    request_id: str
    conversation_id: str
    tenant_id: str
    user_id: str
    agent_id: str | None = None
    extractor: str
    extractor_version: str
    model: str | None = None
    prompt_version: str | None = None
    memories: tuple[Memory, ...]
    lineage: Lineage
    created_at: datetime = Field(default_factory=utc_now)


class UsageRecord(EventModel):
    avro_name: ClassVar[str] = "dev.memlane.events.UsageRecord"

    usage_id: str
    request_id: str
    conversation_id: str
    tenant_id: str
    provider: str
    model: str
    tokens_in: int = Field(ge=0)
    tokens_out: int = Field(ge=0)
    latency_ms: float = Field(ge=0.0)
    cost_usd: float = Field(ge=0.0)
    outcome: str
    error_class: str | None = None
    attempt: int = Field(default=1, le=INT32_MAX)
    created_at: datetime = Field(default_factory=utc_now)
    task: str = "extract"
    """What the call was for: `extract`, `summary`, `label`, `rerank` or `digest` (the cost report's rows)."""


EVENT_MODELS: tuple[type[EventModel], ...] = (
    ConversationTurn,
    SkipRecord,
    ExtractionRequest,
    MemoryBatch,
    UsageRecord,
)
