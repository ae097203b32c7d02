"""Model routing: the fast model by default, the complex one for long, multi-party or decision-heavy windows.

A request's `route` field can force a tier (`fast` or `complex`); `auto` (the default) applies the rules in
`RoutingRules`, any one of which sends the window to the complex model:

    tokens     request.token_count >= min_tokens
    turns      number of turns >= min_turns
    speakers   distinct participants (speaker name, else role; tool and system turns excluded) >= min_speakers
    decisions  turns classed `decision` (or carrying a decision cue) >= min_decisions
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from processors.extraction.extraction_settings import ExtractionSettings, RoutingRules
from schemas.events import ExtractionRequest, Role


class Tier(StrEnum):
    FAST = "fast"
    COMPLEX = "complex"


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """The chosen model and why (the reasons name the rules that fired, or the forced route)."""

    tier: Tier
    model: str
    reasons: tuple[str, ...]


def participants(request: ExtractionRequest) -> set[str]:
    """Distinct people and agents speaking in the window."""
    return {
        (turn.speaker or turn.role.value).casefold()
        for turn in request.turns
        if turn.role in (Role.USER, Role.ASSISTANT)
    }


def decision_turns(request: ExtractionRequest) -> int:
    """Turns classed as decisions upstream (priority class), counting request-level decision cues too."""
    classed = sum(1 for turn in request.turns if turn.priority_class == "decision")
    cued = sum(1 for cue in request.cues if cue.startswith("decision"))
    return max(classed, cued)


def complexity_reasons(request: ExtractionRequest, rules: RoutingRules) -> tuple[str, ...]:
    """The routing rules the request meets (empty: a simple window)."""
    reasons: list[str] = []
    if request.token_count >= rules.min_tokens:
        reasons.append(f"tokens {request.token_count} >= {rules.min_tokens}")
    if len(request.turns) >= rules.min_turns:
        reasons.append(f"turns {len(request.turns)} >= {rules.min_turns}")
    speakers = len(participants(request))
    if speakers >= rules.min_speakers:
        reasons.append(f"speakers {speakers} >= {rules.min_speakers}")
    decisions = decision_turns(request)
    if decisions >= rules.min_decisions:
        reasons.append(f"decisions {decisions} >= {rules.min_decisions}")
    return tuple(reasons)


def route(request: ExtractionRequest, settings: ExtractionSettings) -> RouteDecision:
    """Pick the model for `request`."""
    forced = request.route.strip().lower()
    if forced == Tier.FAST:
        return RouteDecision(Tier.FAST, settings.fast_model, ("route=fast",))
    if forced == Tier.COMPLEX:
        return RouteDecision(Tier.COMPLEX, settings.complex_model, ("route=complex",))
    reasons = complexity_reasons(request, settings.routing)
    if reasons:
        return RouteDecision(Tier.COMPLEX, settings.complex_model, reasons)
    return RouteDecision(Tier.FAST, settings.fast_model, ())


__all__ = ["RouteDecision", "Tier", "complexity_reasons", "decision_turns", "participants", "route"]
