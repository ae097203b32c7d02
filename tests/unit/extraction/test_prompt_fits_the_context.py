"""The prompt sent to a model never exceeds its context: on real SWE-agent tool outputs, offloaded or inline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evaluation_data import data_missing, shared_data_dir
from extraction_support import request_of, turn

from processors.extraction.extraction_settings import ExtractionSettings
from processors.extraction.governor import TokenGovernor, chars_to_tokens
from processors.extraction.ollama_extractor import prompt_budget
from processors.extraction.prompt import SYSTEM_PROMPT, build_messages
from schemas.events import BlobRef, Role
from sinks.blobstore import BlobStore
from streams.bench.offload_bench import load_corpus


@pytest.fixture(scope="module")
def tool_outputs() -> list[str]:
    root = shared_data_dir()
    if not (root / "swe_agent_trajs").is_dir():
        data_missing("swe_agent_trajs")
    outputs = sorted(load_corpus(root).tool_outputs, key=len, reverse=True)
    return outputs[:12]


def _prompt_tokens(messages: list[dict[str, str]], settings: ExtractionSettings) -> int:
    return sum(chars_to_tokens(m["content"], settings.chars_per_token) for m in messages)


@pytest.mark.parametrize("num_ctx", [2048, 4096, 8192])
def test_offloaded_outputs_are_shown_once_and_the_prompt_fits(
    tool_outputs: list[str], tmp_path: Path, num_ctx: int
) -> None:
    settings = ExtractionSettings(num_ctx=num_ctx)
    with BlobStore(tmp_path / "blobs") as blobs:
        turns, refs = [], []
        for index, output in enumerate(tool_outputs[:4]):
            stored = blobs.put(output.encode(), media_type="text/x-tool-output")
            ref = BlobRef(sha256=stored.sha256, size_bytes=len(output.encode()), preview=output[:160])
            turns.append(turn(index, None, role=Role.TOOL, content_ref=ref))
            refs.append(ref)
        request = request_of(turns, context_refs=tuple(refs))
        budget = prompt_budget(settings, turns=len(turns))
        governor = TokenGovernor.from_settings(settings, blobs, max_prompt_tokens=budget)
        messages = build_messages(request, governor.govern(request))
    assert _prompt_tokens(messages, settings) + settings.num_predict(len(turns)) <= num_ctx
    window = messages[1]["content"]
    for ref in refs:
        assert window.count(ref.sha256) <= 1, "a turn's blob is not shown again as a context blob"


@pytest.mark.parametrize("num_ctx", [2048, 8192])
def test_inline_outputs_are_cut_to_fit_and_the_cut_is_marked(tool_outputs: list[str], num_ctx: int) -> None:
    settings = ExtractionSettings(num_ctx=num_ctx)
    turns = [turn(i, text, role=Role.TOOL) for i, text in enumerate(tool_outputs[:6])]
    turns.append(turn(6, "The failing test is test_datetime_field in tests/test_fields.py."))
    request = request_of(turns)
    governor = TokenGovernor.from_settings(settings, None)
    governed = governor.govern(request, limit=prompt_budget(settings, turns=len(turns)))
    messages = build_messages(request, governed)
    assert _prompt_tokens(messages, settings) + settings.num_predict(len(turns)) <= num_ctx
    assert governed.contents and "more characters not shown" in messages[1]["content"]
    assert "The failing test is test_datetime_field" in messages[1]["content"], "short turns stay whole"
    assert messages[0]["content"] == SYSTEM_PROMPT
    assert json.dumps(messages)  # plain strings only
