"""Hierarchical summaries by the local model: prompt, answer schema, parsing, budgets, ids and memory batches.

A summary request is an `ExtractionRequest` with `task="summary"` and a `summary_level`:

    level 1  one forwarded window (the extract request's own turns), about `level1_tokens`
    level 2  the level-1 summaries of the windows covering one block of `block_turns` turn indexes
    level 3  a conversation's compaction: its stored level-2 summaries plus the later level-1 ones

One `Summariser.summarise(request)` is one `ollama.Client.chat` call asking for `{"summary": "..."}` under a
JSON schema passed as `format` (a bounded string), seeded from the request id so a redelivered request gets
the same text. The answer is checked again here (JSON, a non-blank string) and cut to the level's token
budget at a sentence or word boundary. Failures raise `ExtractionError` with the extraction taxonomy's error
classes (`connection_refused`, `timeout`, `invalid_json`, `schema_violation`, `output_truncated`, ...) and
the usage records of the call; every call, failed or not, yields a `UsageRecord` whose `request_id` names the
task (`...#summary1`, `...#summary2`, the level-3 request's own id).

Summary memories have ids of their own (`summary_memory_id`): level 1 per (tenant, conversation, window
range), level 2 per (tenant, conversation, block start), level 3 per (tenant, conversation). A replay gives the
same ids; a newer summary of the same range is a new version of the same memory (the store keeps history).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from processors.extraction.contract import ErrorClass, SourcePosition, extraction_failure
from processors.extraction.ollama_errors import CALL_ERRORS, translate_error
from processors.offload.ollama_task import OllamaTask
from processors.offload.summary_settings import SummarySettings
from processors.tokens import estimate_tokens
from schemas.errors import ExtractionError
from schemas.events import ExtractionRequest, Lineage, Memory, MemoryBatch, MemoryKind, UsageRecord, WindowTurn

SUMMARISER = "summariser"
"""The `extractor` of a local summary batch."""
CLAUDE_SUMMARISER = "summariser-claude"
"""The `extractor` of a level-3 summary batch written by the Claude fallback."""
SUMMARISER_VERSION = "1"
PROMPT_VERSION = "summary-v1"
SUMMARY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://memlane.dev/ids/summary")
_SEPARATOR = "\x1f"
CHARS_PER_TOKEN_BOUND = 8
"""The schema's `maxLength` per budget token: generous, the budget cut happens after parsing."""
GRAMMAR_REPETITION_LIMIT = 2000
"""The most repetitions llama.cpp's grammar accepts: a real Ollama 0.17.4 given `maxLength` 4000 fails to parse
the grammar and its runner dies (500 "model runner has unexpectedly stopped"). Above it the bound is left out
of the `format` sent to Ollama; `num_predict` and the budget cut still bound the answer (the fake Ollama
refuses such a bound the same way: `streams.testing.ollama_rules`)."""
SYSTEM_PROMPTS = {
    1: "You summarise one excerpt of a conversation in a few sentences: who said what, decisions, facts, open "
    'questions. Keep names, numbers and dates. Answer with JSON: {"summary": "..."}.',
    2: "You summarise a stretch of a conversation from the summaries of its excerpts, in one paragraph: the "
    'people, what they said and decided, facts, numbers and dates. Answer with JSON: {"summary": "..."}.',
    3: "You compact a whole conversation from the summaries of its parts, in order: the people, the facts "
    "about them, decisions, plans and open questions, with names, numbers and dates. Answer with JSON: "
    '{"summary": "..."}.',
}
_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)")


def summary_request_id(request_id: str, level: int) -> str:
    """The request id of the level-`level` summary of request `request_id` (what its batch and usage carry)."""
    return f"{request_id}#summary{level}"


def block_request_id(tenant_id: str, conversation_id: str, block: int) -> str:
    """The request id of a level-2 summary of block `block` (deterministic: the same on every replay)."""
    digest = hashlib.sha256(_SEPARATOR.join((tenant_id, conversation_id, str(block))).encode()).hexdigest()[:24]
    return f"block-{digest}#summary2"


def summary_memory_id(tenant_id: str, conversation_id: str, level: int, first: int, last: int) -> str:
    """The memory id of a summary: per window range (1), per block (2: `first`, its start), per conversation (3)."""
    if level == 3:
        parts: tuple[str, ...] = (tenant_id, conversation_id, "3")
    elif level == 2:
        parts = (tenant_id, conversation_id, "2", str(first))
    else:
        parts = (tenant_id, conversation_id, "1", f"{first}-{last}")
    return str(uuid.uuid5(SUMMARY_NAMESPACE, _SEPARATOR.join(parts)))


def level_tokens(settings: SummarySettings, level: int) -> int:
    """The token budget of a level-`level` summary."""
    return {1: settings.level1_tokens, 2: settings.level2_tokens}.get(level, settings.level3_tokens)


PROMPT_MARGIN_TOKENS = 256
"""Room in `num_ctx` kept for the system prompt, the header and the chat template around the turns."""
CHARS_PER_PROMPT_TOKEN = 3
"""A cautious characters-per-token rate for sizing the prompt (English prose runs near 4; names and numbers lower)."""


def call_limits(settings: SummarySettings, level: int) -> tuple[int, int]:
    """`(num_predict, prompt_chars)` of a level-`level` call: the answer may run to twice its budget but never
    past half the context, and the turns shown fill what is left of `num_ctx`, so the server never has to cut
    the prompt (it would do so silently, dropping the conversation's start)."""
    num_predict = min(level_tokens(settings, level) * 2 + 64, settings.num_ctx // 2)
    room = settings.num_ctx - num_predict - PROMPT_MARGIN_TOKENS
    return num_predict, max(400, min(settings.prompt_chars, room * CHARS_PER_PROMPT_TOKEN))


def summary_schema(max_chars: int) -> dict[str, Any]:
    """The `format` of a summary answer: one non-blank string of at most `max_chars`."""
    text = {"type": "string", "minLength": 1, "maxLength": max_chars}
    return {"type": "object", "properties": {"summary": text}, "required": ["summary"]}


def ollama_summary_schema(max_chars: int) -> dict[str, Any]:
    """`summary_schema` as Ollama can take it: without `maxLength` when it exceeds the grammar's limit."""
    schema = summary_schema(max_chars)
    if max_chars > GRAMMAR_REPETITION_LIMIT:
        del schema["properties"]["summary"]["maxLength"]
    return schema


def turn_line(turn: WindowTurn, max_chars: int) -> str:
    """One turn as the model sees it: `[index] speaker (role): text`, cut to `max_chars` (marked)."""
    who = turn.speaker or turn.user_id or str(turn.role)
    text = " ".join((turn.content or "").split()) or ("[content in the blob store]" if turn.content_ref else "")
    cut = f"{text[:max_chars]}…" if len(text) > max_chars else text
    return f"[{turn.turn_index}] {who} ({turn.role}): {cut}"


def summary_messages(request: ExtractionRequest, prompt_chars: int) -> list[dict[str, str]]:
    """The chat messages: the level's system prompt, then the turns (each cut so that all fit `prompt_chars`)."""
    level = request.summary_level or 1
    turns = request.turns
    share = max(80, prompt_chars // max(1, len(turns)))
    lines = [turn_line(turn, share) for turn in turns]
    body = "\n".join(lines)[:prompt_chars]
    header = f"Conversation {request.conversation_id}, turns {request.first_turn_index}..{request.last_turn_index}:"
    return [{"role": "system", "content": SYSTEM_PROMPTS[level]}, {"role": "user", "content": f"{header}\n{body}"}]


def parse_summary(content: str) -> str:
    """The summary text of an answer (whitespace collapsed); `ExtractionError` when it is not one."""
    try:
        answer = json.loads(content)
    except json.JSONDecodeError as exc:
        raise extraction_failure(f"not JSON: {exc.msg}", error_class=ErrorClass.INVALID_JSON) from exc
    text = answer.get("summary") if isinstance(answer, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise extraction_failure("no non-blank 'summary' string", error_class=ErrorClass.SCHEMA_VIOLATION)
    return " ".join(text.split())


def cut_to_tokens(text: str, tokens: int) -> str:
    """`text` within about `tokens` tokens: whole sentences when one fits, else whole words (marked `…`)."""
    if estimate_tokens(text) <= tokens:
        return text
    words = text.split(" ")
    low, high = 0, len(words)
    while low < high:  # the most words that fit
        middle = (low + high + 1) // 2
        if estimate_tokens(" ".join(words[:middle])) <= tokens - 1:
            low = middle
        else:
            high = middle - 1
    head = " ".join(words[:low])
    ends = [match.end() for match in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= len(head) // 2:
        return head[: ends[-1]]
    return f"{head}…"


@dataclass(frozen=True)
class SummaryOutcome:
    """A summary written: its text (within budget), the model and the usage records of its calls."""

    text: str
    model: str
    extractor: str
    usage: tuple[UsageRecord, ...]
    cut: bool = False
    """Whether the answer was longer than the level's budget and was cut."""

    def usage_free(self) -> SummaryOutcome:
        """The same summary without its usage records (for a caller that sent them already)."""
        return dataclasses.replace(self, usage=())


def covered_users(request: ExtractionRequest) -> tuple[str, ...]:
    """Every speaker of the turns a summary covers (the request's user when no turn names one)."""
    users = sorted({turn.user_id for turn in request.turns if turn.user_id})
    return tuple(users) or (request.user_id,)


def summary_batch(
    request: ExtractionRequest,
    outcome: SummaryOutcome,
    source: SourcePosition,
    *,
    users: Sequence[str] | None = None,
    indexes: Sequence[int] | None = None,
) -> MemoryBatch:
    """The MemoryBatch of one summary: one `summary` memory with lineage to the turn range it covers."""
    level = request.summary_level or 1
    first, last = request.first_turn_index, request.last_turn_index
    turn_indexes = tuple(sorted(set(indexes))) if indexes is not None else tuple(t.turn_index for t in request.turns)
    event_time = max((turn.event_time for turn in request.turns), default=request.created_at)
    memory = Memory(
        memory_id=summary_memory_id(request.tenant_id, request.conversation_id, level, first, last),
        kind=MemoryKind.SUMMARY,
        text=outcome.text,
        subject=f"summary level {level} of turns {first}..{last}",
        user_id=request.user_id,
        user_ids=tuple(users) if users is not None else covered_users(request),
        confidence=1.0,
        priority=request.priority,
        source_turn_indexes=turn_indexes,
        tags=("summary", f"summary:level{level}"),
        event_time=event_time,
        summary_level=level,
    )
    lineage = Lineage(
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        turn_topic=source.turn_topic,
        first_turn_index=first,
        last_turn_index=last,
        window_blob=source.window_blob if level == 1 else None,
    )
    batch_key = _SEPARATOR.join((request.request_id, outcome.extractor))
    return MemoryBatch(
        batch_id=str(uuid.uuid5(SUMMARY_NAMESPACE, batch_key)),
        request_id=request.request_id,
        conversation_id=request.conversation_id,
        tenant_id=request.tenant_id,
        user_id=request.user_id,
        agent_id=request.agent_id,
        extractor=outcome.extractor,
        extractor_version=SUMMARISER_VERSION,
        model=outcome.model,
        prompt_version=PROMPT_VERSION,
        memories=(memory,),
        lineage=lineage,
    )


class Summariser(OllamaTask[SummarySettings]):
    """Writes summaries with a local model on Ollama (`complex_model` for levels 2 and 3). Thread-safe."""

    complex_model: str | None = None

    @classmethod
    def timeout_s(cls, settings: SummarySettings) -> float:
        return settings.timeout_s

    def model_for(self, level: int) -> str:
        """Level 1 takes the fast model; levels 2 and 3 the complex route's model when one is set."""
        return self.complex_model if level >= 2 and self.complex_model else self.model

    def summarise(self, request: ExtractionRequest) -> SummaryOutcome:
        """The request's summary at its level; `ExtractionError` (with usage) when the model gave none."""
        level = request.summary_level or 1
        model = self.model_for(level)
        budget = level_tokens(self.settings, level)
        seed = int.from_bytes(hashlib.sha256(request.request_id.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF
        num_predict, prompt_chars = call_limits(self.settings, level)
        options = {"temperature": 0.0, "seed": seed, "num_ctx": self.settings.num_ctx, "num_predict": num_predict}
        started = self._clock()
        tokens_in = tokens_out = 0
        error: ExtractionError | None = None
        text = ""
        try:
            response = self._client.chat(
                model=model,
                messages=summary_messages(request, prompt_chars),
                format=ollama_summary_schema(budget * CHARS_PER_TOKEN_BOUND),
                options=options,
                stream=False,
            )
            tokens_in, tokens_out = response.prompt_eval_count or 0, response.eval_count or 0
            if tokens_in >= self.settings.num_ctx:
                raise extraction_failure(
                    f"prompt cut at num_ctx {self.settings.num_ctx}", error_class=ErrorClass.PROMPT_TRUNCATED
                )
            if response.done_reason == "length":
                raise extraction_failure("answer cut at num_predict", error_class=ErrorClass.OUTPUT_TRUNCATED)
            text = parse_summary(response.message.content or "")
        except CALL_ERRORS as exc:
            error = translate_error(exc, model)
        except ExtractionError as invalid:
            error = invalid
        usage = self._usage(request, model, tokens_in=tokens_in, tokens_out=tokens_out, started=started, error=error)
        if error is not None:
            error.usage = (usage,)
            raise error
        within = cut_to_tokens(text, budget)
        return SummaryOutcome(within, model, SUMMARISER, (usage,), cut=within != text)

    def _usage(
        self,
        request: ExtractionRequest,
        model: str,
        *,
        tokens_in: int,
        tokens_out: int,
        started: float,
        error: ExtractionError | None,
    ) -> UsageRecord:
        return self.record_usage(
            "summary",
            request_id=request.request_id,
            conversation_id=request.conversation_id,
            tenant_id=request.tenant_id,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            started=started,
            error_class=None if error is None else error.error_class,
            model=model,
        )


def as_summary_request(request: ExtractionRequest, level: int = 1) -> ExtractionRequest:
    """The level-`level` summary request of an extract request's window (same turns, the task's own id)."""
    return request.model_copy(
        update={"task": "summary", "summary_level": level, "request_id": summary_request_id(request.request_id, level)}
    )


SummaryCall = Callable[[ExtractionRequest], SummaryOutcome]
"""What writes a summary (the local `Summariser.summarise`, or the Claude fallback's)."""


__all__ = [
    "CHARS_PER_TOKEN_BOUND",
    "CLAUDE_SUMMARISER",
    "GRAMMAR_REPETITION_LIMIT",
    "PROMPT_VERSION",
    "SUMMARISER",
    "SUMMARY_NAMESPACE",
    "SYSTEM_PROMPTS",
    "Summariser",
    "SummaryCall",
    "SummaryOutcome",
    "as_summary_request",
    "block_request_id",
    "covered_users",
    "cut_to_tokens",
    "level_tokens",
    "ollama_summary_schema",
    "parse_summary",
    "summary_batch",
    "summary_memory_id",
    "summary_messages",
    "summary_request_id",
    "summary_schema",
    "turn_line",
]
