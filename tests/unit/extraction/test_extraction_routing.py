"""Model routing rules."""

from __future__ import annotations

from extraction_support import COMPLEX, FAST, request_of, simple_request, turn

from processors.extraction.extraction_settings import ExtractionSettings, RoutingRules
from processors.extraction.routing import Tier, route
from schemas.events import Role


def test_simple_window_is_fast(settings: ExtractionSettings) -> None:
    decision = route(simple_request(), settings)
    assert (decision.tier, decision.model, decision.reasons) == (Tier.FAST, FAST, ())


def test_each_rule_alone_sends_the_window_to_the_complex_model() -> None:
    settings = ExtractionSettings(routing=RoutingRules(min_tokens=100, min_turns=5, min_speakers=3, min_decisions=2))
    long = simple_request(token_count=100)
    many = request_of([turn(i, "ok then") for i in range(5)], token_count=10)
    party = request_of([turn(0, speaker="a"), turn(1, speaker="b"), turn(2, role=Role.ASSISTANT)])
    decisions = request_of([turn(0, priority_class="decision"), turn(1, priority_class="decision")])
    expected = {"tokens", "turns", "speakers", "decisions"}
    for request, rule in zip((long, many, party, decisions), ("tokens", "turns", "speakers", "decisions"), strict=True):
        decision = route(request, settings)
        assert decision.tier is Tier.COMPLEX, rule
        assert [r.split()[0] for r in decision.reasons] == [rule]
        expected.discard(rule)
    assert not expected


def test_tool_and_system_turns_are_not_speakers() -> None:
    turns = [
        turn(0),
        turn(1, role=Role.TOOL, speaker="grep"),
        turn(2, role=Role.SYSTEM),
        turn(3, role=Role.ASSISTANT),
    ]
    assert route(request_of(turns), ExtractionSettings()).tier is Tier.FAST


def test_forced_routes(settings: ExtractionSettings) -> None:
    assert route(simple_request(route="complex"), settings).model == COMPLEX
    assert route(simple_request(route="fast", token_count=10**6), settings).model == FAST
