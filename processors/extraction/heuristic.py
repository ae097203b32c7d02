"""The heuristic extractor: deterministic, rule-based memories when no model server answers.

It is the offline default (`MEMLANE_EXTRACTOR=auto` with no Ollama reachable, or `heuristic`). It does not
pretend to be a model: batches carry `extractor="heuristic"`, `model=None` and no prompt version; every
memory is tagged `extractor:heuristic` and `rule:<name>`; confidences are fixed per rule and stay below the
LLM acceptance threshold, so a reader can always tell (and filter) rule output. No usage records: no LLM call.

Each sentence of the window's user and assistant turns (tool turns: error rules only) is tested against the
rules in order error, decision, next step, fact; the first rule that matches classifies it. A sentence no
rule claims is still a fact when a user said it and it carries information: only what the priority
scorer calls small talk (greetings, thanks, praise, bare acknowledgements) and sentences under four
words yield nothing, so a window's decision never crowds out its facts. The cap on memories of one kind
(`max_items_per_kind`) applies per turn, not per window: a long window keeps a memory for every informative
sentence (a per-window cap of 20 left 22% of LoCoMo's forwarded evidence turns without a memory). Memories
keep the sentence verbatim (cut at 400 characters) after the speaker's name, cite their turn (id and index),
belong to the user who said it (`Memory.user_id`), and get deterministic ids (of the bare sentence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from processors.extraction.contract import ExtractionOutcome, HealthProbe, StaticHealth
from processors.extraction.memory_ids import memory_id
from processors.extraction.result import KIND_PRIORITY
from processors.priority import CueScorer, PriorityClass
from processors.stage_settings import ProcessorSettings
from schemas.events import ExtractionRequest, Memory, MemoryKind, Role, WindowTurn

EXTRACTOR_NAME = "heuristic"
EXTRACTOR_VERSION = "rules-3"
MAX_SENTENCE_CHARS = 400
MIN_SENTENCE_CHARS = 12
MIN_SENTENCE_WORDS = 4  # "Agreed, Caroline." is an acknowledgement, not a decision worth remembering


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    kind: MemoryKind
    pattern: re.Pattern[str]
    confidence: float
    roles: frozenset[Role] = frozenset({Role.USER, Role.ASSISTANT})


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_ALL_ROLES = frozenset({Role.USER, Role.ASSISTANT, Role.TOOL})
_EXCEPTION_NAME = re.compile(r"\b([A-Z][A-Za-z0-9_]*(?:Error|Exception))\b")

RULES: tuple[Rule, ...] = (
    Rule("exception_name", MemoryKind.ERROR, _EXCEPTION_NAME, 0.6, _ALL_ROLES),
    Rule(
        "failure_words",
        MemoryKind.ERROR,
        _rx(r"\b(traceback|segfault|stack trace|crash(?:ed|es)?|failed|failing|exit code [1-9]\d*|panic)\b"),
        0.5,
        _ALL_ROLES,
    ),
    Rule(
        "decided",
        MemoryKind.DECISION,
        _rx(r"\b(decided|decision|agreed|settled on|opted for|let'?s go with|going with|we(?:'ll| will) use)"),
        0.6,
    ),
    Rule(
        "task_words",
        MemoryKind.NEXT_STEP,
        _rx(r"\b(todo|to-do|next step|action item|follow[- ]up|remind me)\b"),
        0.55,
    ),
    Rule(
        "commitment",
        MemoryKind.NEXT_STEP,
        _rx(r"\b(i|we)(?:'ll| will| need to| must| are going to| am going to)\b"),
        0.45,
    ),
    Rule(
        "self_statement",
        MemoryKind.FACT,
        _rx(
            r"\b(i am|i'm|i prefer|i like|i use|i work|we use"
            r"|my [a-z]+(?: [a-z]+)? (?:is|are)|our [a-z]+ (?:is|are|runs))\b"
        ),
        0.5,
        frozenset({Role.USER}),
    ),
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    """Sentences and lines of `text`, stripped, too-short ones dropped, long ones cut at a word boundary."""
    found: list[str] = []
    for raw in _SENTENCE_END.split(text):
        sentence = " ".join(raw.split())
        if len(sentence) < MIN_SENTENCE_CHARS or len(sentence.split()) < MIN_SENTENCE_WORDS:
            continue
        if len(sentence) > MAX_SENTENCE_CHARS:
            sentence = sentence[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0] + " ..."
        found.append(sentence)
    return found


def _turn_text(turn: WindowTurn) -> str:
    if turn.content is not None:
        return turn.content
    return turn.content_ref.preview if turn.content_ref is not None else ""


INFORMATIVE = Rule("informative", MemoryKind.FACT, re.compile(r".+"), 0.4, frozenset({Role.USER}))
"""What a sentence no other rule claims becomes, unless it is small talk."""
_SMALL_TALK = CueScorer(ProcessorSettings())


def informative(sentence: str, role: Role) -> bool:
    """Not small talk: the priority scorer finds at least one fact cue and no chit-chat in it."""
    score = _SMALL_TALK.score(sentence, role=role)
    return score.priority_class is not PriorityClass.CHIT_CHAT and score.information >= 1.0


def classify(sentence: str, role: Role) -> tuple[Rule, re.Match[str]] | None:
    """The first rule that applies to a sentence spoken in `role` (a fact only when it is informative)."""
    for rule in RULES:
        if role in rule.roles:
            match = rule.pattern.search(sentence)
            if match:
                if rule.kind is MemoryKind.FACT and not informative(sentence, role):
                    return None
                return rule, match
    if role not in INFORMATIVE.roles or not informative(sentence, role):
        return None
    match = INFORMATIVE.pattern.search(sentence)
    return (INFORMATIVE, match) if match else None


def owner(turn: WindowTurn, request: ExtractionRequest) -> str:
    """Whose memory a sentence of `turn` makes: the user who said it (the request's user for old events)."""
    return turn.user_id or request.user_id


def attributed(sentence: str, turn: WindowTurn) -> str:
    """The memory text of a sentence: who said it, then what they said ("Caroline: I moved to Lisbon.").

    A memory is read out of its window, so it names its speaker the way an LLM extractor writes
    "Caroline moved to Lisbon"; questions that name a person then find what that person said.
    """
    who = (turn.speaker or "").strip()
    return f"{who}: {sentence}" if who else sentence


class HeuristicExtractor:
    """Rule-based extractor; the same request always yields the same memories.

    `max_items_per_kind` caps what one *turn* yields of each kind, so a long window keeps the facts
    of all its turns (a cap per window dropped the facts of its last turns).
    """

    def __init__(self, *, max_items_per_kind: int = 20) -> None:
        self.max_items_per_kind = max_items_per_kind
        """Most memories of one kind a single turn yields."""

    @property
    def name(self) -> str:
        return EXTRACTOR_NAME

    def health(self) -> HealthProbe:
        """Always healthy: the rules need no server."""
        return StaticHealth()

    def close(self) -> None:
        """Nothing to release."""

    def redriven(self) -> None:
        """Nothing waits: the rules need no server."""

    def extract(self, request: ExtractionRequest) -> ExtractionOutcome:
        memories: dict[str, Memory] = {}
        for turn in request.turns:
            per_kind: dict[MemoryKind, int] = {}
            for sentence in sentences(_turn_text(turn)):
                found = classify(sentence, turn.role)
                if found is None:
                    continue
                rule, match = found
                if per_kind.get(rule.kind, 0) >= self.max_items_per_kind:
                    continue
                user = owner(turn, request)
                mid = memory_id(request.tenant_id, user, rule.kind.value, sentence)
                if mid in memories:
                    continue
                per_kind[rule.kind] = per_kind.get(rule.kind, 0) + 1
                memories[mid] = Memory(
                    memory_id=mid,
                    kind=rule.kind,
                    text=attributed(sentence, turn),
                    subject=match.group(1) if rule.name == "exception_name" else turn.speaker or turn.role.value,
                    user_id=user,
                    user_ids=(user,),
                    confidence=rule.confidence,
                    priority=KIND_PRIORITY[rule.kind],
                    source_turn_ids=(turn.event_id,),
                    source_turn_indexes=(turn.turn_index,),
                    tags=(f"extractor:{EXTRACTOR_NAME}", f"rule:{rule.name}"),
                    event_time=turn.event_time,
                )
        return ExtractionOutcome(
            extractor=EXTRACTOR_NAME,
            extractor_version=EXTRACTOR_VERSION,
            model=None,
            prompt_version=None,
            memories=tuple(memories.values()),
        )


__all__ = [
    "EXTRACTOR_NAME",
    "EXTRACTOR_VERSION",
    "INFORMATIVE",
    "RULES",
    "HeuristicExtractor",
    "Rule",
    "attributed",
    "classify",
    "informative",
    "owner",
    "sentences",
]
