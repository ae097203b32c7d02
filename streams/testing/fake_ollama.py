"""A protocol-faithful local Ollama server for tests and benchmarks, driven by the real `ollama` client.

Owns the Ollama wire protocol: `POST /api/chat` and `POST /api/generate` (one JSON document, or NDJSON
chunks when `stream` is true or absent, as the real server defaults), `POST /api/embed`, `GET /api/tags`,
`GET /api/version` and `GET /`, with the real field names, durations in nanoseconds and errors shaped
``{"error": "..."}``. Token counts are whitespace words, so token accounting is testable.

What the model says comes from `script.responder(request_json) -> str`, called when the request arrives
(before it queues for a slot and waits out `script.latency`); by default the smallest JSON document
valid against the request's `format` schema.

It behaves as the real server does (`streams.testing.ollama_rules` has the texts): one call at a time by
default (`parallel`, OLLAMA_NUM_PARALLEL=1), the others queue and the wait is inside the client's timeout;
past `max_queue` waiting calls, 503 "server busy"; the first call to a model, and a call with another
`num_ctx` than the loaded one, waits `load_seconds` (reported as `load_duration`); a `format` that is not
a schema or an option of the wrong type is a 500 naming it; a prompt over `num_ctx` (default 4096) is cut
silently, the system prompt first, and `prompt_eval_count` reports `num_ctx`; `num_predict` cuts the
answer with `done_reason` "length"; an unknown model is 404 `model 'x' not found`.

Failures for model calls (chat, generate) are queued with `fail_next(n, kind)`:

- ``malformed_json``: 200 whose content is cut-off JSON
- ``schema_violation``: 200 whose content is JSON that the `format` schema rejects
- ``http_500``: 500 ``{"error": "llama runner process has terminated: exit status 2"}``
- ``busy``: 503 "server busy" at once, as when the queue is full
- ``timeout``: no response until the client gives up (or `script.hang_seconds` pass)
- ``refuse``: the connection is reset without a response; `pause()` / `resume()` give a real
  'connection refused' for as long as the server is down
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from streams.testing.http_stub import StubServer
from streams.testing.llm_content import (
    count_tokens,
    embedding,
    split_pieces,
    truncate_tokens,
    violating_instance,
)
from streams.testing.ollama_rules import (
    DEFAULT_MAX_QUEUE,
    DEFAULT_NUM_CTX,
    DEFAULT_NUM_PARALLEL,
    SERVER_BUSY,
    format_error,
    model_not_found,
    options_error,
)
from streams.testing.ollama_script import (
    DEFAULT_MODELS,
    LOADED_NS,
    FakeModel,
    OllamaFailure,
    OllamaScript,
    Responder,
    default_responder,
    with_tag,
)
from streams.testing.replies import Hang, Outcome, Reply, Reset, StreamReply, StubRequest, json_reply

RUNNER_CRASH = "llama runner process has terminated: exit status 2"
_PROMPT_NS_PER_TOKEN = 100_000
_EVAL_NS_PER_TOKEN = 10_000_000


class FakeOllamaServer(StubServer[OllamaFailure]):
    """Local Ollama on 127.0.0.1 (OS-chosen port); use as a context manager and pass `.url` as host."""

    name = "fake-ollama"
    script: OllamaScript

    def __init__(
        self,
        models: Sequence[FakeModel | str] = DEFAULT_MODELS,
        *,
        responder: Responder | None = None,
        latency: float = 0.0,
        parallel: int = DEFAULT_NUM_PARALLEL,
        max_queue: int = DEFAULT_MAX_QUEUE,
        load_seconds: float = 0.02,
        hang_seconds: float = 30.0,
        version: str = "0.17.4",
        port: int = 0,
    ) -> None:
        script = OllamaScript(responder=responder, latency=latency, parallel=parallel, hang_seconds=hang_seconds)
        script.gate.max_waiting, script.load_seconds = max_queue, load_seconds
        super().__init__(script, port=port)
        entries = [m if isinstance(m, FakeModel) else FakeModel(m) for m in models]
        self.models: dict[str, FakeModel] = {m.full_name: m for m in entries}
        self.version = version
        self._routes: dict[str, tuple[str, Callable[[StubRequest], Outcome]]] = {
            "/api/chat": ("POST", self._chat),
            "/api/generate": ("POST", self._generate),
            "/api/embed": ("POST", self._embed),
            "/api/tags": ("GET", lambda _: json_reply(200, {"models": self._tag_list()})),
            "/api/version": ("GET", lambda _: json_reply(200, {"version": self.version})),
            "/": ("GET", lambda _: Reply(200, b"Ollama is running", "text/plain; charset=utf-8")),
        }

    def error_reply(self, status: int, message: str) -> Reply:
        return json_reply(status, {"error": message})

    def queue_full_reply(self) -> Reply:
        return self.error_reply(503, SERVER_BUSY)

    @property
    def loads(self) -> int:
        """Model loads so far (the first call to a model, and each `num_ctx` change)."""
        return self.script.loads

    def dispatch(self, request: StubRequest) -> Outcome:
        try:
            body = request.json() if request.body else None
        except ValueError:
            body = None
        self.stats.record_request(request.path, body)
        route = self._routes.get(request.path)
        if route is None:
            return Reply(404, b"404 page not found", "text/plain")
        if request.method != route[0]:
            return Reply(405, b"405 method not allowed", "text/plain")
        return route[1](request)

    def _tag_list(self) -> list[dict[str, Any]]:
        return [m.tag_entry() for m in self.models.values()]

    def _model_call(self, request: StubRequest, action: str) -> tuple[dict[str, Any], FakeModel] | Reply:
        try:
            body = request.json()
        except ValueError as exc:
            return self.error_reply(400, f"invalid request body: {exc}")
        if not isinstance(body, dict):
            return self.error_reply(400, "invalid request body: expected a JSON object")
        name = body.get("model")
        if not isinstance(name, str) or not name:
            return self.error_reply(400, "model is required")
        model = self.models.get(with_tag(name))
        if model is None:
            return self.error_reply(404, model_not_found(name))
        if model.embedding_only and action != "embed":
            return self.error_reply(400, f"{json.dumps(name)} does not support {action}")
        refused = format_error(body.get("format")) or options_error(body.get("options"))
        if refused and action != "embed":
            return self.error_reply(500, refused)
        return body, model

    def _chat(self, request: StubRequest) -> Outcome:
        found = self._model_call(request, "chat")
        if isinstance(found, Reply):
            return found
        body = found[0]
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        prompt_tokens = sum(count_tokens(str(m.get("content") or "")) for m in messages)
        if prompt_tokens > _num_ctx(body):  # cut silently, the system prompt first
            body = body | {"messages": [m for m in messages if m.get("role") != "system"]}
        return self._complete(request, body, min(prompt_tokens, _num_ctx(body)), chat=True)

    def _generate(self, request: StubRequest) -> Outcome:
        found = self._model_call(request, "generate")
        if isinstance(found, Reply):
            return found
        body = found[0]
        prompt = str(body.get("prompt") or "")
        if not prompt:
            loaded = {"model": body["model"], "created_at": _now(), "response": "", "done": True}
            return json_reply(200, loaded | {"done_reason": "load"})
        prompt_tokens = count_tokens(prompt) + count_tokens(str(body.get("system") or ""))
        return self._complete(request, body, min(prompt_tokens, _num_ctx(body)), chat=False)

    def _complete(self, request: StubRequest, body: dict[str, Any], prompt_tokens: int, *, chat: bool) -> Outcome:
        failure = self.script.take_failure()
        if failure == "timeout":
            return Hang(self.script.hang_seconds)
        if failure == "refuse":
            return Reset()
        if failure == "http_500":
            return json_reply(500, {"error": RUNNER_CRASH}, gated=True)
        if failure == "busy":
            return self.queue_full_reply()
        content = self._content(body, failure)
        done_reason = "stop"
        num_predict = (body.get("options") or {}).get("num_predict")
        if isinstance(num_predict, int) and 0 <= num_predict < count_tokens(content):
            content, done_reason = truncate_tokens(content, num_predict), "length"
        model = str(body["model"])
        num_ctx = _num_ctx(body)

        def frame(piece: str) -> dict[str, Any]:
            text: dict[str, Any] = {"message": {"role": "assistant", "content": piece}} if chat else {"response": piece}
            return {"model": model, "created_at": _now()} | text | {"done": False}

        def final(piece: str, load_ns: int) -> dict[str, Any]:
            doc = frame(piece) | {"done": True, "done_reason": done_reason}
            doc |= _durations(request, prompt_tokens, count_tokens(content), load_ns)
            if not chat:
                doc["context"] = [zlib.crc32(t.encode()) % 32_000 for t in f"{body['prompt']} {content}".split()]
            return doc

        if body.get("stream") is False:
            return json_reply(200, lambda: final(content, self.script.load(model, num_ctx)), gated=True)
        pieces = split_pieces(content)

        def chunks() -> Iterator[bytes]:
            load_ns = self.script.load(model, num_ctx)
            for piece in pieces:
                yield _ndjson(frame(piece))
            yield _ndjson(final("", load_ns))

        return StreamReply(200, chunks(), "application/x-ndjson", gated=True)

    def _content(self, body: dict[str, Any], failure: OllamaFailure | None) -> str:
        fmt = body.get("format")
        if failure == "schema_violation":
            return json.dumps(violating_instance(fmt if isinstance(fmt, dict) else {}))
        text = self.script.responder(body)
        if failure != "malformed_json":
            return text
        broken = text[: len(text) // 2] + '{"truncated'
        return broken if not _parses(broken) else "{"

    def _embed(self, request: StubRequest) -> Outcome:
        found = self._model_call(request, "embed")
        if isinstance(found, Reply):
            return found
        body, model = found
        raw = body.get("input")
        inputs = [raw] if isinstance(raw, str) else list(raw or [])
        dims = body.get("dimensions") or model.embedding_length
        tokens = sum(count_tokens(str(text)) for text in inputs)
        return json_reply(
            200,
            lambda: {
                "model": body["model"],
                "embeddings": [embedding(str(text), int(dims)) for text in inputs],
                "total_duration": _elapsed_ns(request, LOADED_NS),
                "load_duration": LOADED_NS,
                "prompt_eval_count": tokens,
            },
            gated=True,
        )


def _num_ctx(body: Mapping[str, Any]) -> int:
    value = (body.get("options") or {}).get("num_ctx")
    return int(value) if isinstance(value, int | float) and value > 0 else DEFAULT_NUM_CTX


def _durations(request: StubRequest, prompt_tokens: int, eval_tokens: int, load_ns: int) -> dict[str, int]:
    prompt_ns = prompt_tokens * _PROMPT_NS_PER_TOKEN
    eval_ns = eval_tokens * _EVAL_NS_PER_TOKEN
    return {
        "total_duration": _elapsed_ns(request, load_ns + prompt_ns + eval_ns),
        "load_duration": load_ns,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": prompt_ns,
        "eval_count": eval_tokens,
        "eval_duration": eval_ns,
    }


def _elapsed_ns(request: StubRequest, floor: int) -> int:
    return max(int((time.monotonic() - request.received_at) * 1e9), floor)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _ndjson(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


__all__ = [
    "DEFAULT_MODELS",
    "FakeModel",
    "FakeOllamaServer",
    "OllamaFailure",
    "OllamaScript",
    "Responder",
    "default_responder",
]
