"""Summaries against the real Ollama with the packaged test model: the grammar-enforced summary schema is
accepted and answered, the text is cut to the level's budget, and the usage carries the server's own counts.
(SmolLM2-135M tests the protocol, not the quality of a summary; the call took about 2 s here.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from real_ollama import RealOllama

from processors.offload.summaries import Summariser, as_summary_request
from processors.offload.summary_settings import SummarySettings
from processors.tokens import estimate_tokens
from schemas.events import ExtractionRequest, Role, WindowTurn

T0 = datetime(2023, 5, 8, 13, 0, tzinfo=UTC)
LINES = [
    ("Caroline", "I went to an LGBTQ support group yesterday and it was so powerful."),
    ("Melanie", "That's great! I painted a sunrise over the lake last week."),
    ("Caroline", "I'm researching adoption agencies now, I want to give a child a home."),
]


def test_the_real_server_answers_the_summary_schema(real_ollama: RealOllama) -> None:
    turns = tuple(
        WindowTurn(
            event_id=f"e{i}",
            turn_index=i,
            role=Role.USER,
            speaker=who,
            user_id=who.lower(),
            content=text,
            token_count=estimate_tokens(text),
            event_time=T0 + timedelta(minutes=i),
        )
        for i, (who, text) in enumerate(LINES)
    )
    request = ExtractionRequest(
        request_id="real-summary",
        conversation_id="conv-26",
        tenant_id="acme",
        user_id="caroline",
        first_turn_index=0,
        last_turn_index=2,
        turns=turns,
        priority=0.5,
        priority_class="fact",
        trigger="turn_count",
        token_count=sum(t.token_count for t in turns),
    )
    settings = SummarySettings(level1_tokens=40, timeout_s=120.0, num_ctx=2048)
    task = Summariser.connect(real_ollama.url, real_ollama.model, settings)
    try:
        outcome = task.summarise(as_summary_request(request, 1))
    finally:
        task.close()
    assert outcome.text and estimate_tokens(outcome.text) <= 40
    [record] = outcome.usage
    assert record.outcome == "success" and record.model == real_ollama.model
    assert record.tokens_in > 50 and record.tokens_out > 0 and record.request_id == "real-summary#summary1"
