"""Tool-result digests: the extractive digest (deterministic, labelled, within budget, slices that exist), the
model digest over the fake Ollama through the real client (and its extractive fallback on every failure), and
the claim check putting a digest in place of a tool output's preview."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from processors.offload.digest import ExtractiveDigester, extractive_digest
from processors.offload.model_digest import OllamaDigester, digest_schema
from processors.offload.offload_settings import OffloadSettings
from processors.tokens import estimate_tokens
from schemas.events import ConversationTurn, Role, UsageRecord
from sinks.blobstore import BlobStore
from streams.ingest.claim_check import BlobClaimCheck
from streams.testing.fake_ollama import FakeOllamaServer

MODEL = "digest-test:1b"
OUTPUT = "\n".join(
    [f"collecting tests/test_{n}.py ... ok" for n in range(1, 120)]
    + ["Traceback (most recent call last):", '  File "src/app/models.py", line 42, in save', "ValueError: bad id 17"]
    + [f"passed {n}" for n in range(60)]
)
SHA = hashlib.sha256(OUTPUT.encode()).hexdigest()


def test_the_extractive_digest_is_labelled_bounded_and_names_real_slices() -> None:
    digest = extractive_digest(OUTPUT, SHA, target_tokens=200)
    assert digest == extractive_digest(OUTPUT, SHA, target_tokens=200), "deterministic"
    assert digest.kind == "extractive" and digest.text.startswith(f"[extractive digest of blob {SHA}")
    assert digest.tokens == estimate_tokens(digest.text) <= 200 < estimate_tokens(OUTPUT)
    assert "L122: ValueError: bad id 17" in digest.text or "L120: Traceback" in digest.text
    assert "src/app/models.py@L121" in digest.text
    lines = OUTPUT.splitlines()
    assert digest.total_lines == len(lines)
    assert all(1 <= s.start <= s.end <= len(lines) for s in digest.slices)
    assert any(s.start <= 122 <= s.end and "error" in s.about for s in digest.slices)


def script(summary: str, slices: list[dict[str, Any]]) -> Any:
    def respond(body: dict[str, Any]) -> str:
        assert body["format"] == digest_schema(len(OUTPUT.splitlines()), 800)
        return json.dumps({"summary": summary, "slices": slices})

    return respond


@pytest.fixture
def server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer([MODEL], hang_seconds=3.0) as fake:
        yield fake


def test_the_model_digest_and_its_fallbacks(server: FakeOllamaServer) -> None:
    usage: list[UsageRecord] = []
    digester = OllamaDigester.connect(server.url, MODEL, OffloadSettings(digest_timeout_s=0.5), on_usage=usage.append)
    try:
        server.script.responder = script("pytest: ValueError in src/app/models.py", [{"start": 120, "end": 122,
                                         "about": "the traceback"}])  # fmt: skip
        good = digester.digest(OUTPUT, SHA, tenant_id="acme")
        assert good.kind == "model" and good.reason is None and f"model {MODEL}" in good.text.splitlines()[0]
        assert "ValueError in src/app/models.py" in good.text and "120:122 the traceback" in good.text
        server.script.responder = script("x", [{"start": 5, "end": 999, "about": "beyond"}])
        beyond = digester.digest(OUTPUT, SHA)
        assert beyond.kind == "extractive" and (beyond.reason or "").startswith("schema_violation")
        server.fail_next(1, "timeout")
        assert (digester.digest(OUTPUT, SHA).reason or "").startswith("timeout")
        server.pause()
        down = digester.digest(OUTPUT, SHA)
        server.resume()
        assert down.text == extractive_digest(OUTPUT, SHA, reason=down.reason).text
        assert (down.reason or "").startswith("connection_refused")
    finally:
        digester.close()
    assert [(u.outcome, u.error_class) for u in usage] == [
        ("success", None),
        ("failure", "schema_violation"),
        ("failure", "timeout"),
        ("failure", "connection_refused"),
    ]
    assert usage[0].tokens_in > 0 and usage[0].tenant_id == "acme"


def turn(role: Role, content: str, tool: str | None = None) -> ConversationTurn:
    return ConversationTurn(event_id=f"e-{role}", conversation_id="c", turn_index=0, tenant_id="acme",
                            user_id="ana", platform="cli", role=role, content=content, tool_name=tool,
                            token_count=10, event_time=datetime(2025, 1, 1, tzinfo=UTC))  # fmt: skip


def test_the_claim_check_stores_a_tool_output_over_2000_chars_and_carries_its_digest(tmp_path: Path) -> None:
    assert 2000 < len(OUTPUT) < 6000
    with BlobStore(tmp_path / "blobs") as blobs:
        check = BlobClaimCheck(blobs, digester=ExtractiveDigester(200), digest_threshold_chars=2000)
        tool = check.offload(turn(Role.TOOL, OUTPUT, tool="pytest"))
        assert tool.content is None and tool.content_ref is not None
        assert tool.content_ref.sha256 == SHA and tool.content_ref.media_type == "text/x-tool-output"
        assert tool.content_ref.preview == extractive_digest(OUTPUT, SHA).text
        assert blobs.get(SHA) == OUTPUT.encode()
        said = check.offload(turn(Role.USER, OUTPUT))
        assert said.content == OUTPUT, "only tool outputs get the lower threshold"
        plain = BlobClaimCheck(blobs).offload(turn(Role.TOOL, OUTPUT, tool="pytest"))
        assert plain.content == OUTPUT, "without a digester the claim-check threshold is unchanged"
