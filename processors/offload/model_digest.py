"""Tool-result digests by the local model: Ollama summarises a large tool output and names its slices.

One `digest(text, sha256)` is one `ollama.Client.chat` call. The model sees an excerpt that fits its context
(numbered lines: the first `EXCERPT_HEAD`, every error-like line, the last `EXCERPT_TAIL`, each cut to
`LINE_CHARS`, up to `digest_prompt_chars`) and answers `{"summary": ..., "slices": [{"start", "end", "about"}]}`
under a JSON schema passed as `format` (line numbers bounded by the output's line count, at most
`MAX_SLICES` slices, short strings). The answer is checked again (start <= end within the output, a non-blank
summary); the digest text is the labelled header, the summary cut to the token budget, and the slices.

When the model is unusable (connection refused, timeout, a server error, an invalid or truncated answer) the
extractive digest stands in, labelled `extractive`, with the reason (the extraction error classes). Every
call yields a `UsageRecord` handed to `on_usage`.
"""

from __future__ import annotations

import json
from typing import Any

from processors.extraction.contract import ErrorClass
from processors.extraction.ollama_errors import CALL_ERRORS, translate_error
from processors.offload.digest import (
    Digest,
    DigestSlice,
    extractive_digest,
    header,
    is_error_line,
    slice_line,
)
from processors.offload.offload_settings import OffloadSettings
from processors.offload.ollama_task import OllamaTask
from processors.tokens import estimate_tokens
from schemas.errors import MemlaneError

EXCERPT_HEAD = 40
EXCERPT_TAIL = 20
LINE_CHARS = 200
MAX_SLICES = 6
SYSTEM_PROMPT = (
    "You digest a tool's output for an assistant that cannot read all of it. Write a short summary (what ran, "
    "outcome, errors, key numbers and file paths) and name the line ranges worth fetching, as JSON: "
    '{"summary": "...", "slices": [{"start": <line>, "end": <line>, "about": "..."}]}.'
)


class DigestAnswerError(MemlaneError):
    """An answer that is not the digest asked for (caught in `digest`, never raised out)."""

    def __init__(self, message: str, error_class: ErrorClass) -> None:
        super().__init__(message)
        self.error_class = error_class


def digest_schema(lines: int, summary_chars: int) -> dict[str, Any]:
    """The `format` of a digest of an output of `lines` lines."""
    bound = {"type": "integer", "minimum": 1, "maximum": max(1, lines)}
    entry = {
        "type": "object",
        "properties": {"start": bound, "end": bound, "about": {"type": "string", "maxLength": 80}},
        "required": ["start", "end", "about"],
    }
    return {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "minLength": 1, "maxLength": summary_chars},
            "slices": {"type": "array", "items": entry, "maxItems": MAX_SLICES},
        },
        "required": ["summary", "slices"],
    }


def excerpt(text: str, max_chars: int) -> str:
    """Numbered lines the model sees: the head, error-like lines and the tail, within `max_chars`."""
    lines = text.splitlines()
    keep = set(range(min(EXCERPT_HEAD, len(lines))))
    keep |= set(range(max(0, len(lines) - EXCERPT_TAIL), len(lines)))
    keep |= {i for i, line in enumerate(lines) if is_error_line(line)}
    out: list[str] = []
    used, previous = 0, -1
    for index in sorted(keep):
        row = ("…\n" if index != previous + 1 else "") + f"{index + 1}: {lines[index][:LINE_CHARS]}"
        if used + len(row) > max_chars:
            out.append("… (cut)")
            break
        out.append(row)
        used += len(row) + 1
        previous = index
    return "\n".join(out)


def parse_digest(content: str, lines: int) -> tuple[str, tuple[DigestSlice, ...]]:
    try:
        answer = json.loads(content)
    except json.JSONDecodeError as exc:
        raise DigestAnswerError(f"not JSON: {exc.msg}", ErrorClass.INVALID_JSON) from exc
    summary = answer.get("summary") if isinstance(answer, dict) else None
    raw = answer.get("slices") if isinstance(answer, dict) else None
    if not isinstance(summary, str) or not summary.strip() or not isinstance(raw, list):
        raise DigestAnswerError("no summary and slices", ErrorClass.SCHEMA_VIOLATION)
    slices = []
    for entry in raw[:MAX_SLICES]:
        start, end = (entry.get("start"), entry.get("end")) if isinstance(entry, dict) else (None, None)
        if not (isinstance(start, int) and isinstance(end, int) and 1 <= start <= end <= lines):
            raise DigestAnswerError(f"slice {start!r}:{end!r} is not within 1..{lines}", ErrorClass.SCHEMA_VIOLATION)
        slices.append(DigestSlice(start, end, " ".join(str(entry.get("about", "")).split())[:80] or "detail"))
    return " ".join(summary.split()), tuple(slices)


def _fit(summary: str, budget: int) -> str:
    """`summary` cut at a word boundary to at most `budget` tokens."""
    if estimate_tokens(summary) <= budget:
        return summary
    words = summary.split()
    while words and estimate_tokens(" ".join(words) + " …") > budget:
        words = words[: max(0, len(words) - max(1, len(words) // 10))]
    return " ".join(words) + " …"


class OllamaDigester(OllamaTask[OffloadSettings]):
    """Digests tool outputs with a local model on Ollama; the extractive digest when it cannot. Thread-safe."""

    @classmethod
    def timeout_s(cls, settings: OffloadSettings) -> float:
        return settings.digest_timeout_s

    def digest(self, text: str, sha256: str, *, tenant_id: str = "-") -> Digest:
        """The model's digest of `text` (stored as `sha256`), or the extractive one with the reason."""
        settings = self.settings
        lines = len(text.splitlines())
        started = self._clock()
        tokens_in = tokens_out = 0
        error_class: str | None = None
        try:
            response = self._client.chat(
                model=self.model,
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": excerpt(text, settings.digest_prompt_chars)},
                ],
                format=digest_schema(lines, settings.digest_target_tokens * 4),
                options={"temperature": 0.0, "seed": int(sha256[:7], 16), "num_ctx": settings.rerank_num_ctx,
                         "num_predict": settings.digest_target_tokens * 2 + 64},
                stream=False,
            )  # fmt: skip
            tokens_in, tokens_out = response.prompt_eval_count or 0, response.eval_count or 0
            if response.done_reason == "length":
                raise DigestAnswerError("answer cut at num_predict", ErrorClass.OUTPUT_TRUNCATED)
            summary, slices = parse_digest(response.message.content or "", lines)
            result = self._render(summary, slices, sha256, text, lines)
        except CALL_ERRORS as exc:
            failure = translate_error(exc, self.model)
            error_class = failure.error_class
            result = extractive_digest(text, sha256, target_tokens=settings.digest_target_tokens,
                                       reason=f"{error_class}: {failure}")  # fmt: skip
        except DigestAnswerError as invalid:
            error_class = invalid.error_class
            result = extractive_digest(text, sha256, target_tokens=settings.digest_target_tokens,
                                       reason=f"{error_class}: {invalid}")  # fmt: skip
        self.record_usage(
            "digest",
            request_id=f"digest-{sha256[:16]}",
            conversation_id="digest",
            tenant_id=tenant_id,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            started=started,
            error_class=error_class,
        )
        return result

    def _render(self, summary: str, slices: tuple[DigestSlice, ...], sha256: str, text: str, lines: int) -> Digest:
        head = header(f"model {self.model}", sha256, lines, len(text.encode("utf-8")))
        tail = slice_line(slices)
        budget = self.settings.digest_target_tokens - estimate_tokens(head) - estimate_tokens(tail)
        body = "\n".join(part for part in (head, _fit(summary, max(16, budget)), tail) if part)
        return Digest(body, "model", slices, lines, len(text.encode("utf-8")), estimate_tokens(body))


__all__ = ["DigestAnswerError", "OllamaDigester", "digest_schema", "excerpt", "parse_digest"]
