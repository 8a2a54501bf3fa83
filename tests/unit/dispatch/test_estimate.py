"""The wait estimate: honest about position, free listeners and the service rate; flags long waits."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from sameboat.domain.dispatch import DispatchConfig, ServiceStats, estimate_wait, step
from sameboat.domain.dispatch.estimate import gamma_quantile
from tests.unit.dispatch.helpers import CONFIG, T0, listener, request, seconds, state_of

STATS = ServiceStats(
    mean_conversation=timedelta(minutes=30),
    mean_offer_response=seconds(10),
    offer_response_p90=seconds(20),
    accept_rate=0.8,
)


def test_a_free_listener_means_about_one_answer_away() -> None:
    state = state_of(request("r", {"a": 1.0}), listener("a"))
    estimate = estimate_wait(state, "r", T0, STATS)
    assert (estimate.position, estimate.suitable_online, estimate.suitable_free) == (1, 1, 1)
    assert estimate.expected == seconds(10 / 0.8)
    assert estimate.likely_within == seconds(20 + 10)  # p90 of one answer, plus one more offer
    assert not estimate.offer_alternatives
    assert estimate.headline == "A listener should be with you within a minute."


def test_with_everyone_busy_the_wait_grows_with_the_queue() -> None:
    busy = [listener(f"l{i}", active_conversations=1) for i in range(4)]
    state = state_of(
        *busy,
        request("first", {f"l{i}": 1.0 for i in range(4)}, created_at=T0 - seconds(60)),
        request("second", {f"l{i}": 1.0 for i in range(4)}, created_at=T0),
    )
    first, second = estimate_wait(state, "first", T0, STATS), estimate_wait(state, "second", T0, STATS)
    assert (first.position, second.position) == (1, 2)
    assert first.suitable_free == 0
    # Four busy listeners free up at 4 per 30 minutes: 7.5 minutes per place in the queue.
    assert first.expected == seconds(450 + 12.5) and second.expected == seconds(900 + 12.5)
    assert first.likely_within > first.expected
    assert first.offer_alternatives and second.offer_alternatives  # both over the default 5 minutes
    ten_minutes = DispatchConfig(offer_alternatives_after=timedelta(minutes=10))
    assert not estimate_wait(state, "first", T0, STATS, ten_minutes).offer_alternatives  # waited 1 + 7.7 expected
    assert estimate_wait(state, "second", T0, STATS, ten_minutes).offer_alternatives
    assert second.headline.startswith("About 16 minutes, most likely within")


def test_a_pending_offer_means_the_answer_is_near() -> None:
    state = step(state_of(request("r", {"a": 1.0}), listener("a")), T0, CONFIG).state
    estimate = estimate_wait(state, "r", T0 + seconds(3), STATS)
    assert estimate.expected == seconds(10 * (1 / 0.8 - 0.5))


def test_nobody_suitable_online() -> None:
    state = state_of(request("r", {"a": 1.0}, declined_by=frozenset({"a"})), listener("a"), listener("b"))
    estimate = estimate_wait(state, "r", T0, STATS)
    assert estimate.expected is None and estimate.likely_within is None and estimate.offer_alternatives
    assert estimate.headline == "No listener who fits your request is online right now."


def test_long_waits_offer_alternatives_even_if_a_listener_is_free_now() -> None:
    config = DispatchConfig(offer_alternatives_after=timedelta(minutes=2))
    state = state_of(request("r", {"a": 1.0}, created_at=T0 - timedelta(minutes=3)), listener("a"))
    assert estimate_wait(state, "r", T0, STATS, config).offer_alternatives


def test_requests_ahead_only_count_if_they_compete_for_the_same_listeners() -> None:
    state = state_of(
        listener("a", active_conversations=1),
        listener("b", active_conversations=1),
        request("elsewhere", {"b": 1.0}, created_at=T0 - seconds(60)),
        request("r", {"a": 1.0}, created_at=T0),
    )
    assert estimate_wait(state, "r", T0, STATS).position == 1


def test_unknown_request_raises() -> None:
    with pytest.raises(KeyError):
        estimate_wait(state_of(listener("a")), "nope", T0)


@pytest.mark.parametrize("shape", [1, 2, 5, 20])
def test_gamma_quantile_is_close_to_sampling(shape: int) -> None:
    sampled = np.quantile(np.random.default_rng(shape).gamma(shape, 1 / 0.5, 200_000), 0.9)
    assert gamma_quantile(shape, 0.5) == pytest.approx(sampled, rel=0.03)
