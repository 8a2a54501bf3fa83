"""Which offers to send now: an assignment of waiting requests to free listeners over the current window.

The plan maximises, in this order:

1. the number of high-risk requests offered (they jump the queue);
2. the number of requests offered (nobody waits while a listener they could have is free);
3. the total weight, where a pair's weight is its match score plus a bonus that grows with the member's wait
   (so under contention the older request wins and nobody starves).

A pair is allowed only if the listener is a candidate for the request, has not declined it or let it time out,
is online with a fresh heartbeat, is not on a break, has free capacity and daily allowance, and has no other
offer pending; and the request has no offer pending. Optionally a new normal request waits a few seconds for a
much better listener (``DispatchConfig.hold_for_better_match``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

import numpy as np

from sameboat.domain.dispatch.assignment import max_weight_assignment
from sameboat.domain.dispatch.model import (
    DispatchConfig,
    DispatchState,
    DispatchStateError,
    ListenerAvailability,
    Presence,
    Priority,
    SendOffer,
    WaitingRequest,
)

DEFAULT_CONFIG = DispatchConfig()


def is_reachable(listener: ListenerAvailability, now: datetime, config: DispatchConfig = DEFAULT_CONFIG) -> bool:
    """Online and heard from within the heartbeat timeout (otherwise they count as offline)."""
    return (
        listener.presence is Presence.ONLINE
        and listener.last_heartbeat_at is not None
        and now - listener.last_heartbeat_at <= config.heartbeat_timeout
    )


def free_capacity(
    listener: ListenerAvailability, pending_offers: int, now: datetime, config: DispatchConfig = DEFAULT_CONFIG
) -> int:
    """How many more conversations the listener could start now, counting pending offers as taken."""
    if not is_reachable(listener, now, config):
        return 0
    if listener.break_until is not None and now < listener.break_until:
        return 0
    room = listener.max_concurrent - listener.active_conversations - pending_offers
    if listener.daily_limit is not None:
        room = min(room, listener.daily_limit - listener.conversations_today - pending_offers)
    return max(room, 0)


def under_daily_limit(listener: ListenerAvailability) -> bool:
    return listener.daily_limit is None or listener.conversations_today < listener.daily_limit


def listeners_open_to_offers(
    state: DispatchState, now: datetime, config: DispatchConfig = DEFAULT_CONFIG
) -> list[ListenerAvailability]:
    """Listeners who may receive an offer now (no pending offer, room for one more), sorted by id."""
    with_offer = {o.listener_id for o in state.offers.values()}
    return sorted(
        (x for x in state.listeners.values() if x.id not in with_offer and free_capacity(x, 0, now, config) >= 1),
        key=lambda x: x.id,
    )


def dispatch_order(request: WaitingRequest) -> tuple[int, datetime, str]:
    """High risk first, then longest waiting, then id (so plans are deterministic)."""
    return (0 if request.priority is Priority.HIGH else 1, request.created_at, request.id)


def requests_awaiting_offer(state: DispatchState) -> list[WaitingRequest]:
    """Waiting requests with no pending offer, in dispatch order."""
    return sorted((r for r in state.requests.values() if r.id not in state.offers), key=dispatch_order)


def quality_floor(
    request: WaitingRequest, state: DispatchState, now: datetime, config: DispatchConfig = DEFAULT_CONFIG
) -> float:
    """Lowest score this request may be offered at now (-inf once it no longer holds out for a better match)."""
    if request.priority is Priority.HIGH:
        return -math.inf
    return max(_floor_on_shift(request, state, now, config), _floor_freeing_soon(request, state, now, config))


def _floor_freeing_soon(request: WaitingRequest, state: DispatchState, now: datetime, config: DispatchConfig) -> float:
    """Within ``hold_for_match_freeing_soon`` of arriving: the best score among listeners free now or whose
    break ends within the hold, less ``soon_margin``."""
    if request.waited(now) >= config.hold_for_match_freeing_soon:
        return -math.inf
    until = request.created_at + config.hold_for_match_freeing_soon
    pending = Counter(o.listener_id for o in state.offers.values())
    best = -math.inf
    for candidate in request.candidates:
        if candidate.score <= best or candidate.listener_id in request.passed_over_by:
            continue
        listener = state.listeners.get(candidate.listener_id)
        if listener is None or not is_reachable(listener, now, config) or not under_daily_limit(listener):
            continue
        if listener.active_conversations + pending[listener.id] >= listener.max_concurrent:
            continue  # talking (or being offered someone): not free before an unknown time
        if listener.break_until is not None and listener.break_until > until:
            continue
        best = candidate.score
    return best - config.soon_margin


def _floor_on_shift(request: WaitingRequest, state: DispatchState, now: datetime, config: DispatchConfig) -> float:
    if request.waited(now) >= config.hold_for_better_match:
        return -math.inf
    on_shift = [
        c.score
        for c in request.candidates
        if c.listener_id not in request.passed_over_by
        and (listener := state.listeners.get(c.listener_id)) is not None
        and is_reachable(listener, now, config)
        and under_daily_limit(listener)
    ]
    return max(on_shift) - config.better_match_margin if on_shift else -math.inf


def plan_offers(state: DispatchState, now: datetime, config: DispatchConfig = DEFAULT_CONFIG) -> list[SendOffer]:
    """The offers to send now, in dispatch order (high risk first, then longest waiting). Pure."""
    requests = requests_awaiting_offer(state)[: config.max_window]
    if not requests:
        return []
    listeners = listeners_open_to_offers(state, now, config)
    if not listeners:
        return []
    weights = np.full((len(requests), len(listeners)), np.nan)
    for i, request in enumerate(requests):
        floor = quality_floor(request, state, now, config)
        bonus = config.wait_bonus_per_minute * request.waited(now).total_seconds() / 60.0
        for j, listener in enumerate(listeners):
            score = request.score_of(listener.id)
            if score is not None and score >= floor and listener.id not in request.passed_over_by:
                weights[i, j] = score + bonus
    allowed = ~np.isnan(weights)
    if not allowed.any():
        return []
    # High risk first, lexicographically: the bonus exceeds any possible difference in the normal weights.
    high = np.array([r.priority is Priority.HIGH for r in requests])
    if high.any():
        spread = float(weights[allowed].max() - weights[allowed].min())
        weights[high] += (spread + 1.0) * (len(requests) + 1)
    decisions = []
    for i, j in max_weight_assignment(weights):
        request, listener = requests[i], listeners[j]
        decisions.append(
            SendOffer(
                request_id=request.id,
                listener_id=listener.id,
                score=request.score_of(listener.id) or 0.0,
                priority=request.priority,
                sent_at=now,
                expires_at=now + config.offer_timeout,
                waited=request.waited(now),
            )
        )
    return sorted(decisions, key=lambda d: dispatch_order(state.requests[d.request_id]))


def apply_offers(state: DispatchState, decisions: Iterable[SendOffer]) -> DispatchState:
    """Record sent offers as pending. Refuses (DispatchStateError) anything that would break an invariant."""
    offers = dict(state.offers)
    with_offer = {o.listener_id for o in offers.values()}
    for d in decisions:
        request = state.requests.get(d.request_id)
        if request is None:
            raise DispatchStateError(f"request {d.request_id!r} is not waiting")
        if d.request_id in offers:
            raise DispatchStateError(f"request {d.request_id!r} already has a pending offer")
        if d.listener_id in with_offer:
            raise DispatchStateError(f"listener {d.listener_id!r} already has a pending offer")
        if d.listener_id in request.passed_over_by:
            raise DispatchStateError(f"listener {d.listener_id!r} already passed on request {d.request_id!r}")
        if d.listener_id not in state.listeners:
            raise DispatchStateError(f"unknown listener {d.listener_id!r}")
        offers[d.request_id] = d.as_offer()
        with_offer.add(d.listener_id)
    return replace(state, offers=offers)
