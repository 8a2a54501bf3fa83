"""The whitened view of the pool for the topic vote."""

from __future__ import annotations

import random

import numpy as np

from sameboat.domain.matching import (
    ListenerIndex,
    MatchRequest,
    MatchWeights,
    rank_listeners,
    rank_listeners_plainly,
)
from sameboat.domain.matching.whitening import MIN_STORIES, fit_whitening, fit_whitening_with_norms
from tests.unit.matching.helpers import DIMENSION, NOW, SOME_TAGS, TAXONOMY, listener, unit_vector

REQUEST = MatchRequest(text="it has all been too much since the spring and I cannot talk to anyone")


def _pool(size: int) -> list:
    rng = random.Random(size)
    return [listener(f"l{i:03d}", tags=(rng.choice(SOME_TAGS[:5]),), max_concurrent=3) for i in range(size)]


def test_too_few_stories_or_topics_fit_nothing() -> None:
    vectors = np.vstack([unit_vector(i) for i in range(MIN_STORIES)])
    assert fit_whitening(vectors[:-1], ["a", "b"] * 24 + ["a"], 2.0) is None
    assert fit_whitening(vectors, ["a"] * (MIN_STORIES - 1) + ["b"], 2.0) is None  # one topic with two or more
    assert fit_whitening(vectors, ["a", "b"] * (MIN_STORIES // 2), 0.0) is None
    fitted = fit_whitening(vectors, ["a", "b"] * (MIN_STORIES // 2), 2.0)
    assert fitted is not None and fitted.transform.shape == (DIMENSION, DIMENSION)


def test_the_whitened_cosine_is_a_cosine_in_the_whitened_space() -> None:
    vectors = np.vstack([unit_vector(i) for i in range(60)])
    fitted = fit_whitening(vectors, [i % 3 for i in range(60)], 2.0)
    assert fitted is not None
    query, story = unit_vector(1000), vectors[7]
    direction = fitted.query_direction(query)
    assert direction is not None
    z, offset = direction
    fast = (story @ z - offset) / fitted.row_norms(story[None, :])[0]
    a, b = fitted.transform @ (query - fitted.mean), fitted.transform @ (story - fitted.mean)
    assert abs(fast - a @ b / np.linalg.norm(a) / np.linalg.norm(b)) < 1e-5


def test_the_index_agrees_with_the_plain_loop_on_a_pool_big_enough_to_whiten() -> None:
    pool = _pool(80)
    changed = []
    for seed in range(5):
        vector = unit_vector(seed)
        fast = rank_listeners(REQUEST, vector, pool, TAXONOMY, NOW, limit=80)
        plain = rank_listeners_plainly(REQUEST, vector, pool, TAXONOMY, NOW, limit=80)
        assert [m.listener_id for m in fast.matches] == [i for i, _ in plain]
        off = rank_listeners(REQUEST, vector, pool, TAXONOMY, NOW, MatchWeights(whitened_vote=0.0), limit=80)
        changed.append(fast.topics != off.topics)
    assert any(changed)  # the whitened view does take part in the vote


def test_the_same_pool_gives_the_same_ranking_whatever_the_order() -> None:
    pool = _pool(70)
    vector = unit_vector(3)
    first = [m.listener_id for m in rank_listeners(REQUEST, vector, pool, TAXONOMY, NOW, limit=70).matches]
    shuffled = list(pool)
    random.Random(1).shuffle(shuffled)
    assert [m.listener_id for m in rank_listeners(REQUEST, vector, shuffled, TAXONOMY, NOW, limit=70).matches] == first


def test_a_long_lived_index_refits_after_enough_changes() -> None:
    pool = _pool(60)
    index = ListenerIndex(TAXONOMY, pool, dimension=DIMENSION)
    index.rank(REQUEST, unit_vector(5), NOW)
    fitted = index._whitening
    assert fitted is not None
    index.upsert(listener("late", tags=("grief",)))
    index.rank(REQUEST, unit_vector(5), NOW)
    assert index._whitening is fitted  # one new listener: the fit stands, the newcomer is scored with it
    assert index._white_norm[len(index) - 1] > 0
    for i in range(20):
        index.upsert(listener(f"new{i}", tags=("grief",)))
    index.rank(REQUEST, unit_vector(5), NOW)
    assert index._whitening is not fitted


def test_the_same_pool_is_fitted_once() -> None:
    vectors = np.vstack([unit_vector(i) for i in range(60)])
    groups = [i % 3 for i in range(60)]
    first, norms = fit_whitening_with_norms(vectors, groups, 2.0)
    again, _ = fit_whitening_with_norms(vectors.copy(), list(groups), 2.0)
    assert first is not None and again is first
    assert np.allclose(norms, first.row_norms(vectors))
    changed, _ = fit_whitening_with_norms(vectors, [i % 2 for i in range(60)], 2.0)
    assert changed is not first
