"""RAG pre-ranking by the local model: Ollama orders search candidates for a query, or the search order stands.

One `rank(query, texts)` is one `ollama.Client.chat` call with the candidates numbered 1..n (each cut to
`rerank_max_chars`), asking for `{"ranking": [{"candidate": k, "relevance": 0..10}, ...]}` best first; the JSON
schema is passed as `format`, so the server's grammar enforces the shape and the bounds of every number.
The answer is checked again here (a server or model that ignores `format` is not trusted): candidates that
repeat are kept once, an out-of-range number or a non-JSON answer is an invalid answer. Ranked candidates
come first in the model's order (stable by relevance), unranked ones follow in search order.

Without a usable local model the search order stands and `Ranking.reason` names the error class of the
extraction taxonomy (`connection_refused`, `timeout`, `model_not_found`, `server_error`, `overloaded`,
`invalid_json`, `schema_violation`, `output_truncated`) with the detail. Every call, failed or not, yields a
`UsageRecord` (server token counts, latency, model) handed to `on_usage`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from processors.extraction.contract import ErrorClass
from processors.extraction.ollama_errors import CALL_ERRORS, translate_error
from processors.offload.offload_settings import OffloadSettings
from processors.offload.ollama_task import OllamaTask
from processors.tokens import estimate_tokens
from schemas.errors import MemlaneError
from schemas.ranking import Ranking

RELEVANCE_SCALE = 10
"""The model grades relevance 0..10 (integers: a JSON grammar bounds them, it does not bound decimals)."""
TASK = "rerank"
SYSTEM_PROMPT = (
    "You rank memories for a question. You get a question and numbered candidate memories. Answer with JSON: "
    '{"ranking": [{"candidate": <number>, "relevance": <0..1>}, ...]}, the candidates that help answer the '
    "question, most relevant first. Use only the numbers shown."
)


class InvalidRankingError(MemlaneError):
    """An answer that is not the ranking asked for; `error_class` says how (caught in `rank`, never raised out)."""

    def __init__(self, message: str, error_class: ErrorClass) -> None:
        super().__init__(message)
        self.error_class = error_class


def ranking_schema(count: int) -> dict[str, Any]:
    """The `format` of a ranking of `count` candidates (numbers 1..count, relevance 0..1, at most `count`)."""
    entry = {
        "type": "object",
        "properties": {
            "candidate": {"type": "integer", "minimum": 1, "maximum": count},
            "relevance": {"type": "integer", "minimum": 0, "maximum": RELEVANCE_SCALE},
        },
        "required": ["candidate", "relevance"],
    }
    ranking = {"type": "array", "items": entry, "minItems": 1, "maxItems": count}
    return {"type": "object", "properties": {"ranking": ranking}, "required": ["ranking"]}


def ranking_messages(query: str, texts: Sequence[str], max_chars: int) -> list[dict[str, str]]:
    """The chat messages: the system prompt, then the question and the numbered candidates."""
    lines = [f"Question: {query}", "", "Candidates:"]
    for number, text in enumerate(texts, start=1):
        flat = " ".join(text.split())
        lines.append(f"{number}. {flat[:max_chars]}{'…' if len(flat) > max_chars else ''}")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


def parse_ranking(content: str, count: int) -> list[tuple[int, float]]:
    """(0-based candidate, relevance 0..1) pairs of an answer, best first; `InvalidRankingError` if it is not one."""
    try:
        answer = json.loads(content)
    except json.JSONDecodeError as exc:
        raise InvalidRankingError(f"not JSON: {exc.msg}", ErrorClass.INVALID_JSON) from exc
    entries = answer.get("ranking") if isinstance(answer, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InvalidRankingError("no non-empty 'ranking' list", ErrorClass.SCHEMA_VIOLATION)
    ranked: dict[int, float] = {}
    for entry in entries:
        number = entry.get("candidate") if isinstance(entry, dict) else None
        relevance = entry.get("relevance") if isinstance(entry, dict) else None
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= count:
            raise InvalidRankingError(f"candidate {number!r} is not one of 1..{count}", ErrorClass.SCHEMA_VIOLATION)
        if isinstance(relevance, bool) or not isinstance(relevance, int) or not 0 <= relevance <= RELEVANCE_SCALE:
            raise InvalidRankingError(
                f"relevance {relevance!r} is not an integer in 0..{RELEVANCE_SCALE}", ErrorClass.SCHEMA_VIOLATION
            )
        ranked.setdefault(number - 1, relevance / RELEVANCE_SCALE)
    return sorted(ranked.items(), key=lambda item: -item[1])


def merged_order(count: int, ranked: Sequence[tuple[int, float]]) -> tuple[tuple[int, ...], tuple[float | None, ...]]:
    """Ranked candidates first (as given), then the others in search order."""
    seen = {index for index, _relevance in ranked}
    rest = [index for index in range(count) if index not in seen]
    order = tuple([index for index, _r in ranked] + rest)
    relevance: tuple[float | None, ...] = tuple([r for _i, r in ranked] + [None] * len(rest))
    return order, relevance


class OllamaReranker(OllamaTask[OffloadSettings]):
    """Re-ranks search candidates with a local model on Ollama. Thread-safe."""

    @classmethod
    def timeout_s(cls, settings: OffloadSettings) -> float:
        return settings.rerank_timeout_s

    def rank(self, query: str, texts: Sequence[str], *, tenant_id: str = "-") -> Ranking:
        """The model's order of `texts` for `query`, or the search order with the reason it is not."""
        tokens = tuple(estimate_tokens(text) for text in texts)
        if len(texts) < 2:
            return Ranking.search_order(tokens, "fewer than two candidates: nothing to re-rank", self.model)
        seed = int.from_bytes(hashlib.sha256(query.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF
        options = {
            "temperature": 0.0,
            "seed": seed,
            "num_ctx": self.settings.rerank_num_ctx,
            "num_predict": 24 * len(texts) + 32,
        }
        started = self._clock()
        tokens_in = tokens_out = 0
        try:
            response = self._client.chat(
                model=self.model,
                messages=ranking_messages(query, texts, self.settings.rerank_max_chars),
                format=ranking_schema(len(texts)),
                options=options,
                stream=False,
            )
            tokens_in, tokens_out = response.prompt_eval_count or 0, response.eval_count or 0
            if response.done_reason == "length":
                raise InvalidRankingError("answer cut at num_predict", ErrorClass.OUTPUT_TRUNCATED)
            order, relevance = merged_order(len(texts), parse_ranking(response.message.content or "", len(texts)))
            ranking = Ranking(order, relevance, tokens, reranked=True, model=self.model)
            error_class = None
        except CALL_ERRORS as exc:
            failure = translate_error(exc, self.model)
            error_class = failure.error_class
            ranking = Ranking.search_order(tokens, f"{error_class}: {failure}", self.model)
        except InvalidRankingError as invalid:
            error_class = invalid.error_class
            ranking = Ranking.search_order(tokens, f"{error_class}: {invalid}", self.model)
        usage = self.record_usage(
            "rerank",
            request_id=f"{TASK}-{hashlib.sha256(query.encode('utf-8')).hexdigest()[:16]}",
            conversation_id=TASK,
            tenant_id=tenant_id,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            started=started,
            error_class=error_class,
        )
        return dataclasses.replace(
            ranking, latency_ms=usage.latency_ms, tokens_in=usage.tokens_in, tokens_out=usage.tokens_out
        )


__all__ = [
    "InvalidRankingError",
    "OllamaReranker",
    "merged_order",
    "parse_ranking",
    "ranking_messages",
    "ranking_schema",
]
