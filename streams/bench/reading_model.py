"""A scripted "model" for the fake LLM servers in benchmarks: it reads the window it is shown and answers.

The fake Ollama and Anthropic servers speak the real protocols but say what a responder tells them. For
benchmarks that compare extractors (the A/B report) or count what the fallback costs (`bench cost`), the
answer must depend on the window like a model's would: `ReadingModel` parses the rendered window (the
``[turn N role=... speaker=...]`` headers of the extraction prompt) and states each user turn's
informative sentences as facts about its speaker, citing the turn's number, at confidence level high. It
is deterministic and knows nothing the window does not say, so the memories it yields are a fair stand-in
for an LLM that follows the prompt.

`failing_share` makes a share of windows fail the way a small local model does: the content is cut-off
JSON. The choice is a hash of the window, so retries of the same window fail again (as a model that
cannot handle a window keeps failing on it) and the request ends in the DLQ, drained by the fallback.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from processors.extraction.result import MAX_SUBJECT_CHARS, MAX_TEXT_CHARS

TURN = re.compile(r"^\[turn (?P<index>\d+) role=(?P<role>\w+)(?P<rest>[^\n]*)\]\n(?P<body>.*)$", re.MULTILINE)
SPEAKER = re.compile(r"speaker=(\S+)")
SENTENCE = re.compile(r"(?<=[.!?])\s+")
MIN_WORDS = 5
"""Sentences shorter than this are small talk to the reading model."""


@dataclass(frozen=True)
class WindowTurnText:
    index: int
    role: str
    speaker: str
    body: str


def window_turns(prompt: str) -> list[WindowTurnText]:
    """The turns of a rendered extraction window, in order."""
    found = []
    for match in TURN.finditer(prompt):
        speaker = SPEAKER.search(match.group("rest"))
        found.append(
            WindowTurnText(
                int(match.group("index")), match.group("role"), speaker.group(1) if speaker else "", match.group("body")
            )
        )
    return found


def _user_prompt(body: dict[str, Any]) -> str:
    """The window text of an Ollama chat/generate body or an Anthropic messages body."""
    if "prompt" in body and isinstance(body["prompt"], str):
        return body["prompt"]
    texts = []
    for message in body.get("messages", []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(block.get("text", "") for block in content if isinstance(block, dict))
    return "\n".join(texts)


@dataclass(frozen=True)
class ReadingModel:
    """Answers an extraction prompt with the facts its user turns state; fails `failing_share` of windows."""

    failing_share: float = 0.0
    confidence: str = "high"

    def fails(self, prompt: str) -> bool:
        if self.failing_share <= 0.0:
            return False
        digest = hashlib.sha256(prompt.encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.failing_share

    def result(self, prompt: str) -> dict[str, Any]:
        """The ExtractionResult document for the window in `prompt`."""
        facts = []
        for turn in window_turns(prompt):
            if turn.role != "user":
                continue
            for piece in SENTENCE.split(turn.body.strip()):
                sentence = piece.strip()
                if len(sentence.split()) < MIN_WORDS:
                    continue
                text = f"{turn.speaker} said: {sentence}" if turn.speaker else sentence
                facts.append(
                    {
                        "text": text[:MAX_TEXT_CHARS],
                        "subject": turn.speaker[:MAX_SUBJECT_CHARS],
                        "confidence": self.confidence,
                        "source_turns": [turn.index],
                    }
                )
        return {"facts": facts, "decisions": [], "next_steps": [], "errors": []}

    def ollama_responder(self, body: dict[str, Any]) -> str:
        """For `FakeOllamaServer.script.responder`: the JSON content, or cut-off JSON for a failing window."""
        prompt = _user_prompt(body)
        text = json.dumps(self.result(prompt))
        return text[: max(1, len(text) // 2)] if self.fails(prompt) else text

    def claude_tool_responder(self, body: dict[str, Any]) -> dict[str, Any]:
        """For `FakeAnthropicServer(tool_responder=...)`: the tool input (Claude never fails here)."""
        return self.result(_user_prompt(body))


__all__ = ["MIN_WORDS", "ReadingModel", "WindowTurnText", "window_turns"]
