"""The taxonomy's embedded words as evidence for an inferred topic."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sameboat.domain.matching import (
    MatchRequest,
    MatchWeights,
    TagPrototypes,
    TopicGuess,
    rank_listeners,
    rank_listeners_plainly,
)
from sameboat.domain.matching.labels import with_label_evidence
from sameboat.domain.taxonomy import Tag, Taxonomy
from tests.unit.matching.helpers import DIMENSION, NOW, TAXONOMY, LetterEmbedder, listener, pools, requests, unit_vector

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


SMALL = Taxonomy.from_tags(
    [
        Tag(id="sleep", label="zzz", parent=None, synonyms=("zzzz",)),
        Tag(id="money", label="bbb", parent=None, synonyms=("bbbb", "bb")),
    ]
)


def test_each_tag_is_the_mean_of_its_phrases() -> None:
    embedder = LetterEmbedder()
    prototypes = TagPrototypes.build(SMALL, embedder)
    assert prototypes.tag_ids == ("money", "sleep")
    assert prototypes.model_version == "letters-1"
    assert np.allclose(np.linalg.norm(prototypes.vectors, axis=1), 1.0)
    assert prototypes.nearest(embedder.embed("zz z")) == "sleep"
    assert prototypes.nearest(embedder.embed("b")) == "money"
    assert prototypes.nearest(embedder.embed("b"), known=["sleep"]) == "sleep"
    assert prototypes.nearest(None) is None
    assert prototypes.nearest(np.ones(3, dtype=np.float32)) is None  # another model's vector


def test_the_label_gets_its_share_and_the_rest_keeps_its_proportions() -> None:
    topics = (TopicGuess("depression", 0.6), TopicGuess("breakup", 0.4))
    blended = {t.tag: t.weight for t in with_label_evidence(topics, "breakup", 0.25)}
    assert blended == {"breakup": 0.55, "depression": 0.45}
    assert with_label_evidence(topics, None, 0.25) == topics
    assert with_label_evidence(topics, "breakup", 0.0) == topics
    assert with_label_evidence((), "grief", 0.25) == (TopicGuess("grief", 1.0),)


def _prototypes_towards(tag: str, vector: np.ndarray) -> TagPrototypes:
    others = [t for t in sorted(TAXONOMY.tags) if t != tag][:3]
    rows = [vector, *(-vector for _ in others)]
    return TagPrototypes(tag_ids=(tag, *others), vectors=np.vstack(rows).astype(np.float32), model_version="test")


def test_the_nearest_tag_counts_towards_an_inferred_topic_only() -> None:
    request_vector = unit_vector(7)
    # Bob's story is the request's closest (the vote says job loss); Ann's is opposite and does not vote.
    pool = [
        listener("ann", tags=("grief",), story_vector=-request_vector),
        listener("bob", tags=("job-loss",), story_vector=request_vector),
    ]
    prototypes = _prototypes_towards("grief", request_vector)
    request = MatchRequest(text="everything has been so hard since the spring")
    result = rank_listeners(request, request_vector, pool, TAXONOMY, NOW, tag_prototypes=prototypes)
    assert [(t.tag, t.weight) for t in result.topics] == [("job-loss", 0.75), ("grief", 0.25)]
    without = rank_listeners(
        request, request_vector, pool, TAXONOMY, NOW, MatchWeights(label_share=0.0), tag_prototypes=prototypes
    )
    assert [(t.tag, t.weight) for t in without.topics] == [("job-loss", 1.0)]
    assert [t.tag for t in rank_listeners(request, request_vector, pool, TAXONOMY, NOW).topics] == ["job-loss"]
    # A member's own tags are the topic; the tag phrases are not consulted.
    chosen = MatchRequest(text=request.text, tags=("job-loss",))
    assert [t.tag for t in rank_listeners(chosen, request_vector, pool, TAXONOMY, NOW).topics] == ["job-loss"]
    assert [
        t.tag for t in rank_listeners(chosen, request_vector, pool, TAXONOMY, NOW, tag_prototypes=prototypes).topics
    ] == ["job-loss"]
    # One word is too vague to read, as for the story vote.
    one_word = rank_listeners(MatchRequest(text="hard"), request_vector, pool, TAXONOMY, NOW, tag_prototypes=prototypes)
    assert "grief" not in {t.tag for t in one_word.topics}


@PROPERTY_SETTINGS
@given(pool=pools(), request=requests(), seed=st.integers(0, 1000), towards=st.sampled_from(sorted(TAXONOMY.tags)))
def test_the_index_agrees_with_the_plain_loop_with_tag_prototypes(
    pool: list, request: MatchRequest, seed: int, towards: str
) -> None:
    vector = unit_vector(seed)
    prototypes = _prototypes_towards(towards, unit_vector(seed + 1, DIMENSION))
    fast = rank_listeners(request, vector, pool, TAXONOMY, NOW, limit=50, tag_prototypes=prototypes)
    plain = rank_listeners_plainly(request, vector, pool, TAXONOMY, NOW, limit=50, tag_prototypes=prototypes)
    assert {m.listener_id for m in fast.matches} == {i for i, _ in plain}
    fast_scores = {m.listener_id: m.score for m in fast.matches}
    for listener_id, score in plain:
        assert abs(fast_scores[listener_id] - score) < 1e-4
