"""Dense random walks through busy periods (many members, few listeners, every kind of answer), checking the
same promises as the state machine after every event, and that nobody starves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sameboat.domain.dispatch import (
    DispatchConfig,
    DispatchState,
    Presence,
    Priority,
    accept_offer,
    add_request,
    cancel_request,
    conversation_ended,
    decline_offer,
    heartbeat,
    plan_offers,
    set_presence,
    step,
)
from tests.unit.dispatch.helpers import T0, listener, request, seconds
from tests.unit.dispatch.test_state_machine import check_plan, check_promises

TICK = seconds(5)


@dataclass
class Day:
    state: DispatchState
    passed: dict[str, set[str]]
    winners: dict[str, str]
    offered: set[str]
    cancelled: set[str]


def run_busy_period(
    seed: int, listeners: int, members: int, cancel_share: float, config: DispatchConfig, hours: float = 3.0
) -> Day:
    """Members arrive over the first 20 minutes; listeners answer at random, take 1-10 minute conversations,
    sometimes drop out for a minute; the dispatcher steps every 5 seconds."""
    rng = np.random.default_rng(seed)
    ids = [f"l{i}" for i in range(listeners)]
    day = Day(
        DispatchState.build(
            listeners=[listener(i, max_concurrent=int(rng.integers(1, 3)), daily_limit=None) for i in ids]
        ),
        {},
        {},
        set(),
        set(),
    )
    arrivals = sorted(float(x) for x in rng.uniform(0, 1200, members))
    ends: list[tuple[float, str]] = []  # (when, listener) conversation ends
    back_at: dict[str, float] = {}  # listener -> when they come back online
    for tick in range(int(hours * 3600 / TICK.total_seconds())):
        t = tick * TICK.total_seconds()
        now = T0 + timedelta(seconds=t)
        while arrivals and arrivals[0] <= t:
            arrivals.pop(0)
            request_id = f"r{len(day.passed)}"
            chosen = rng.choice(ids, size=int(rng.integers(1, listeners + 1)), replace=False)
            scores = {str(x): float(rng.uniform(0, 2)) for x in chosen}
            priority = Priority.HIGH if rng.random() < 0.15 else Priority.NORMAL
            day.state = add_request(day.state, request(request_id, scores, created_at=now, priority=priority))
            day.passed[request_id] = set()
        for when, listener_id in [e for e in ends if e[0] <= t]:
            ends.remove((when, listener_id))
            day.state = conversation_ended(day.state, listener_id, now, config).state
        for listener_id in ids:
            if back_at.get(listener_id, np.inf) <= t:
                del back_at[listener_id]
                day.state = set_presence(day.state, listener_id, Presence.ONLINE, now).state
            elif listener_id not in back_at and rng.random() < 0.005:  # steps away or drops for a minute
                day.state = set_presence(day.state, listener_id, Presence.OFFLINE, now).state
                back_at[listener_id] = t + 60
            elif rng.random() < 0.9:  # heartbeats mostly get through
                day.state = heartbeat(day.state, listener_id, now).state
        for request_id in sorted(day.state.requests):
            if rng.random() < cancel_share / 100:
                day.state = cancel_request(day.state, request_id, now).state
                day.cancelled.add(request_id)
        for offer in sorted(day.state.offers.values(), key=lambda o: o.request_id):
            roll = rng.random()
            if roll < 0.3:
                outcome = accept_offer(day.state, offer.request_id, offer.listener_id, now)
                if outcome.ok:
                    assert offer.request_id not in day.winners
                    day.winners[offer.request_id] = offer.listener_id
                    ends.append((t + float(rng.uniform(60, 600)), offer.listener_id))
                day.state = outcome.state
            elif roll < 0.4:
                day.state = decline_offer(day.state, offer.request_id, offer.listener_id, now).state
                day.passed[offer.request_id].add(offer.listener_id)
            # otherwise no answer yet; it may time out
        for listener_id in ids:  # away after a missed offer: back a minute later
            if day.state.listeners[listener_id].presence is Presence.AWAY and listener_id not in back_at:
                back_at[listener_id] = t + 60
        before = day.state
        result = step(before, now, config)
        for offer in result.expired:
            day.passed[offer.request_id].add(offer.listener_id)
        check_plan(before, list(result.offers), result.state, day.passed, now, config)
        day.state = result.state
        day.offered |= {d.request_id for d in result.offers}
        check_promises(day.state, day.passed, day.winners)
    return day


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    listeners=st.integers(1, 5),
    members=st.integers(1, 25),
    cancel_share=st.sampled_from([0.0, 0.5]),
    break_seconds=st.sampled_from([0, 60]),
    hold_seconds=st.sampled_from([0, 45]),  # the app holds up to 45 s for a better match freeing soon
)
def test_busy_periods_keep_every_promise_and_nobody_starves(
    seed: int, listeners: int, members: int, cancel_share: float, break_seconds: int, hold_seconds: int
) -> None:
    config = DispatchConfig(
        break_between_sessions=seconds(break_seconds), hold_for_match_freeing_soon=seconds(hold_seconds)
    )
    day = run_busy_period(seed, listeners, members, cancel_share, config)
    for request_id in day.passed:
        # Every member was offered to someone or left on their own.
        assert request_id in day.offered or request_id in day.cancelled, f"{request_id} was never offered"
    for request_id, r in day.state.requests.items():
        # Whoever still waits at the end has no one left who has not passed on them.
        assert all(c.listener_id in r.passed_over_by for c in r.candidates), f"{request_id} is stuck"
    assert plan_offers(day.state, T0 + timedelta(hours=3), config) == []
