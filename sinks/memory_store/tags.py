"""Heuristic tags ("classifiers") for memories, and the small tag vector used by multi-vector search.

`tag_text(text, kind, extra)` returns sorted lowercase tags from keyword rules (word-boundary regexes,
no model), the memory kind (`error` memories are tagged `error`, `next_step` ones `plans`) and the
extractor's own tags. Tags go into the payload (a keyword index makes them a filter) and into a
`TAG_DIM`-dimensional "tags" vector: one slot per vocabulary tag, other tags hashed into the spare
slots. A query gets its tag vector from its similarity to short descriptions of each tag (embedded
once per store) plus its own keyword tags, so "what does she like to eat" leans to `food preference`
without naming it. Fusing that ranking with the dense text ranking is the `multivector` search mode.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence

import numpy as np

from schemas.events import MemoryKind
from sinks.embeddings import Embedder, FloatMatrix

TAG_DIM = 32
_RULES: dict[str, tuple[str, str]] = {
    # tag: (keyword regex alternatives, description embedded for query-side tag profiles)
    "food preference": (
        r"food|eat(?:s|ing)?|ate|meal|dinner|lunch|breakfast|pizza|pasta|sushi|vegan|vegetarian|cook\w*|"
        r"restaurant|cuisine|dish|coffee|tea|dessert|allerg\w*|favou?rite (?:food|dish|snack)|snack",
        "food, eating, meals, restaurants, cuisine, cooking, favourite dishes and diet",
    ),
    "travel": (
        r"travel\w*|trip|flight|fly(?:ing)?|flew|airport|hotel|vacation|holiday|visa|passport|abroad|"
        r"tour\w*|journey|road ?trip|beach|itinerary",
        "travel, trips, flights, hotels, vacations and visiting other countries",
    ),
    "work": (
        r"work\w*|job|office|boss|manager|colleague|coworker|meeting|project|deadline|career|salary|"
        r"promotion|client|hire[ds]?|interview|company|startup|team",
        "work, job, career, office, colleagues, meetings and projects",
    ),
    "health": (
        r"health\w*|doctor|hospital|sick|ill(?:ness)?|pain|injur\w*|medic\w*|therap\w*|diet|sleep|"
        r"exercise|workout|gym|run(?:ning)?|yoga|mental|anxiety|stress|surgery|symptom\w*",
        "health, illness, doctors, medicine, fitness, sleep and wellbeing",
    ),
    "family": (
        r"famil\w*|mom|mum|mother|dad|father|parents?|sister|brother|sibling\w*|son|daughter|kids?|"
        r"child(?:ren)?|wife|husband|spouse|grand\w+|cousin|aunt|uncle|baby",
        "family, parents, children, siblings, spouse and relatives",
    ),
    "hobby": (
        r"hobb\w*|paint\w*|draw\w*|music|guitar|piano|sing\w*|danc\w*|read(?:ing)?|books?|novel|"
        r"gam(?:e|es|ing)|hik\w*|camp\w*|photograph\w*|garden\w*|knit\w*|pottery|sports?|football|soccer",
        "hobbies, music, painting, reading, games, sports and leisure activities",
    ),
    "plans": (
        r"plan\w*|going to|next (?:week|month|year)|tomorrow|soon|intend\w*|schedul\w*|remind\w*|"
        r"goal|todo|to-do|upcoming|later",
        "plans, intentions, upcoming events, goals and reminders for the future",
    ),
    "error": (
        r"error|exception|traceback|fail(?:ed|ure|s|ing)?|crash\w*|bug|broken|timeout|refused|"
        r"stack ?trace|segfault|panic",
        "errors, failures, exceptions, crashes and bugs in software",
    ),
    "tech": (
        r"code|coding|python|javascript|database|server|api|deploy\w*|kubernetes|docker|git|linux|"
        r"laptop|software|program\w*|cloud|kafka|sql",
        "software, programming, computers, servers and technology",
    ),
    "finance": (
        r"money|budget|pay|paid|bank|loan|debt|rent|mortgage|invest\w*|stock|savings?|expens\w*|"
        r"price|cost|\$\d+|bills?|tax(?:es)?",
        "money, budget, payments, banking, investments and expenses",
    ),
    "relationships": (
        r"friend\w*|girlfriend|boyfriend|partner|dating|married|wedding|relationship|divorce\w*|"
        r"breakup|anniversary",
        "friends, dating, partners, marriage and relationships",
    ),
    "education": (
        r"school|college|universit\w*|class(?:es)?|course|degree|study\w*|studied|exam|teacher|"
        r"student|learn\w*|homework|lecture",
        "school, university, studying, courses, exams and learning",
    ),
    "pets": (
        r"pets?|dogs?|cats?|puppy|kitten|vet|horse|bird|hamster|fish",
        "pets, dogs, cats and other animals",
    ),
    "home": (
        r"home|house|apartment|flat|moved?|moving|neighbo\w*|furniture|kitchen|renovat\w*|landlord",
        "home, house, apartment, moving and household",
    ),
}
TAG_VOCAB: tuple[str, ...] = tuple(_RULES)
_PATTERNS = {tag: re.compile(rf"\b(?:{words})\b", re.IGNORECASE) for tag, (words, _) in _RULES.items()}
_KIND_TAGS = {MemoryKind.ERROR: "error", MemoryKind.NEXT_STEP: "plans"}


def normalise_tag(tag: str) -> str:
    """Lowercase, single-spaced, `_`/`-` read as spaces: `Food_Preference` -> `food preference`."""
    return " ".join(tag.replace("_", " ").replace("-", " ").lower().split())


def tag_text(text: str, kind: MemoryKind | None = None, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Sorted tags of a memory: keyword rules on `text`, the kind's tag, and `extra` (the extractor's)."""
    tags = {tag for tag, pattern in _PATTERNS.items() if pattern.search(text)}
    if kind is not None and kind in _KIND_TAGS:
        tags.add(_KIND_TAGS[kind])
    tags.update(t for t in (normalise_tag(x) for x in extra) if t)
    return tuple(sorted(tags))


def tag_slot(tag: str) -> int:
    """The vector slot of `tag`: its vocabulary index, or a stable hash into the spare slots."""
    if tag in TAG_VOCAB:
        return TAG_VOCAB.index(tag)
    spare = TAG_DIM - len(TAG_VOCAB)
    return len(TAG_VOCAB) + zlib.crc32(tag.encode()) % spare


def tag_vector(tags: Sequence[str]) -> list[float] | None:
    """Unit multi-hot vector of `tags`, or None when there are no tags (the point gets no tag vector)."""
    if not tags:
        return None
    vector = np.zeros(TAG_DIM, dtype=np.float32)
    for tag in tags:
        vector[tag_slot(tag)] = 1.0
    return [float(x) for x in vector / np.linalg.norm(vector)]


class TagProfiler:
    """Query-side tag vectors: similarity of the query's embedding to each tag's description."""

    def __init__(self, embedder: Embedder, temperature: float = 0.05) -> None:
        self._labels: FloatMatrix = embedder.embed([desc for _, desc in _RULES.values()])
        self._temperature = temperature

    def profile(self, query: str, query_vector: FloatMatrix) -> list[float]:
        """A unit `TAG_DIM` vector weighting each vocabulary tag by how much `query` is about it."""
        sims = self._labels @ query_vector
        weights = np.exp((sims - sims.max()) / self._temperature)
        weights /= weights.sum()
        vector = np.zeros(TAG_DIM, dtype=np.float32)
        vector[: len(TAG_VOCAB)] = weights
        for tag in tag_text(query):
            vector[tag_slot(tag)] += 1.0
        return [float(x) for x in vector / np.linalg.norm(vector)]


__all__ = ["TAG_DIM", "TAG_VOCAB", "TagProfiler", "normalise_tag", "tag_slot", "tag_text", "tag_vector"]
