"""An honest estimate of how long a waiting member will wait, and when to offer them another way.

The model is deliberately simple and says what it assumes: the member is served when enough of the listeners
who could take them are free; requests ahead of them in dispatch order take free listeners first; a busy
listener frees up at the rate the service measures (one over the recent mean conversation length); and each
offer takes the measured response time and is accepted with the measured probability. The 90th percentile
uses the Gamma distribution of the time until the needed number of listeners free up (Wilson-Hilferty
approximation, so no scipy). `sameboat simulate dispatch` prints how well this predicts real waits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sameboat.domain.dispatch.model import DispatchConfig, DispatchState
from sameboat.domain.dispatch.planning import (
    DEFAULT_CONFIG,
    dispatch_order,
    free_capacity,
    is_reachable,
    under_daily_limit,
)

_Z90 = 1.2815515655446004  # standard normal 90th percentile


@dataclass(frozen=True)
class ServiceStats:
    """Recent figures the service measures (say over the last few hours), or sensible defaults."""

    mean_conversation: timedelta = timedelta(minutes=30)
    #: Mean time from an offer being sent to the listener's answer (timeouts count as the full timeout).
    mean_offer_response: timedelta = timedelta(seconds=10)
    #: Nine in ten answers come within this.
    offer_response_p90: timedelta = timedelta(seconds=20)
    accept_rate: float = 0.8

    def __post_init__(self) -> None:
        if self.mean_conversation <= timedelta(0):
            raise ValueError("mean_conversation must be positive")
        if not 0.0 < self.accept_rate <= 1.0:
            raise ValueError("accept_rate must be in (0, 1]")


@dataclass(frozen=True)
class WaitEstimate:
    #: 1 = next in line for the listeners who could take this member.
    position: int
    #: Listeners online now who could take this member (free or busy).
    suitable_online: int
    #: Of those, how many could take a new conversation right now.
    suitable_free: int
    #: Expected further wait, or None when nobody who could take this member is online.
    expected: timedelta | None
    #: Nine in ten members in this position are connected within this (None as above).
    likely_within: timedelta | None
    waited: timedelta
    #: Offer to book a time or see resources (waited or expected to wait longer than the threshold).
    offer_alternatives: bool

    @property
    def headline(self) -> str:
        """Words for the waiting room."""
        if self.expected is None or self.likely_within is None:
            return "No listener who fits your request is online right now."
        expected, likely = _minutes(self.expected), _minutes(self.likely_within)
        if likely <= 1:
            return "A listener should be with you within a minute."
        if expected == likely:
            return f"About {expected} minutes."
        return f"About {max(expected, 1)} minute{'s' if expected > 1 else ''}, most likely within {likely} minutes."


def _minutes(span: timedelta) -> int:
    return max(math.ceil(span.total_seconds() / 60.0), 1)


def gamma_quantile(shape: float, rate: float, p_z: float = _Z90) -> float:
    """Approximate quantile of Gamma(shape, rate) (Wilson-Hilferty: chi-square with 2*shape degrees of freedom)."""
    k = 2.0 * shape
    cube = 1.0 - 2.0 / (9.0 * k) + p_z * math.sqrt(2.0 / (9.0 * k))
    return k * max(cube, 0.0) ** 3 / (2.0 * rate)


def estimate_wait(
    state: DispatchState,
    request_id: str,
    now: datetime,
    stats: ServiceStats | None = None,
    config: DispatchConfig = DEFAULT_CONFIG,
) -> WaitEstimate:
    """Estimate the further wait of a waiting request. Raises KeyError if the request is not waiting."""
    stats = stats or ServiceStats()
    request = state.requests[request_id]
    waited = request.waited(now)
    suitable = [
        listener
        for c in request.candidates
        if c.listener_id not in request.passed_over_by
        and (listener := state.listeners.get(c.listener_id)) is not None
        and is_reachable(listener, now, config)
        and under_daily_limit(listener)
    ]
    suitable_ids = {x.id for x in suitable}
    with_offer = {o.listener_id for o in state.offers.values()}
    # A listener on a short break counts as free: the break is short next to a conversation.
    free = sum(
        x.id not in with_offer and free_capacity(replace(x, break_until=None), 0, now, config) >= 1 for x in suitable
    )
    ahead = sum(
        1
        for other in state.requests.values()
        if dispatch_order(other) < dispatch_order(request)
        and other.id not in state.offers
        and any(other.score_of(listener_id) is not None for listener_id in suitable_ids)
    )
    position = ahead + 1
    if not suitable:
        return WaitEstimate(position, 0, 0, None, None, waited, offer_alternatives=True)

    # Time for the offers themselves: a geometric number of offers, each taking the mean response time.
    response = stats.mean_offer_response.total_seconds()
    offers_expected = 1.0 / stats.accept_rate
    offers_likely = max(math.ceil(math.log(0.1) / math.log(1.0 - stats.accept_rate)), 1) if stats.accept_rate < 1 else 1
    pending = request.id in state.offers
    answer_expected = response * (offers_expected - (0.5 if pending else 0.0))
    answer_likely = stats.offer_response_p90.total_seconds() + response * (offers_likely - 1)

    needed = position - free if not pending else 0
    if needed <= 0:
        expected_s, likely_s = answer_expected, answer_likely
    else:
        busy = sum(x.active_conversations for x in suitable)
        if busy == 0:  # everyone suitable is online but unable to take more (daily limits, pending offers)
            expected_s = likely_s = stats.mean_conversation.total_seconds()
        else:
            rate = busy / stats.mean_conversation.total_seconds()  # listeners freeing up per second
            expected_s = needed / rate + answer_expected
            likely_s = gamma_quantile(needed, rate) + answer_likely
    expected, likely = timedelta(seconds=expected_s), timedelta(seconds=max(likely_s, expected_s))
    too_long = waited + expected > config.offer_alternatives_after or waited >= config.offer_alternatives_after
    return WaitEstimate(position, len(suitable), free, expected, likely, waited, offer_alternatives=too_long)
