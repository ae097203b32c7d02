"""How the local model's labels of a memory enter its `tags` and its tag vector (a label batch, `MemoryStore`).

    label_fields(heuristic, labels, model, policy)   the payload fields a label batch sets
    label_vector(heuristic, labels, policy)          the tag vector it sets

A memory is stored with its heuristic tags (`tags.tag_text`); the model's labels come later. The payload
`labels` always holds the model's labels (in its order: what hits show), `labels_model` the model, and
`heuristic_tags` the tags the memory had before any label, so a relabel (another model) starts from them and
not from older labels. `LabelPolicy.tags` says what `tags` (the tags filter, the tag vector) becomes:

- `replace`: the labels only (the first version: multivector R@10 on LoCoMo conv-26 fell 0.552 -> 0.456
  with SmolLM2-135M labels);
- `union` (the default): the heuristic tags and the labels, so a broad or wrong label adds to the keyword
  evidence instead of erasing it.

The tag vector (cosine; queries weight only the vocabulary slots) counts each heuristic tag 1. A model label
that is a vocabulary tag not among them has a unit of weight too, of which `LabelPolicy.label_weight` lies on
its slot and the rest on a spare slot no query weights (`NULL_SLOT`): at weight w it moves its memory towards
its topic w times as much as a heuristic tag would, and a memory whose only tags are such labels scores w
times what they alone would give. A label outside the vocabulary is hashed into a spare slot with weight
`LabelPolicy.free_weight`: no query weights it, so it only dilutes the memory's other slots, less when lower.
Weights of 1 give the plain multi-hot vector of `tags`. The defaults (`union`, 0.25, 1) were the best of
`memlane bench labels`' variants with SmolLM2-135M labels on LoCoMo conv-26: R@10 0.558 against 0.552 with
heuristic tags only, 0.526 with weight 1 and 0.456 with `replace`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .tags import TAG_DIM, TAG_VOCAB, tag_slot

LabelTags = Literal["replace", "union"]


NULL_SLOT = TAG_DIM - 1
"""A spare slot (free labels hash there too): the part of a label's weight not on its topic."""


@dataclass(frozen=True)
class LabelPolicy:
    """What a label batch does to `tags` (`replace` or `union`), and the weight in the tag vector of a model
    label not among the heuristic tags: `label_weight` for a vocabulary tag, `free_weight` for another."""

    tags: LabelTags = "union"
    label_weight: float = 0.25
    free_weight: float = 1.0


def heuristic_tags(payload: dict[str, Any]) -> tuple[str, ...]:
    """A stored memory's tags from before any label: `heuristic_tags`, else its `tags` (not labelled yet)."""
    return tuple(payload.get("heuristic_tags", payload.get("tags", ())))


def label_fields(
    heuristic: Sequence[str], labels: Sequence[str], model: str | None, policy: LabelPolicy
) -> dict[str, Any]:
    """The payload fields a label batch sets; the same arguments give the same fields (replays are no-ops)."""
    tags = set(labels) if policy.tags == "replace" else {*heuristic, *labels}
    fields: dict[str, Any] = {
        "labels": list(labels),
        "tags": sorted(tags),
        "heuristic_tags": sorted(set(heuristic)),
    }
    if model is not None:
        fields["labels_model"] = model
    return fields


def label_vector(heuristic: Sequence[str], labels: Sequence[str], policy: LabelPolicy) -> list[float] | None:
    """Unit tag vector of a labelled memory (see the module docstring); None when it has no tags at all."""
    vector = np.zeros(TAG_DIM, dtype=np.float32)
    kept = set(heuristic) if policy.tags == "union" else set()
    for tag in kept:
        vector[tag_slot(tag)] = 1.0
    rest = 0.0
    for label in sorted(set(labels) - kept):
        new_vocabulary = label in TAG_VOCAB and label not in heuristic
        if new_vocabulary:
            weight = policy.label_weight
            rest += 1.0 - weight * weight
        else:  # a heuristic tag too (only under `replace`), or a free label
            weight = 1.0 if label in heuristic else policy.free_weight
        slot = tag_slot(label)
        vector[slot] = max(vector[slot], weight)
    vector[NULL_SLOT] = np.sqrt(vector[NULL_SLOT] ** 2 + rest)
    norm = float(np.linalg.norm(vector))
    return [float(x) for x in vector / norm] if norm > 0 else None


__all__ = ["NULL_SLOT", "LabelPolicy", "LabelTags", "heuristic_tags", "label_fields", "label_vector"]
