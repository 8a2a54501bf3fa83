"""Events as pure functions: each takes a state (and the time) and returns an :class:`Outcome` with the new state,
or the unchanged state and a :class:`Rejection` saying why the event does not apply.

"Exactly one winner": a request has at most one pending offer, and only the listener holding it, before it
expires, can accept; the request then leaves the waiting set, so a second accept (from anyone) is refused with
``REQUEST_ALREADY_MATCHED`` (or ``ALREADY_ACCEPTED`` for the same listener, which the service can treat as
success). The database enforces the same rule with a conditional update; see docs/dispatch.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from sameboat.domain.dispatch.model import (
    Candidate,
    ClosedRequest,
    DispatchConfig,
    DispatchState,
    DispatchStateError,
    ListenerAvailability,
    Offer,
    Outcome,
    Presence,
    Rejection,
    RejectReason,
    RequestStatus,
    SendOffer,
    WaitingRequest,
)
from sameboat.domain.dispatch.planning import DEFAULT_CONFIG, apply_offers, plan_offers

V = TypeVar("V")


def _refuse(state: DispatchState, reason: RejectReason) -> Outcome:
    return Outcome(state, Rejection(reason))


def _without(mapping: Mapping[str, V], key: str) -> dict[str, V]:
    return {k: v for k, v in mapping.items() if k != key}


def _why_no_pending_offer(state: DispatchState, request_id: str, listener_id: str) -> RejectReason:
    """The precise reason ``listener_id`` holds no pending offer for ``request_id``."""
    closed = state.closed.get(request_id)
    if closed is not None:
        if closed.status is RequestStatus.CANCELLED:
            return RejectReason.REQUEST_CANCELLED
        if closed.listener_id == listener_id:
            return RejectReason.ALREADY_ACCEPTED
        return RejectReason.REQUEST_ALREADY_MATCHED
    request = state.requests.get(request_id)
    if request is None:
        return RejectReason.REQUEST_UNKNOWN
    if listener_id in request.timed_out_by:
        return RejectReason.OFFER_EXPIRED
    if listener_id in request.declined_by:
        return RejectReason.OFFER_DECLINED
    return RejectReason.OFFER_NOT_PENDING


def _pending_offer(state: DispatchState, request_id: str, listener_id: str) -> Offer | RejectReason:
    if listener_id not in state.listeners:
        return RejectReason.LISTENER_UNKNOWN
    offer = state.offers.get(request_id)
    if offer is None or offer.listener_id != listener_id:
        return _why_no_pending_offer(state, request_id, listener_id)
    return offer


# --- requests ------------------------------------------------------------------------------------------------


def add_request(state: DispatchState, request: WaitingRequest) -> DispatchState:
    """A member starts waiting."""
    if request.id in state.requests or request.id in state.closed:
        raise DispatchStateError(f"request {request.id!r} already exists")
    return replace(state, requests={**state.requests, request.id: request})


def update_candidates(state: DispatchState, request_id: str, candidates: Iterable[Candidate]) -> Outcome:
    """Replace a waiting request's candidates (the service re-ranked it, e.g. after new listeners came online).
    A pending offer stays pending."""
    request = state.requests.get(request_id)
    if request is None:
        return _refuse(state, _why_no_pending_offer(state, request_id, ""))
    updated = replace(request, candidates=tuple(candidates))
    return Outcome(replace(state, requests={**state.requests, request_id: updated}))


def cancel_request(state: DispatchState, request_id: str, now: datetime) -> Outcome:
    """The member stops waiting (cancelled, gave up, booked a time instead). Withdraws any pending offer."""
    if request_id not in state.requests:
        # The empty listener id never matches, so a matched request reads as "already matched".
        return _refuse(state, _why_no_pending_offer(state, request_id, ""))
    offer = state.offers.get(request_id)
    closed = ClosedRequest(request_id, RequestStatus.CANCELLED, now)
    new_state = replace(
        state,
        requests=_without(state.requests, request_id),
        offers=_without(state.offers, request_id),
        closed={**state.closed, request_id: closed},
    )
    return Outcome(new_state, withdrawn=(offer,) if offer else ())


def forget_closed_before(state: DispatchState, cutoff: datetime) -> DispatchState:
    """Drop closed-request records older than ``cutoff`` (they only serve late accepts a precise answer)."""
    return replace(state, closed={k: c for k, c in state.closed.items() if c.at >= cutoff})


# --- offers --------------------------------------------------------------------------------------------------


def accept_offer(state: DispatchState, request_id: str, listener_id: str, now: datetime) -> Outcome:
    """The listener accepts. The only way a request becomes matched, so there is exactly one winner."""
    found = _pending_offer(state, request_id, listener_id)
    if isinstance(found, RejectReason):
        return _refuse(state, found)
    if now >= found.expires_at:
        return _refuse(state, RejectReason.OFFER_EXPIRED)
    listener = state.listeners[listener_id]
    if listener.active_conversations >= listener.max_concurrent or (
        listener.daily_limit is not None and listener.conversations_today >= listener.daily_limit
    ):
        return _refuse(state, RejectReason.LISTENER_AT_CAPACITY)
    busier = replace(
        listener,
        active_conversations=listener.active_conversations + 1,
        conversations_today=listener.conversations_today + 1,
    )
    closed = ClosedRequest(request_id, RequestStatus.MATCHED, now, listener_id)
    return Outcome(
        replace(
            state,
            requests=_without(state.requests, request_id),
            offers=_without(state.offers, request_id),
            listeners={**state.listeners, listener_id: busier},
            closed={**state.closed, request_id: closed},
        )
    )


def decline_offer(state: DispatchState, request_id: str, listener_id: str, now: datetime) -> Outcome:
    """The listener declines; the request cascades to someone else at the next plan and never returns to them."""
    found = _pending_offer(state, request_id, listener_id)
    if isinstance(found, RejectReason):
        return _refuse(state, found)
    request = state.requests[request_id]
    passed = replace(request, declined_by=request.declined_by | {listener_id})
    return Outcome(
        replace(state, requests={**state.requests, request_id: passed}, offers=_without(state.offers, request_id))
    )


def expire_offer(
    state: DispatchState, request_id: str, listener_id: str, now: datetime, config: DispatchConfig = DEFAULT_CONFIG
) -> Outcome:
    """The listener did not answer in time: the request cascades, and (by default) the listener is set away."""
    found = _pending_offer(state, request_id, listener_id)
    if isinstance(found, RejectReason):
        return _refuse(state, found)
    if now < found.expires_at:
        return _refuse(state, RejectReason.OFFER_NOT_DUE)
    request = state.requests[request_id]
    passed = replace(request, timed_out_by=request.timed_out_by | {listener_id})
    listeners = state.listeners
    if config.away_after_missed_offer and listeners[listener_id].presence is Presence.ONLINE:
        listeners = {**listeners, listener_id: replace(listeners[listener_id], presence=Presence.AWAY)}
    return Outcome(
        replace(
            state,
            requests={**state.requests, request_id: passed},
            offers=_without(state.offers, request_id),
            listeners=listeners,
        )
    )


def expire_due_offers(
    state: DispatchState, now: datetime, config: DispatchConfig = DEFAULT_CONFIG
) -> tuple[DispatchState, tuple[Offer, ...]]:
    """Expire every offer whose time is up; returns the new state and the offers that expired."""
    due = tuple(sorted((o for o in state.offers.values() if now >= o.expires_at), key=lambda o: o.request_id))
    for offer in due:
        state = expire_offer(state, offer.request_id, offer.listener_id, now, config).state
    return state, due


# --- listeners -----------------------------------------------------------------------------------------------


def _withdraw_offer_of(state: DispatchState, listener_id: str) -> tuple[DispatchState, tuple[Offer, ...]]:
    offer = state.offer_to(listener_id)
    if offer is None:
        return state, ()
    return replace(state, offers=_without(state.offers, offer.request_id)), (offer,)


def upsert_listener(state: DispatchState, listener: ListenerAvailability) -> Outcome:
    """Add or replace a listener's availability (the service reloaded it). A pending offer to a listener who is
    no longer online is withdrawn (not counted as a decline)."""
    new_state = replace(state, listeners={**state.listeners, listener.id: listener})
    if listener.presence is Presence.ONLINE:
        return Outcome(new_state)
    new_state, withdrawn = _withdraw_offer_of(new_state, listener.id)
    return Outcome(new_state, withdrawn=withdrawn)


def set_presence(state: DispatchState, listener_id: str, presence: Presence, now: datetime) -> Outcome:
    """The listener goes online, away or offline (this also counts as a heartbeat)."""
    listener = state.listeners.get(listener_id)
    if listener is None:
        return _refuse(state, RejectReason.LISTENER_UNKNOWN)
    return upsert_listener(state, replace(listener, presence=presence, last_heartbeat_at=now))


def heartbeat(state: DispatchState, listener_id: str, now: datetime) -> Outcome:
    listener = state.listeners.get(listener_id)
    if listener is None:
        return _refuse(state, RejectReason.LISTENER_UNKNOWN)
    return Outcome(replace(state, listeners={**state.listeners, listener_id: replace(listener, last_heartbeat_at=now)}))


def listener_dropped(state: DispatchState, listener_id: str, now: datetime) -> Outcome:
    """The listener's connection is gone (heartbeats stopped): offline, and their pending offer withdrawn so the
    request cascades at once. Their active conversations are the conversation service's business."""
    listener = state.listeners.get(listener_id)
    if listener is None:
        return _refuse(state, RejectReason.LISTENER_UNKNOWN)
    return upsert_listener(state, replace(listener, presence=Presence.OFFLINE))


def drop_unreachable_listeners(
    state: DispatchState, now: datetime, config: DispatchConfig = DEFAULT_CONFIG
) -> tuple[Outcome, tuple[str, ...]]:
    """Set offline every online listener not heard from within the heartbeat timeout; returns the outcome (with
    the withdrawn offers) and the ids of the listeners dropped."""
    stale = tuple(
        sorted(
            x.id
            for x in state.listeners.values()
            if x.presence is Presence.ONLINE
            and (x.last_heartbeat_at is None or now - x.last_heartbeat_at > config.heartbeat_timeout)
        )
    )
    withdrawn: list[Offer] = []
    for listener_id in stale:
        outcome = listener_dropped(state, listener_id, now)
        state, withdrawn = outcome.state, [*withdrawn, *outcome.withdrawn]
    # Offers to listeners who are not online at all (e.g. a state rebuilt from rows mid-change) go too.
    for offer in sorted(state.offers.values(), key=lambda o: o.request_id):
        if state.listeners[offer.listener_id].presence is not Presence.ONLINE:
            state = replace(state, offers=_without(state.offers, offer.request_id))
            withdrawn.append(offer)
    return Outcome(state, withdrawn=tuple(withdrawn)), stale


def conversation_ended(
    state: DispatchState, listener_id: str, now: datetime, config: DispatchConfig = DEFAULT_CONFIG
) -> Outcome:
    """One of the listener's conversations ended: a slot frees up after the configured break."""
    listener = state.listeners.get(listener_id)
    if listener is None:
        return _refuse(state, RejectReason.LISTENER_UNKNOWN)
    rested = replace(
        listener,
        active_conversations=max(listener.active_conversations - 1, 0),
        break_until=now + config.break_between_sessions if config.break_between_sessions else listener.break_until,
    )
    return Outcome(replace(state, listeners={**state.listeners, listener_id: rested}))


# --- one tick ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What one call to :func:`step` did: the service persists each part, then notifies."""

    state: DispatchState
    #: Offers that timed out (their listeners were set away when ``away_after_missed_offer``).
    expired: tuple[Offer, ...]
    #: Listeners set offline for a stale heartbeat.
    dropped_listeners: tuple[str, ...]
    #: Offers withdrawn because their listener was dropped.
    withdrawn: tuple[Offer, ...]
    #: New offers to send (already recorded as pending in ``state``).
    offers: tuple[SendOffer, ...]


def step(state: DispatchState, now: datetime, config: DispatchConfig = DEFAULT_CONFIG) -> Step:
    """Expire due offers, drop listeners whose heartbeat is stale, then plan and record new offers."""
    state, expired = expire_due_offers(state, now, config)
    dropped, dropped_ids = drop_unreachable_listeners(state, now, config)
    decisions = plan_offers(dropped.state, now, config)
    return Step(
        state=apply_offers(dropped.state, decisions),
        expired=expired,
        dropped_listeners=dropped_ids,
        withdrawn=dropped.withdrawn,
        offers=tuple(decisions),
    )
