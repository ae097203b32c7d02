"""The LoCoMo conversation format as memlane turns.

A LoCoMo file is a list of samples; each has `conversation` with `speaker_a`, `speaker_b`, and
`session_N` turn lists next to `session_N_date_time` strings such as "1:56 pm on 8 May, 2023".
Each session's turns become ConversationTurns in order: the conversation id is the sample id, the
turn index runs across sessions, the event time is the session date plus one minute per turn (so
event time grows within a session), each speaker becomes a user (role `user`, user id from the
name, speaker kept), and shared images keep their URL and BLIP caption as attachments. The LoCoMo
dialogue id (`D1:3`) is kept in metadata so evaluations can match QA evidence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from processors.tokens import estimate_tokens
from schemas.errors import ValidationError
from schemas.events import Attachment, ConversationTurn, Role
from streams.ingest.defaults import derived_event_id

_SESSION_KEY = re.compile(r"^session_(\d+)$")
_DATE_FORMATS = ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y", "%I:%M %p on %B %d, %Y")
TURN_SPACING = timedelta(minutes=1)


@dataclass(frozen=True)
class LocomoTurn:
    """A turn with its LoCoMo identity (sample, session, dialogue id)."""

    sample_id: str
    session: int
    dia_id: str
    turn: ConversationTurn


def parse_session_datetime(text: str) -> datetime:
    """Parse LoCoMo's "1:56 pm on 8 May, 2023" into an aware UTC datetime."""
    cleaned = " ".join(text.strip().split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValidationError(f"unrecognised LoCoMo session date {text!r}", field="session_date_time")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-") or "unknown"


def _attachments(raw: dict[str, Any]) -> tuple[Attachment, ...]:
    urls = raw.get("img_url") or []
    if isinstance(urls, str):
        urls = [urls]
    caption = raw.get("blip_caption")
    if not urls and not caption:
        return ()
    if not urls:
        return (Attachment(kind="image", url=None, caption=caption),)
    return tuple(Attachment(kind="image", url=url, caption=caption) for url in urls)


def _sessions(conversation: dict[str, Any]) -> list[int]:
    numbers = [int(m.group(1)) for key in conversation if (m := _SESSION_KEY.match(key))]
    return sorted(n for n in numbers if conversation.get(f"session_{n}"))


def sample_turns(sample: dict[str, Any], *, tenant_id: str, platform: str = "locomo") -> Iterator[LocomoTurn]:
    """The turns of one LoCoMo sample, in conversation order."""
    sample_id = str(sample.get("sample_id") or "")
    conversation = sample.get("conversation")
    if not sample_id or not isinstance(conversation, dict):
        raise ValidationError("LoCoMo sample needs 'sample_id' and a 'conversation' object", field="conversation")
    index = 0
    for session in _sessions(conversation):
        started = parse_session_datetime(str(conversation.get(f"session_{session}_date_time", "")))
        for position, raw in enumerate(conversation[f"session_{session}"]):
            text = str(raw.get("text", ""))
            caption = raw.get("blip_caption")
            counted = f"{text} [image: {caption}]" if caption else text
            speaker = str(raw.get("speaker", "unknown"))
            turn = ConversationTurn(
                event_id=derived_event_id(tenant_id, sample_id, index),
                conversation_id=sample_id,
                turn_index=index,
                tenant_id=tenant_id,
                user_id=_slug(speaker),
                platform=platform,
                role=Role.USER,
                speaker=speaker,
                content=text,
                token_count=estimate_tokens(counted),
                attachments=_attachments(raw),
                session_id=f"{sample_id}:session_{session}",
                event_time=started + position * TURN_SPACING,
                metadata={"dia_id": str(raw.get("dia_id", "")), "session": str(session)},
            )
            yield LocomoTurn(sample_id, session, str(raw.get("dia_id", "")), turn)
            index += 1


def locomo_turns(path: Path, *, tenant_id: str, platform: str = "locomo") -> Iterator[LocomoTurn]:
    """Every turn of every sample in a LoCoMo-format JSON file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    samples = data if isinstance(data, list) else [data]
    for sample in samples:
        yield from sample_turns(sample, tenant_id=tenant_id, platform=platform)


__all__ = ["TURN_SPACING", "LocomoTurn", "locomo_turns", "parse_session_datetime", "sample_turns"]
