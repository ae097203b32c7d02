"""Fields a turn source may leave out, and how memlane fills them in deterministically."""

from __future__ import annotations

import uuid

TURN_NAMESPACE = uuid.UUID("6f1b7f9e-8f0e-4a55-9d55-6d656d6c616e")


def derived_event_id(tenant_id: str, conversation_id: str, turn_index: int) -> str:
    """A stable event id for a turn that arrives without one (replays publish the same id)."""
    return str(uuid.uuid5(TURN_NAMESPACE, f"{tenant_id}\x1f{conversation_id}\x1f{turn_index}"))


__all__ = ["TURN_NAMESPACE", "derived_event_id"]
