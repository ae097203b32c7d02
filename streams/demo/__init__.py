"""The conversation `memlane run` uses when no LoCoMo file is at hand (`demo_conversation.json`, LoCoMo format).

Written for memlane (not from LoCoMo): three sessions between a user and an assistant with facts,
decisions, next steps, an error report and small talk, so every stage has something to do.
"""

from __future__ import annotations

from pathlib import Path

DEMO_CONVERSATION = Path(__file__).with_name("demo_conversation.json")
DEMO_CONVERSATION_ID = "demo-1"

__all__ = ["DEMO_CONVERSATION", "DEMO_CONVERSATION_ID"]
