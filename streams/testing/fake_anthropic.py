"""A protocol-faithful local Anthropic Messages API for tests and benchmarks, driven by the real client.

Owns `POST /v1/messages` (non-streaming; ``stream: true`` is refused with a 400 in Anthropic's error
shape): the API key check (``x-api-key``, or ``Authorization: Bearer`` which the installed `anthropic`
2.x client sends for `api_key=`), the required ``anthropic-version`` header, request validation, the
real response envelope (``msg_`` id, ``type``, ``role``, ``model``, ``content``, ``stop_reason``,
``stop_sequence``, ``usage``) and errors shaped ``{"type": "error", "error": {"type", "message"},
"request_id"}`` with a ``request-id`` header. Token counts are whitespace words.

A forced tool (``tool_choice: {"type": "tool", "name": ...}``, or ``{"type": "any"}``: the first tool)
answers with a ``tool_use`` block whose input comes from `script.tool_responder(request_json)`; by
default the smallest document valid against the tool's ``input_schema``. Otherwise a ``text`` block
from `script.text_responder`. Failures are queued with `fail_next(n, kind)`:

- ``rate_limit``: 429 ``rate_limit_error`` with a ``retry-after`` header (`script.retry_after` seconds)
- ``overloaded``: 529 ``overloaded_error``
- ``http_500``: 500 ``api_error``
- ``timeout``: no response until the client gives up (or `script.hang_seconds` pass)
- ``refuse``: the connection is reset without a response; `pause()` / `resume()` give a real
  'connection refused' for as long as the server is down
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal, get_args

from streams.testing.http_stub import StubServer
from streams.testing.llm_content import count_tokens, minimal_instance, truncate_tokens
from streams.testing.replies import Hang, Outcome, Reply, Reset, StubRequest, json_reply
from streams.testing.script import StubScript

AnthropicFailure = Literal["rate_limit", "overloaded", "http_500", "timeout", "refuse"]
ToolResponder = Callable[[dict[str, Any]], dict[str, Any]]
TextResponder = Callable[[dict[str, Any]], str]

DEFAULT_TEXT = "This is a reply from the fake Anthropic server."
_FAILURES: dict[str, tuple[int, str, str]] = {
    "rate_limit": (
        429,
        "rate_limit_error",
        "This request would exceed your organization's rate limit. Please try again later.",
    ),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "http_500": (500, "api_error", "Internal server error"),
}


def forced_tool(request: dict[str, Any]) -> dict[str, Any] | None:
    """The tool definition the request forces (``tool_choice`` of type ``tool`` or ``any``), if any."""
    tools = [t for t in request.get("tools") or [] if isinstance(t, dict)]
    choice = request.get("tool_choice") or {}
    if not tools or not isinstance(choice, dict):
        return None
    if choice.get("type") == "any":
        return tools[0]
    if choice.get("type") == "tool":
        return next((t for t in tools if t.get("name") == choice.get("name")), None)
    return None


def default_tool_responder(request: dict[str, Any]) -> dict[str, Any]:
    """The smallest input valid against the forced tool's ``input_schema``."""
    tool = forced_tool(request) or {}
    value = minimal_instance(tool.get("input_schema") or {"type": "object"})
    return value if isinstance(value, dict) else {}


def default_text_responder(request: dict[str, Any]) -> str:
    return DEFAULT_TEXT


class AnthropicScript(StubScript[AnthropicFailure]):
    """`StubScript` plus the tool and text responders, `retry_after` and how long a timeout hangs."""

    def __init__(
        self,
        *,
        tool_responder: ToolResponder | None,
        text_responder: TextResponder | None,
        latency: float,
        parallel: int,
        retry_after: float,
        hang_seconds: float,
    ) -> None:
        super().__init__(get_args(AnthropicFailure), latency=latency, parallel=parallel)
        self._content_lock = threading.Lock()
        self._tool_responder: ToolResponder = tool_responder or default_tool_responder
        self._text_responder: TextResponder = text_responder or default_text_responder
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds

    @property
    def tool_responder(self) -> ToolResponder:
        with self._content_lock:
            return self._tool_responder

    @tool_responder.setter
    def tool_responder(self, responder: ToolResponder | None) -> None:
        with self._content_lock:
            self._tool_responder = responder or default_tool_responder

    @property
    def text_responder(self) -> TextResponder:
        with self._content_lock:
            return self._text_responder

    @text_responder.setter
    def text_responder(self, responder: TextResponder | None) -> None:
        with self._content_lock:
            self._text_responder = responder or default_text_responder


class FakeAnthropicServer(StubServer[AnthropicFailure]):
    """Local Anthropic API on 127.0.0.1 (OS-chosen port); pass `.url` as the client's `base_url`."""

    name = "fake-anthropic"
    script: AnthropicScript

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        models: Sequence[str] | None = None,
        tool_responder: ToolResponder | None = None,
        text_responder: TextResponder | None = None,
        latency: float = 0.0,
        parallel: int = 16,
        retry_after: float = 1.0,
        hang_seconds: float = 30.0,
        port: int = 0,
    ) -> None:
        script = AnthropicScript(
            tool_responder=tool_responder,
            text_responder=text_responder,
            latency=latency,
            parallel=parallel,
            retry_after=retry_after,
            hang_seconds=hang_seconds,
        )
        super().__init__(script, port=port)
        self.api_key = api_key
        self.models = frozenset(models) if models is not None else None

    def error_reply(self, status: int, message: str, *, kind: str = "api_error", gated: bool = False) -> Reply:
        request_id = _new_id("req_")
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
        headers = {"request-id": request_id}
        if status == 429:
            headers["retry-after"] = f"{self.script.retry_after:g}"
        return json_reply(status, body, headers=headers, gated=gated)

    def dispatch(self, request: StubRequest) -> Outcome:
        try:
            body = request.json()
        except ValueError:
            body = None
        self.stats.record_request(request.path, body)
        if request.path != "/v1/messages":
            return self.error_reply(404, "Not found", kind="not_found_error")
        if request.method != "POST":
            return self.error_reply(405, "Method not allowed", kind="invalid_request_error")
        if not self._authorized(request):
            return self.error_reply(401, "invalid x-api-key", kind="authentication_error")
        if not request.headers.get("anthropic-version"):
            return self.error_reply(400, "anthropic-version: header is required", kind="invalid_request_error")
        problem = _invalid(body)
        if problem is not None or not isinstance(body, dict):
            return self.error_reply(400, problem or "invalid request body", kind="invalid_request_error")
        if self.models is not None and body["model"] not in self.models:
            return self.error_reply(404, f"model: {body['model']}", kind="not_found_error")
        if body.get("stream"):
            message = "stream: streaming is not implemented by this fake server; send stream=false"
            return self.error_reply(400, message, kind="invalid_request_error")
        failure = self.script.take_failure()
        if failure == "timeout":
            return Hang(self.script.hang_seconds)
        if failure == "refuse":
            return Reset()
        if failure is not None:
            status, kind, message = _FAILURES[failure]
            return self.error_reply(status, message, kind=kind, gated=True)
        return self._message(body)

    def _authorized(self, request: StubRequest) -> bool:
        key = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if key is None and auth.lower().startswith("bearer "):
            key = auth[len("bearer ") :]
        return key == self.api_key

    def _message(self, body: dict[str, Any]) -> Reply:
        tool = forced_tool(body)
        if tool is not None:
            tool_input = self.script.tool_responder(body)
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": _new_id("toolu_"),
                "name": tool["name"],
                "input": tool_input,
            }
            stop_reason, output_tokens = "tool_use", count_tokens(json.dumps(tool_input))
        else:
            text = self.script.text_responder(body)
            stop_reason = "end_turn"
            if count_tokens(text) > body["max_tokens"]:
                text, stop_reason = truncate_tokens(text, body["max_tokens"]), "max_tokens"
            block, output_tokens = {"type": "text", "text": text}, count_tokens(text)
        request_id = _new_id("req_")
        message = {
            "id": _new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [block],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": _input_tokens(body),
                "output_tokens": output_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "service_tier": "standard",
            },
        }
        return json_reply(200, message, headers={"request-id": request_id}, gated=True)


def _invalid(body: Any) -> str | None:
    """Why the request body is not a valid Messages request, in the API's wording; None when valid."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    for name, kind in (("model", str), ("max_tokens", int), ("messages", list)):
        if name not in body:
            return f"{name}: Field required"
        if not isinstance(body[name], kind) or isinstance(body[name], bool):
            return f"{name}: Input should be a valid {kind.__name__}"
    if body["max_tokens"] < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("tool", "any") and not body.get("tools"):
        return "tool_choice: tool_choice may only be specified while providing tools."
    if isinstance(choice, dict) and choice.get("type") == "tool" and forced_tool(body) is None:
        return f"tool_choice: Tool '{choice.get('name')}' not found in provided tools"
    return None


def _input_tokens(body: dict[str, Any]) -> int:
    parts: list[Any] = [body.get("system") or ""]
    parts += [m.get("content") for m in body["messages"] if isinstance(m, dict)]
    parts += [[t.get("name"), t.get("description"), t.get("input_schema")] for t in body.get("tools") or []]
    return sum(count_tokens(_text_of(part)) for part in parts)


def _text_of(part: Any) -> str:
    """The words a content value carries: text blocks' text, tool inputs and results as JSON."""
    if isinstance(part, str):
        return part
    if isinstance(part, list):
        return " ".join(_text_of(item) for item in part)
    if isinstance(part, dict):
        if part.get("type") == "text":
            return str(part.get("text") or "")
        if part.get("type") == "tool_result":
            return _text_of(part.get("content") or "")
        if part.get("type") == "tool_use":
            return json.dumps(part.get("input") or {})
        return json.dumps(part)
    return "" if part is None else json.dumps(part)


def _new_id(prefix: str) -> str:
    return f"{prefix}01{uuid.uuid4().hex[:22]}"


__all__ = [
    "AnthropicFailure",
    "AnthropicScript",
    "FakeAnthropicServer",
    "TextResponder",
    "ToolResponder",
    "default_text_responder",
    "default_tool_responder",
    "forced_tool",
]
