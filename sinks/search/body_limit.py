"""Request bodies are bounded, and read only from callers who presented an API key.

A pure ASGI middleware in front of the search app, so nothing reaches FastAPI's body parsing first:

    /v1 request without `Authorization` or `X-API-Key`    401 at once, the body never read
    `Content-Length` over `max_body_bytes`                413 at once, the body never read
    no `Content-Length` (chunked)                         read up to the limit, 413 as soon as it is passed
    a JSON route called without a `Content-Type`          taken as `application/json` (curl's `-d` sends none
                                                          that FastAPI reads as JSON)

A key that is present but wrong is answered by the routes themselves (403), after the bounded read.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PROTECTED_PREFIX = "/v1"
_KEY_HEADERS = (b"authorization", b"x-api-key")


async def _answer(
    send: Send, status: int, error: str, message: str, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    body = json.dumps({"error": error, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Answers 401 / 413 before a body is read; bounds chunked bodies; defaults a missing JSON content type."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        path = str(scope.get("path", ""))
        if path.startswith(PROTECTED_PREFIX) and not any(headers.get(name, b"").strip() for name in _KEY_HEADERS):
            await _answer(
                send,
                401,
                "unauthorized",
                "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                ((b"www-authenticate", b"Bearer"),),
            )
            return
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _answer(send, 400, "bad_request", "Content-Length is not a number")
                return
            if declared > self.max_body_bytes:
                await _answer(send, 413, "payload_too_large", self._too_large(declared))
                return
        if scope.get("method") in ("POST", "PUT", "PATCH") and b"content-type" not in headers:
            scope = {**scope, "headers": [*scope.get("headers", []), (b"content-type", b"application/json")]}
        if length is not None:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body.extend(message.get("body", b""))
            if len(body) > self.max_body_bytes:
                await _answer(send, 413, "payload_too_large", self._too_large(len(body), at_least=True))
                return
            more = bool(message.get("more_body", False))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self, size: int, *, at_least: bool = False) -> str:
        what = f"more than {size}" if at_least else str(size)
        limit = self.max_body_bytes
        return f"request body of {what} bytes is over the {limit}-byte limit (MEMLANE_SINKS__SEARCH_MAX_BODY_BYTES)"


__all__ = ["BodyLimitMiddleware"]
