"""Semantic labels by the local model: Ollama gives a batch of memories short labels ("food preference").

One `label(items)` is one `ollama.Client.chat` call with the memories numbered 1..n (each cut to `max_chars`,
with its heuristic tags shown as a hint), asking for `{"labels": [{"n": 1, "labels": ["food preference"]}]}`;
the JSON schema is passed as `format`. The heuristic vocabulary is offered in the prompt, free labels are
allowed. The answer is checked again here and normalised (`normalise_label`: lowercase, letters and digits,
1-4 words, at most `MAX_LABEL_CHARS`, at most `max_labels` per memory, no repeats); what had to be changed
is counted in `LabelResult.repairs` by kind. A memory the answer leaves out, or whose labels all normalise
away, gets no labels: it keeps its heuristic tags.

An unusable call (connection refused, timeout, unknown model, a server error, an answer that is not JSON, not
the schema or cut at `num_predict`) labels nothing and names the error class of the extraction taxonomy.
Every call, failed or not, yields a `UsageRecord` (server token counts, latency, model) handed to `on_usage`.
The labeller never calls Claude: labels are not worth paid tokens.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from processors.extraction.contract import ErrorClass
from processors.extraction.ollama_errors import CALL_ERRORS, translate_error
from processors.offload.label_settings import LabelSettings
from processors.offload.ollama_task import OllamaTask
from schemas.errors import MemlaneError
from schemas.events import UsageRecord

TASK = "label"
MAX_LABEL_WORDS = 4
MAX_LABEL_CHARS = 32
SYSTEM_PROMPT = (
    "You label memories about a person with short topic labels (1 to 4 lowercase words each). Answer with "
    'JSON: {"labels": [{"n": <number>, "labels": ["..."]}]}, one entry per numbered memory in order, at most '
    "{max_labels} labels each, most important first, about what that memory says. Prefer these labels when "
    "they fit: {vocabulary}; use your own when none fits."
)
_NOT_WORD = re.compile(r"[^a-z0-9' ]+")


class LabelAnswerError(MemlaneError):
    """An answer that is not the labels asked for; `error_class` says how (caught in `label`, never raised out)."""

    def __init__(self, message: str, error_class: ErrorClass) -> None:
        super().__init__(message)
        self.error_class = error_class


@dataclass(frozen=True, slots=True)
class LabelItem:
    """One memory to label: its id, its text and its heuristic tags (shown to the model as a hint)."""

    memory_id: str
    text: str
    hint: tuple[str, ...] = ()


@dataclass(slots=True)
class LabelResult:
    """What one call gave: labels by memory id (only memories that got some), the error class of a failed call
    (None on success), its detail, the repairs made to the answer by kind, and the call's usage record."""

    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    error_class: str | None = None
    reason: str | None = None
    repairs: Counter[str] = field(default_factory=Counter)
    usage: UsageRecord | None = None

    @property
    def ok(self) -> bool:
        return self.error_class is None


def label_schema(count: int, max_labels: int) -> dict[str, Any]:
    """The `format` of the labels of `count` memories: exactly `count` entries (a grammar-bound model cannot stop
    after the first few), numbers 1..count, 1..`max_labels` short strings each."""
    words = {"type": "string", "minLength": 1, "maxLength": MAX_LABEL_CHARS}
    entry = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 1, "maximum": count},
            "labels": {"type": "array", "items": words, "minItems": 1, "maxItems": max_labels},
        },
        "required": ["n", "labels"],
    }
    labels = {"type": "array", "items": entry, "minItems": count, "maxItems": count}
    return {"type": "object", "properties": {"labels": labels}, "required": ["labels"]}


def label_messages(
    items: Sequence[LabelItem], vocabulary: Sequence[str], *, max_chars: int, max_labels: int
) -> list[dict[str, str]]:
    """The chat messages: the system prompt (with the vocabulary), then the numbered memories with their hints."""
    system = SYSTEM_PROMPT.replace("{max_labels}", str(max_labels)).replace(
        "{vocabulary}", ", ".join(vocabulary) or "(none)"
    )
    lines = ["Memories:"]
    for number, item in enumerate(items, start=1):
        flat = " ".join(item.text.split())
        hint = f" [tags: {', '.join(item.hint)}]" if item.hint else ""
        lines.append(f"{number}. {flat[:max_chars]}{'…' if len(flat) > max_chars else ''}{hint}")
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(lines)}]


def normalise_label(raw: str) -> tuple[str, str | None]:
    """(`raw` as a label, the repair it needed or None): lowercase, `_`/`-` as spaces, only letters, digits,
    apostrophes and single spaces, at most `MAX_LABEL_WORDS` words and `MAX_LABEL_CHARS` characters (cut at
    a word). An empty result means the label is dropped."""
    lowered = raw.replace("_", " ").replace("-", " ").lower()
    words = _NOT_WORD.sub(" ", lowered).split()
    repair: str | None = None
    if " ".join(words) != raw:
        repair = "reformatted"
    if len(words) > MAX_LABEL_WORDS:
        words, repair = words[:MAX_LABEL_WORDS], "too_many_words"
    while words and len(" ".join(words)) > MAX_LABEL_CHARS:
        words, repair = words[:-1], "too_long"
    label = " ".join(words)
    if not label:
        return "", "empty"
    return label, repair


def parse_labels(content: str, count: int, max_labels: int) -> tuple[dict[int, tuple[str, ...]], Counter[str]]:
    """(0-based memory -> normalised labels, repairs by kind) of an answer; `LabelAnswerError` if it is none."""
    try:
        answer = json.loads(content)
    except json.JSONDecodeError as exc:
        raise LabelAnswerError(f"not JSON: {exc.msg}", ErrorClass.INVALID_JSON) from exc
    entries = answer.get("labels") if isinstance(answer, dict) else None
    if not isinstance(entries, list):
        raise LabelAnswerError("no 'labels' list", ErrorClass.SCHEMA_VIOLATION)
    repairs: Counter[str] = Counter()
    found: dict[int, list[str]] = {}
    for entry in entries:
        number = entry.get("n") if isinstance(entry, dict) else None
        raw = entry.get("labels") if isinstance(entry, dict) else None
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= count:
            repairs["unknown_memory"] += 1
            continue
        if isinstance(raw, str):  # one label not in a list: taken as it is
            repairs["labels_not_a_list"] += 1
            raw = [raw]
        if not isinstance(raw, list):
            repairs["labels_not_a_list"] += 1
            continue
        kept = found.setdefault(number - 1, [])
        for value in raw:
            if not isinstance(value, str):
                repairs["not_a_string"] += 1
                continue
            label, repair = normalise_label(value)
            if repair is not None:
                repairs[repair] += 1
            if not label:
                continue
            if label in kept:
                repairs["repeated"] += 1
            elif len(kept) >= max_labels:
                repairs["too_many_labels"] += 1
            else:
                kept.append(label)
    labelled = {index: tuple(labels) for index, labels in found.items() if labels}
    if entries and not labelled:
        raise LabelAnswerError("no usable label for any memory", ErrorClass.SCHEMA_VIOLATION)
    return labelled, repairs


class Labeller(OllamaTask[LabelSettings]):
    """Labels batches of memories with a local model on Ollama. Thread-safe as far as the client is.

    `vocabulary` is offered to the model as the preferred labels (the heuristic tag vocabulary)."""

    vocabulary: tuple[str, ...] = ()

    @classmethod
    def timeout_s(cls, settings: LabelSettings) -> float:
        return settings.timeout_s

    def label(self, items: Sequence[LabelItem], *, tenant_id: str = "-") -> LabelResult:
        """The model's labels for `items` (one call), or no labels and the error class when it cannot."""
        result = LabelResult()
        if not items:
            return result
        s = self.settings
        digest = hashlib.sha256("\x1f".join(item.memory_id for item in items).encode("utf-8")).hexdigest()
        options = {
            "temperature": 0.0,
            "seed": int(digest[:7], 16),
            "num_ctx": s.num_ctx,
            "num_predict": (12 * s.max_labels + 16) * len(items) + 32,
        }
        started = self._clock()
        tokens_in = tokens_out = 0
        try:
            response = self._client.chat(
                model=self.model,
                messages=label_messages(items, self.vocabulary, max_chars=s.max_chars, max_labels=s.max_labels),
                format=label_schema(len(items), s.max_labels),
                options=options,
                stream=False,
            )
            tokens_in, tokens_out = response.prompt_eval_count or 0, response.eval_count or 0
            if response.done_reason == "length":
                raise LabelAnswerError("answer cut at num_predict", ErrorClass.OUTPUT_TRUNCATED)
            labelled, result.repairs = parse_labels(response.message.content or "", len(items), s.max_labels)
            result.labels = {items[index].memory_id: labels for index, labels in sorted(labelled.items())}
        except CALL_ERRORS as exc:
            failure = translate_error(exc, self.model)
            result.error_class, result.reason = str(failure.error_class), str(failure)
        except LabelAnswerError as invalid:
            result.error_class, result.reason = str(invalid.error_class), str(invalid)
        result.usage = self.record_usage(
            "label",
            request_id=f"{TASK}-{digest[:16]}",
            conversation_id=TASK,
            tenant_id=tenant_id,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            started=started,
            error_class=result.error_class,
        )
        return result


def missing(items: Sequence[LabelItem], result: LabelResult) -> int:
    """Memories of `items` the call gave no labels (they keep their heuristic tags)."""
    return sum(1 for item in items if item.memory_id not in result.labels)


__all__ = [
    "MAX_LABEL_CHARS",
    "MAX_LABEL_WORDS",
    "LabelAnswerError",
    "LabelItem",
    "LabelResult",
    "Labeller",
    "label_messages",
    "label_schema",
    "missing",
    "normalise_label",
    "parse_labels",
]
