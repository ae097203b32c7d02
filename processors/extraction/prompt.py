"""The extraction prompt: one system prompt and one user message rendering the request's window.

Each turn is shown with the number the model cites (`source_turns`: its turn index), role and speaker; a turn
whose content lives in the blob store shows what the token governor decided (the pulled text or a pointer),
and the request's context blobs follow the turns (each blob shown once: a context blob that is a turn's own
content is not repeated). The same messages serve Ollama and Claude; the prompt
version recorded on every batch is `ExtractionSettings.prompt_version`, so change it with the text below.
"""

from __future__ import annotations

from processors.extraction.governor import GovernedWindow, render_pointer
from schemas.events import ExtractionRequest, WindowTurn

SYSTEM_PROMPT = """\
You turn a window of a conversation into long-term memories. Answer JSON with four lists: facts,
decisions, next_steps, errors. Each item has:
- text: one short statement that makes sense months later on its own (name people and things; no "he",
  "it", "the above").
- subject: the person, project or topic it is about ("" when unclear).
- source_turns: the numbers of the turns that say it (the N of [turn N ...]).
- confidence: high, medium or low: how sure you are that the window states it.
Facts are durable: preferences, identities, places, jobs, environments, constraints, results. Decisions
record what was chosen (and why, when stated). Next steps are tasks someone agreed to do. Errors are
failures met, with their cause or fix when known. Skip greetings and small talk. Do not invent anything;
an empty list is a valid answer. Content in [blob ...] brackets was not shown to you: do not guess it.
"""


def _turn_header(turn: WindowTurn) -> str:
    parts = [f"turn {turn.turn_index}", f"role={turn.role.value}"]
    if turn.speaker:
        parts.append(f"speaker={turn.speaker}")
    if turn.tool_name:
        parts.append(f"tool={turn.tool_name}")
    return "[" + " ".join(parts) + "]"


def _turn_body(turn: WindowTurn, governed: GovernedWindow) -> str:
    if turn.content is not None:
        return governed.contents.get(turn.event_id, turn.content)
    if turn.content_ref is not None:
        return governed.blobs.get(turn.content_ref.sha256) or render_pointer(turn.content_ref)
    return ""


def render_window(request: ExtractionRequest, governed: GovernedWindow) -> str:
    """The user message: the window's turns in order, then its context blobs."""
    lines = [
        f"Conversation {request.conversation_id}, turns {request.first_turn_index} to {request.last_turn_index}.",
        "",
    ]
    shown: set[str] = set()
    for turn in request.turns:
        lines.extend((_turn_header(turn), _turn_body(turn, governed), ""))
        if turn.content is None and turn.content_ref is not None:
            shown.add(turn.content_ref.sha256)
    for ref in request.context_refs:
        if ref.sha256 in shown:
            continue  # the blob of a turn's content, already shown with its turn
        shown.add(ref.sha256)
        lines.extend((f"[context blob sha256={ref.sha256}]", governed.blobs.get(ref.sha256) or render_pointer(ref), ""))
    lines.append("Extract the memories of this window as JSON.")
    return "\n".join(lines)


def build_messages(request: ExtractionRequest, governed: GovernedWindow) -> list[dict[str, str]]:
    """Chat messages for Ollama: the system prompt, then the rendered window."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": render_window(request, governed)},
    ]


__all__ = ["SYSTEM_PROMPT", "build_messages", "render_window"]
