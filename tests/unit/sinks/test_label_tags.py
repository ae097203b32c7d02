"""How labels enter a memory's tags and tag vector: `union` keeps the heuristic tags, `replace` drops them, free
and new vocabulary labels can weigh less in the vector, a relabel starts from the heuristic tags, and the fields
are deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from sinks.memory_store.label_tags import NULL_SLOT, LabelPolicy, heuristic_tags, label_fields, label_vector
from sinks.memory_store.tags import TAG_VOCAB, tag_slot, tag_vector

HEURISTIC = ("food preference", "travel")
LABELS = ("family", "japanese cuisine")


def test_union_keeps_the_heuristic_tags_and_replace_drops_them() -> None:
    union = label_fields(HEURISTIC, LABELS, "smol", LabelPolicy("union"))
    assert union == {
        "labels": ["family", "japanese cuisine"],
        "tags": ["family", "food preference", "japanese cuisine", "travel"],
        "heuristic_tags": ["food preference", "travel"],
        "labels_model": "smol",
    }
    replace = label_fields(HEURISTIC, LABELS, None, LabelPolicy("replace"))
    assert replace["tags"] == ["family", "japanese cuisine"] and "labels_model" not in replace
    assert label_fields(HEURISTIC, LABELS, "smol", LabelPolicy("union")) == union, "deterministic: replays match"


def test_a_relabel_starts_from_the_heuristic_tags_not_from_older_labels() -> None:
    stored = label_fields(HEURISTIC, LABELS, "smol", LabelPolicy("union"))
    assert heuristic_tags(stored) == HEURISTIC
    assert heuristic_tags({"tags": ["work"]}) == ("work",), "not labelled yet: its tags are the heuristic ones"
    relabel = label_fields(heuristic_tags(stored), ("work",), "other", LabelPolicy("union"))
    assert relabel["tags"] == ["food preference", "travel", "work"]


def test_full_weights_give_the_multi_hot_vector_of_the_tags() -> None:
    assert label_vector(HEURISTIC, LABELS, LabelPolicy("replace", 1.0)) == tag_vector(sorted(LABELS))
    assert label_vector(HEURISTIC, LABELS, LabelPolicy("union", 1.0)) == tag_vector([*HEURISTIC, *LABELS])


def test_free_labels_weigh_less_and_dilute_less() -> None:
    vector = np.array(label_vector(HEURISTIC, LABELS, LabelPolicy("union", 1.0, 0.5)))
    assert np.linalg.norm(vector) == pytest.approx(1.0)
    vocab = vector[TAG_VOCAB.index("family")]
    assert vector[TAG_VOCAB.index("travel")] == pytest.approx(vocab)
    assert vector[tag_slot("japanese cuisine")] == pytest.approx(vocab / 2)
    assert label_vector((), ("japanese cuisine",), LabelPolicy("union", 1.0, 0.0)) is None, "no weight: no vector"


def test_a_new_vocabulary_label_puts_the_rest_of_its_weight_where_no_query_looks() -> None:
    only_labels = np.array(label_vector((), ("family",), LabelPolicy("union", 0.5)))
    assert only_labels[TAG_VOCAB.index("family")] == pytest.approx(0.5), "w times its cosine to any query"
    assert only_labels[NULL_SLOT] == pytest.approx(np.sqrt(0.75)) and len(TAG_VOCAB) <= NULL_SLOT
    mixed = np.array(label_vector(("travel",), ("family", "travel"), LabelPolicy("union", 0.5)))
    assert mixed[TAG_VOCAB.index("travel")] == pytest.approx(2 * mixed[TAG_VOCAB.index("family")])
    replaced = np.array(label_vector(("travel",), ("family", "travel"), LabelPolicy("replace", 0.5)))
    assert replaced[TAG_VOCAB.index("travel")] == pytest.approx(2 * replaced[TAG_VOCAB.index("family")])
    unweighted = label_vector(("travel",), ("family",), LabelPolicy("union", 0.0))
    assert unweighted is not None and unweighted[TAG_VOCAB.index("family")] == 0.0
