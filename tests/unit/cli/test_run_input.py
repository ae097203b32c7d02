"""`memlane run` input choice: --data, else the LoCoMo file in the data dir, else the built-in demo."""

from __future__ import annotations

from pathlib import Path

from streams.cli.run_cmd import _input
from streams.demo import DEMO_CONVERSATION, DEMO_CONVERSATION_ID
from streams.ingest import locomo_turns


def test_the_demo_conversation_stands_in_only_without_data(tmp_path: Path) -> None:
    missing = tmp_path / "locomo_dev5.json"
    assert _input(None, missing, None) == (DEMO_CONVERSATION, DEMO_CONVERSATION_ID)
    given = tmp_path / "mine.json"
    assert _input(given, missing, None) == (given, "conv-26"), "an explicit --data is never replaced"
    missing.write_text("[]")
    assert _input(None, missing, "conv-30") == (missing, "conv-30")


def test_the_demo_conversation_is_valid_locomo_input() -> None:
    turns = list(locomo_turns(DEMO_CONVERSATION, tenant_id="acme"))
    assert len(turns) == 42
    assert {t.sample_id for t in turns} == {DEMO_CONVERSATION_ID}
    assert len({t.session for t in turns}) == 3
