"""Same inputs, same ranking: regardless of snapshot order, of repeated calls, or of the code path."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sameboat.domain.matching import (
    ListenerIndex,
    MatchRequest,
    rank_listeners,
    rank_listeners_plainly,
)
from tests.unit.matching.helpers import NOW, TAXONOMY, listener, pools, requests, unit_vector

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ranking(request: MatchRequest, vector, pool) -> list[tuple[str, float, tuple[str, ...]]]:
    result = rank_listeners(request, vector, pool, TAXONOMY, NOW, limit=50)
    return [(m.listener_id, m.score, m.reasons) for m in result.matches]


@PROPERTY_SETTINGS
@given(pool=pools(), request=requests(), seed=st.integers(0, 1000), shuffle_seed=st.integers(0, 1000))
def test_the_order_of_snapshots_does_not_matter(
    pool: list, request: MatchRequest, seed: int, shuffle_seed: int
) -> None:
    vector = unit_vector(seed)
    first = _ranking(request, vector, pool)
    shuffled = list(pool)
    random.Random(shuffle_seed).shuffle(shuffled)
    assert _ranking(request, vector, shuffled) == first
    assert _ranking(request, vector, pool) == first


@PROPERTY_SETTINGS
@given(pool=pools(), request=requests(), seed=st.none() | st.integers(0, 1000))
def test_the_index_agrees_with_the_plain_loop(pool: list, request: MatchRequest, seed: int | None) -> None:
    vector = unit_vector(seed) if seed is not None else None
    fast = rank_listeners(request, vector, pool, TAXONOMY, NOW, limit=50)
    plain = rank_listeners_plainly(request, vector, pool, TAXONOMY, NOW, limit=50)
    assert {m.listener_id for m in fast.matches} == {i for i, _ in plain}
    fast_scores = {m.listener_id: m.score for m in fast.matches}
    for listener_id, score in plain:
        assert abs(fast_scores[listener_id] - score) < 1e-4


def test_ties_are_broken_by_id() -> None:
    story = unit_vector(3)
    pool = [listener(name, story_vector=story, tags=("breakup",)) for name in ("cy", "al", "bo")]
    request = MatchRequest(text="My girlfriend broke up with me", tags=("breakup",))
    result = rank_listeners(request, story, pool, TAXONOMY, NOW)
    assert [m.listener_id for m in result.matches] == ["al", "bo", "cy"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pool=pools(max_size=10), changes=pools(max_size=10), removed=st.sets(st.integers(0, 9)), request=requests())
def test_an_updated_index_ranks_like_a_fresh_one(
    pool: list, changes: list, removed: set, request: MatchRequest
) -> None:
    index = ListenerIndex(TAXONOMY, pool, dimension=8)
    vector = unit_vector(11)
    index.rank(request, vector, NOW)  # fill the lazy caches before changing rows
    for snapshot in changes:
        index.upsert(snapshot)
    for i in removed:
        index.remove(f"l{i:02d}")
    current = {x.id: x for x in pool}
    current.update({x.id: x for x in changes})
    for i in removed:
        current.pop(f"l{i:02d}", None)
    fresh = ListenerIndex(TAXONOMY, list(current.values()), dimension=8)
    assert len(index) == len(fresh)
    got = index.rank(request, vector, NOW, limit=50)
    want = fresh.rank(request, vector, NOW, limit=50)
    assert [(m.listener_id, m.score) for m in got.matches] == [(m.listener_id, m.score) for m in want.matches]
    assert got.reason == want.reason
