"""Priority scoring: which class a turn's content belongs to, its score, and the cues that decided it.

Classes and default scores (`ProcessorSettings.weights`): error 1.0, decision 0.9, next step 0.8 (extracted
now), fact 0.5 (batched), chit-chat 0.1 (not extracted). `Scorer` is the interface a small classifier model
can implement; `CueScorer` is the rule-based default: named regular-expression cues, each firing cue listed in
the result so every verdict can be explained (`"decision:go_with"`, `"fact:first_person"`, ...).

How `CueScorer` decides, in order:
1. any error, decision or next-step cue: the highest of those classes;
2. otherwise the turn's *information* is the summed weight of its fact cues (self-disclosure beyond stock
   phrases like "I'm so glad", numbers, dates, names, quoted titles, attachments, personal details);
   with at least `fact_min_information` it is a fact;
3. otherwise small-talk cues (greetings, thanks, praise, encouragement, farewells, emojis, bare
   acknowledgements) or no words at all make it chit-chat;
4. anything else is a fact (`fact:unmarked`): content we cannot read is kept, not dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from processors.stage_settings import ProcessorSettings
from schemas.events import Role


class PriorityClass(StrEnum):
    ERROR = "error"
    DECISION = "decision"
    NEXT_STEP = "next_step"
    FACT = "fact"
    CHIT_CHAT = "chit_chat"


@dataclass(frozen=True)
class Score:
    """A scorer's verdict on one turn."""

    priority_class: PriorityClass
    score: float
    cues: tuple[str, ...]
    information: float = 0.0

    def as_scores(self) -> dict[str, float]:
        """The numbers recorded on a skip record."""
        return {"priority": self.score, "information": self.information}


class Scorer(Protocol):
    """Classifies a turn's text (content plus attachment captions)."""

    def score(self, text: str, *, role: Role = Role.USER, tool_name: str | None = None) -> Score: ...


@dataclass(frozen=True)
class Cue:
    """A named pattern; a fact cue adds `weight` information per match, at most `cap` times."""

    name: str
    pattern: re.Pattern[str]
    weight: float = 1.0
    cap: int = 1


def _cue(name: str, pattern: str, weight: float = 1.0, cap: int = 1, flags: int = re.IGNORECASE) -> Cue:
    return Cue(name, re.compile(pattern, flags), weight, cap)


_DAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend"
_MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december"

ERROR_CUES = (
    _cue("error:traceback", r"traceback \(most recent call last\)|^\s+at [\w.$]+\(|stack ?trace"),
    _cue("error:exception", r"\b[A-Z]\w*(?:Error|Exception)\b|\bpanic:", flags=0),
    _cue("error:error", r"\berror(?:s|ed)?\b|\bERR!|\bE\d{3,4}\b"),
    _cue(
        "error:unable",
        r"\b(?:unable to|could not|couldn'?t|cannot|can'?t) (?:resolve|connect|find module|open file|load|import"
        r"|parse|allocate|reach the)\b|\bpermission denied\b|\btimed out\b|\bconnection refused\b",
    ),
    _cue("error:failed", r"\bfail(?:ed|s|ing|ure)\b|\bbroken\b|\b(?:does ?n[o']t|not) work(?:ing)?\b"),
    _cue("error:exit_code", r"\bexit(?:ed)?(?: with)? (?:code|status)\W*[1-9]\d*|\bnon-zero exit\b"),
    _cue("error:crash", r"\bcrash(?:ed|es)?\b|\bsegfault|segmentation fault|core dumped|\bfatal\b|\boom\b"),
)
DECISION_CUES = (
    _cue("decision:decided", r"\b(?:we|i)(?:'ve| have)? (?:finally |just )?decided\b|\bdecision (?:is|was)\b"),
    _cue("decision:go_with", r"\blet'?s go with\b|\b(?:we|i)(?:'ll| will) go with\b|\bgoing with\b"),
    _cue("decision:take", r"\bi'?ll take\b|\bwe'?ll take\b"),
    _cue("decision:agreed", r"\b(?:we|i) agreed\b|\bagreed to\b|\bsettled on\b|\bopted for\b|\bsigned off\b"),
    _cue("decision:chose", r"\b(?:we|i) (?:chose|picked|selected)\b|\b(?:lgtm|ship it)\b"),
)
NEXT_STEP_CUES = (
    _cue("next_step:todo", r"\btodo\b|\baction items?\b|\bnext steps?\b|\bfollow[- ]up\b|\bremind me\b"),
    _cue("next_step:will", rf"\b(?:tomorrow|tonight|next (?:week|month|{_DAYS})) (?:i|we)(?:'ll| will)\b"),
    _cue("next_step:plan", r"\b(?:i|we) (?:plan|intend) to\b|\b(?:i|we)(?:'m| am|'re| are) planning (?:to|on)\b"),
    _cue("next_step:deadline", rf"\bby (?:tomorrow|tonight|{_DAYS}|end of (?:day|the week)|eod)\b|\bdeadline\b"),
    _cue("next_step:next", r"\bnext (?:step|thing to do|i(?:'ll| will))\b|\bthen (?:i|we)(?:'ll| will)\b"),
)
_STOCK = re.compile(
    r"\b(?:i'?m (?:so |really |very |just |super )?(?:glad|happy|sure|proud|sorry|here for you|stoked|thrilled)"
    r"|i (?:really |totally |completely |definitely |truly )?(?:appreciate|hope|think|bet|agree|know|wish|guess"
    r"|mean|feel you|understand|admire|believe in you|get (?:it|that))"
    r"|i can (?:only )?imagine|i love (?:that|it|this|how|the way|your)|i'?d love (?:to|that)|i can'?t wait"
    r"|i'?ll (?:definitely |surely )?(?:keep (?:going|pushing|at it|you posted|that in mind)|think about it"
    r"|check it out|let you know|try (?:it|that)(?: out)?|make sure)|i won'?t give up|keep me posted"
    r"|(?:it )?means a lot(?: to me)?|let me know|for me|thank(?:s| you)|you and me|with me|to me|me too)\b",
    re.IGNORECASE,
)
_VOCATIVE = re.compile(
    r"\b(?i:hey|hi|hello|thanks|thank you|wow|congrats|bye|dear|yo)\W+[A-Z][a-z]+|,\s*[A-Z][a-z]+(?=\s*[!?.,])"
)
"""A name used to address someone ("Thanks, Mel!") says nothing about them: removed before fact cues."""
FACT_CUES = (
    _cue("fact:first_person", r"\b(?:i|i'm|i've|i'd|i'll|me|my|mine|myself|we|we're|we've|our|us)\b", 1.0, 3),
    _cue(
        "fact:personal",
        r"\bmy (?:name|birthday|wife|husband|partner|kids?|son|daughter|mom|dad|family"
        r"|job|boss|team|dog|cat|home|house)\b|\bi (?:live|work|study) (?:in|at|for)\b|\byears? old\b",
        2.0,
    ),
    _cue("fact:number", r"\b\d[\d,.:]*\b|\b(?:two|three|four|five|six|seven|eight|nine|ten|twice)\b", 1.0, 2),
    _cue(
        "fact:date",
        rf"\b(?:{_MONTHS}|{_DAYS}|yesterday|tomorrow|tonight|last (?:week|month|year|night)"
        r"|next (?:week|month|year)|ago|since)\b",
        1.0,
        2,
    ),
    _cue("fact:name", r"(?<=[a-z,;] )[A-Z][a-z]+(?: [A-Z][a-z]+)*", 1.0, 2, flags=0),
    _cue("fact:title", r"\"[^\"]{2,80}\"", 1.0),
    _cue(
        "fact:event",
        r"(?:^|[.!?]\s+)(?:been|just|went|got|started|finished|bought|made|took|tried|spent"
        r"|joined|signed|gonna|working on|still|recently|currently|finally)\b",
        1.0,
    ),
    _cue("fact:attachment", r"^\[\w+: ", 1.0, flags=re.MULTILINE),
)
CHIT_CHAT_CUES = (
    _cue("chit_chat:greeting", r"^\W*(?:hey|hi|hello|hiya|yo|good (?:morning|afternoon|evening))\b"),
    _cue("chit_chat:thanks", r"\b(?:thanks|thank you|thx|ty|appreciate it|much appreciated)\b"),
    _cue(
        "chit_chat:praise",
        r"\b(?:wow|awesome|amazing|great|cool|congrat(?:s|ulations)|fantastic|incredible"
        r"|wonderful|impressive|inspiring|lovely|beautiful|sweet|nice|yay|proud of you|so happy for you)\b",
    ),
    _cue(
        "chit_chat:encouragement",
        r"\b(?:keep (?:it up|going|pushing|on)|you got this|you can do it|good luck"
        r"|hang in there|don'?t give up|go for it|believe in yourself|take care|you'?ll do great)\b",
    ),
    _cue(
        "chit_chat:farewell",
        r"\b(?:bye|goodbye|see (?:you|ya) (?:soon|later|then|around|tomorrow)|talk (?:to you )?(?:soon|later)|ttyl"
        r"|good night)\b",
    ),
    _cue("chit_chat:emoji", r"[\u2600-\u27bf\U0001f300-\U0001faff]|(?:^|\s)[:;]-?[)(DP](?:\s|$)"),
    _cue(
        "chit_chat:ack",
        r"^\W*(?:ok(?:ay)?|k|sure|yes|yeah|yep|yup|no|nope|got it|sounds good|right|alright"
        r"|lol|haha+|cool|nice|great|indeed|totally|exactly|agreed|same|me too|true)\W*$",
    ),
)


def any_of(cues: tuple[Cue, ...]) -> re.Pattern[str]:
    """One pattern that matches wherever one of `cues` would (each keeps its own case and line flags)."""

    def scoped(pattern: re.Pattern[str]) -> str:
        flags = ("i" if pattern.flags & re.IGNORECASE else "") + ("m" if pattern.flags & re.MULTILINE else "")
        return f"(?{flags}:{pattern.pattern})" if flags else f"(?:{pattern.pattern})"

    return re.compile("|".join(scoped(cue.pattern) for cue in cues))


_HIGH = tuple(
    (priority_class, cues, any_of(cues))
    for priority_class, cues in (
        (PriorityClass.ERROR, ERROR_CUES),
        (PriorityClass.DECISION, DECISION_CUES),
        (PriorityClass.NEXT_STEP, NEXT_STEP_CUES),
    )
)
"""The classes decided before the fact cues, each with a pre-check that spares a search per cue."""
_ANY_CHIT_CHAT = any_of(CHIT_CHAT_CUES)
_WORD = re.compile(r"[^\W_]", re.UNICODE)
_WORDS = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_YOU = re.compile(r"\b(?:you|your|you're|you've|you'll|yours|yourself|u)\b", re.IGNORECASE)
STATEMENT_CUE = "fact:statement"
"""Fires on a plain statement about something ("It's a mix of drama and romance"): see `_is_statement`."""
STATEMENT_MIN_WORDS = 8


class CueScorer:
    """Rule-based `Scorer`: named regex cues, no model. See the module docstring for the decision order."""

    def __init__(self, settings: ProcessorSettings | None = None) -> None:
        self._settings = settings or ProcessorSettings()

    def score(self, text: str, *, role: Role = Role.USER, tool_name: str | None = None) -> Score:
        weights = self._settings.weights
        for priority_class, cues, any_cue in _HIGH:
            if not any_cue.search(text):
                continue
            fired = tuple(c.name for c in cues if c.pattern.search(text))
            if fired:
                return Score(priority_class, getattr(weights, priority_class.value), fired)
        information, fact_cues = self.information(text)
        if role is Role.TOOL:
            fact_cues = (*fact_cues, f"fact:tool_output:{tool_name or 'unknown'}")
        if information >= self._settings.fact_min_information or role is Role.TOOL:
            return Score(PriorityClass.FACT, weights.fact, fact_cues, information)
        chatter = tuple(c.name for c in CHIT_CHAT_CUES if c.pattern.search(text)) if _ANY_CHIT_CHAT.search(text) else ()
        if not _WORD.search(text):
            chatter = (*chatter, "chit_chat:no_words")
        if chatter:
            return Score(PriorityClass.CHIT_CHAT, weights.chit_chat, fact_cues + chatter, information)
        return Score(PriorityClass.FACT, weights.fact, (*fact_cues, "fact:unmarked"), information)

    def information(self, text: str) -> tuple[float, tuple[str, ...]]:
        """Summed weight of the fact cues in `text` (vocatives, stock phrases removed first) and the cues fired."""
        stripped = _STOCK.sub(" ", _VOCATIVE.sub(" ", text))
        overrides = self._settings.cue_weights
        total = 0.0
        fired: list[str] = []
        for cue in FACT_CUES:
            matches = len(cue.pattern.findall(stripped))
            if matches:
                total += overrides.get(cue.name, cue.weight) * min(matches, cue.cap)
                fired.append(cue.name)
        if any(_is_statement(sentence) for sentence in _SENTENCE.findall(text)):
            total += overrides.get(STATEMENT_CUE, 1.0)
            fired.append(STATEMENT_CUE)
        return total, tuple(fired)


def _is_statement(sentence: str) -> bool:
    """A declarative sentence of `STATEMENT_MIN_WORDS`+ words addressed to no one, with no small-talk cue."""
    sentence = sentence.strip()
    if sentence.endswith("?") or sentence.startswith("[") or len(_WORDS.findall(sentence)) < STATEMENT_MIN_WORDS:
        return False
    return not _YOU.search(sentence) and not _ANY_CHIT_CHAT.search(sentence)


__all__ = [
    "CHIT_CHAT_CUES",
    "DECISION_CUES",
    "ERROR_CUES",
    "FACT_CUES",
    "NEXT_STEP_CUES",
    "STATEMENT_CUE",
    "Cue",
    "CueScorer",
    "PriorityClass",
    "Score",
    "Scorer",
]
