"""The values passed between the fake servers' shared plumbing and their protocol modules.

Owns `StubRequest` (one parsed HTTP request) and the outcomes a protocol module returns for it: `Reply`
(a body with `Content-Length`), `StreamReply` (chunked, e.g. NDJSON), `Hang` (no answer: the client times
out) and `Reset` (the connection is aborted). `gated` outcomes wait for a parallelism slot and the
scripted latency before they are sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StubRequest:
    """One HTTP request as the protocol module sees it; headers are lower-cased."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    closing: threading.Event = field(repr=False)
    received_at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        """The body decoded as JSON; raises `ValueError` when it is not JSON."""
        return json.loads(self.body)

    def sleep(self, seconds: float) -> bool:
        """Sleep, waking early when the server stops or pauses; False when woken early."""
        if seconds <= 0:
            return not self.closing.is_set()
        return not self.closing.wait(seconds)


@dataclass(frozen=True)
class Reply:
    """A complete response with a `Content-Length` body; a callable body is built when sent."""

    status: int
    body: bytes | Callable[[], bytes]
    content_type: str = "application/json; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    gated: bool = False


@dataclass(frozen=True)
class StreamReply:
    """A chunked response whose chunks are written and flushed one by one (NDJSON, SSE)."""

    status: int
    chunks: Iterable[bytes]
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)
    gated: bool = False


@dataclass(frozen=True)
class Hang:
    """Send nothing until the client disconnects, the server stops, or `seconds` pass; then close."""

    seconds: float
    gated: bool = True


@dataclass(frozen=True)
class Reset:
    """Abort the connection with a TCP reset before any response byte (the server 'crashed')."""

    gated: bool = False


Outcome = Reply | StreamReply | Hang | Reset


def json_reply(status: int, payload: Any, *, headers: Mapping[str, str] | None = None, gated: bool = False) -> Reply:
    """A JSON `Reply` with compact separators; a callable `payload` is called when the reply is sent."""

    def encode() -> bytes:
        return json.dumps(payload() if callable(payload) else payload, separators=(",", ":")).encode()

    body: bytes | Callable[[], bytes] = encode if callable(payload) else encode()
    return Reply(status, body, headers=dict(headers or {}), gated=gated)


__all__ = ["Hang", "Outcome", "Reply", "Reset", "StreamReply", "StubRequest", "json_reply"]
