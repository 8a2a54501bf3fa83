"""Fairness and quality: equal listeners share the work; a new listener is not buried."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sameboat.domain.matching import ListenerSnapshot, MatchRequest, MatchWeights, rank_listeners
from tests.unit.matching.helpers import NOW, TAXONOMY, listener, unit_vector


def _simulate(pool: list[ListenerSnapshot], request: MatchRequest, vector: np.ndarray, rounds: int) -> Counter[str]:
    """Each round the best match takes the conversation, which counts towards their recent load."""
    by_id = {x.id: x for x in pool}
    taken: Counter[str] = Counter()
    for _ in range(rounds):
        result = rank_listeners(request, vector, list(by_id.values()), TAXONOMY, NOW, limit=1)
        chosen = by_id[result.matches[0].listener_id]
        taken[chosen.id] += 1
        by_id[chosen.id] = dataclasses.replace(chosen, recent_assignments=chosen.recent_assignments + 1)
    return taken


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(2, 8),
    rating=st.floats(3.0, 5.0),
    rating_count=st.integers(0, 30),
    story_seed=st.integers(0, 1000),
    noise=st.floats(0.0, 0.05),
)
def test_equal_quality_listeners_share_the_work(
    size: int, rating: float, rating_count: int, story_seed: int, noise: float
) -> None:
    # Same experience and ratings, stories a little different from one another.
    base = unit_vector(story_seed)
    rng = np.random.default_rng(story_seed)
    pool = []
    for i in range(size):
        story = base + noise * rng.standard_normal(base.shape).astype(np.float32)
        pool.append(
            listener(
                f"l{i}", tags=("job-loss",), story_vector=story, rating_mean=rating, rating_count=rating_count,
                max_concurrent=5,
            )
        )  # fmt: skip
    request = MatchRequest(text="I was laid off after ten years and I feel useless", tags=("job-loss",))
    rounds = 12 * size
    taken = _simulate(pool, request, base, rounds)
    assert set(taken) == {x.id for x in pool}, "someone was starved"
    assert max(taken.values()) <= 2 * rounds / size, f"work piled up on one listener: {taken}"


def test_without_fairness_one_listener_would_take_everything() -> None:
    # The contrast that shows the property above comes from the fairness signal.
    pool = [listener(f"l{i}", tags=("job-loss",), story_vector=unit_vector(i)) for i in range(4)]
    request = MatchRequest(text="I was laid off and I feel useless", tags=("job-loss",))
    by_id = {x.id: x for x in pool}
    winners = set()
    for _ in range(20):
        result = rank_listeners(
            request, unit_vector(0), list(by_id.values()), TAXONOMY, NOW, MatchWeights(fairness=0.0), limit=1
        )
        winner = by_id[result.matches[0].listener_id]
        winners.add(winner.id)
        by_id[winner.id] = dataclasses.replace(winner, recent_assignments=winner.recent_assignments + 1)
    assert winners == {"l0"}


def test_a_new_listener_is_not_buried_under_rated_ones() -> None:
    same_story = unit_vector(7)
    pool = [
        listener("new", tags=("divorce",), story_vector=same_story, rating_count=0),
        listener("good", tags=("divorce",), story_vector=same_story, rating_count=40, rating_mean=4.3),
        listener("poor", tags=("divorce",), story_vector=same_story, rating_count=40, rating_mean=2.5),
    ]
    request = MatchRequest(text="My wife left and we are divorcing", tags=("divorce",))
    ranked = [m.listener_id for m in rank_listeners(request, same_story, pool, TAXONOMY, NOW).matches]
    assert ranked.index("new") < ranked.index("poor")
    # One glowing rating does not lift a listener far above a well-established one.
    lucky = listener("lucky", tags=("divorce",), story_vector=same_story, rating_count=1, rating_mean=5.0)
    result = rank_listeners(request, same_story, [*pool, lucky], TAXONOMY, NOW)
    scores = {m.listener_id: m.breakdown.quality for m in result.matches}
    assert abs(scores["lucky"] - scores["good"]) < 0.01


def test_an_available_favourite_comes_first() -> None:
    pool = [
        listener("close", tags=("grief-parent",), story_vector=unit_vector(1)),
        listener("favourite", tags=("loneliness",), story_vector=unit_vector(2)),
    ]
    request = MatchRequest(
        text="My mother died in March", tags=("grief-parent",), favourite_listener_ids=frozenset({"favourite"})
    )
    result = rank_listeners(request, unit_vector(1), pool, TAXONOMY, NOW)
    assert result.matches[0].listener_id == "favourite"
    assert "saved" in result.matches[0].explanation
    # Unavailable favourites are not offered for "now".
    busy = [pool[0], dataclasses.replace(pool[1], available_now=False)]
    result = rank_listeners(request, unit_vector(1), busy, TAXONOMY, NOW)
    assert [m.listener_id for m in result.matches] == ["close"]
