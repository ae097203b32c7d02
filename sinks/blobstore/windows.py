"""The raw extraction window as a document: what the blob sink stores and what memory lineage points to.

Both the extraction worker (to stamp `lineage.window_blob`) and the blob sink (to store the window)
derive it from the request alone, as canonical JSON, so its sha256 is the same on both sides and on
every replay.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from schemas.events import ExtractionRequest

WINDOW_MEDIA_TYPE = "application/vnd.memlane.window+json"


def window_document(request: ExtractionRequest) -> bytes:
    """Canonical JSON of the request's window (turn texts, speakers, times, blob references)."""
    turns: list[dict[str, Any]] = [
        {
            "event_id": turn.event_id,
            "turn_index": turn.turn_index,
            "role": turn.role.value,
            "speaker": turn.speaker,
            "content": turn.content,
            "content_ref": turn.content_ref.sha256 if turn.content_ref else None,
            "tool_name": turn.tool_name,
            "event_time": turn.event_time.isoformat(),
            "priority_class": turn.priority_class,
        }
        for turn in request.turns
    ]
    document = {
        "request_id": request.request_id,
        "conversation_id": request.conversation_id,
        "tenant_id": request.tenant_id,
        "user_id": request.user_id,
        "first_turn_index": request.first_turn_index,
        "last_turn_index": request.last_turn_index,
        "turns": turns,
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def window_sha256(request: ExtractionRequest) -> str:
    return hashlib.sha256(window_document(request)).hexdigest()


__all__ = ["WINDOW_MEDIA_TYPE", "window_document", "window_sha256"]
