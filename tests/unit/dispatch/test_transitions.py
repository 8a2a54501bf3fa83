"""Each event on its own: accept (exactly one winner), decline, expiry, cancel, presence, heartbeats, capacity."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sameboat.domain.dispatch import (
    ClosedRequest,
    DispatchConfig,
    DispatchState,
    DispatchStateError,
    Offer,
    Presence,
    RejectReason,
    RequestStatus,
    accept_offer,
    add_request,
    cancel_request,
    conversation_ended,
    decline_offer,
    expire_due_offers,
    expire_offer,
    forget_closed_before,
    heartbeat,
    listener_dropped,
    plan_offers,
    set_presence,
    step,
    update_candidates,
)
from sameboat.domain.dispatch.model import Candidate
from tests.unit.dispatch.helpers import CONFIG, T0, listener, request, seconds, state_of


def offered(state: DispatchState, at=T0) -> DispatchState:
    return step(state, at, CONFIG).state


@pytest.fixture
def one_offer() -> DispatchState:
    """r1 offered to a (the best match); b is also free."""
    state = offered(state_of(request("r1", {"a": 0.9, "b": 0.5}), listener("a"), listener("b")))
    assert state.offers["r1"].listener_id == "a"
    return state


def test_accept_matches_the_request_and_takes_a_slot(one_offer: DispatchState) -> None:
    outcome = accept_offer(one_offer, "r1", "a", T0 + seconds(5))
    assert outcome.ok and outcome.rejection is None
    state = outcome.state
    assert "r1" not in state.requests and "r1" not in state.offers
    assert state.closed["r1"] == ClosedRequest("r1", RequestStatus.MATCHED, T0 + seconds(5), "a")
    assert state.listeners["a"].active_conversations == 1
    assert state.listeners["a"].conversations_today == 1


def test_exactly_one_winner(one_offer: DispatchState) -> None:
    won = accept_offer(one_offer, "r1", "a", T0 + seconds(5)).state
    # b never held the offer; a accepting again is a double click the service can treat as success.
    assert accept_offer(won, "r1", "b", T0 + seconds(6)).rejection.reason is RejectReason.REQUEST_ALREADY_MATCHED
    assert accept_offer(won, "r1", "a", T0 + seconds(6)).rejection.reason is RejectReason.ALREADY_ACCEPTED
    assert accept_offer(one_offer, "r1", "b", T0).rejection.reason is RejectReason.OFFER_NOT_PENDING


def test_accept_after_the_countdown_is_refused(one_offer: DispatchState) -> None:
    late = T0 + CONFIG.offer_timeout
    outcome = accept_offer(one_offer, "r1", "a", late)
    assert outcome.rejection.reason is RejectReason.OFFER_EXPIRED
    assert outcome.state is one_offer
    expired, due = expire_due_offers(one_offer, late, CONFIG)
    assert [o.listener_id for o in due] == ["a"]
    assert accept_offer(expired, "r1", "a", late).rejection.reason is RejectReason.OFFER_EXPIRED
    assert "expired" in accept_offer(expired, "r1", "a", late).rejection.message


def test_expiry_is_not_early_and_sets_the_listener_away(one_offer: DispatchState) -> None:
    early = expire_offer(one_offer, "r1", "a", T0 + seconds(29), CONFIG)
    assert early.rejection.reason is RejectReason.OFFER_NOT_DUE
    state = expire_offer(one_offer, "r1", "a", T0 + seconds(30), CONFIG).state
    assert state.requests["r1"].timed_out_by == {"a"}
    assert state.listeners["a"].presence is Presence.AWAY
    # The request cascades to the next listener at the next plan.
    assert [(d.request_id, d.listener_id) for d in plan_offers(state, T0 + seconds(30), CONFIG)] == [("r1", "b")]
    kept = expire_offer(one_offer, "r1", "a", T0 + seconds(30), DispatchConfig(away_after_missed_offer=False)).state
    assert kept.listeners["a"].presence is Presence.ONLINE


def test_decline_cascades_and_is_never_offered_again(one_offer: DispatchState) -> None:
    state = decline_offer(one_offer, "r1", "a", T0 + seconds(3)).state
    assert state.requests["r1"].declined_by == {"a"}
    assert accept_offer(state, "r1", "a", T0 + seconds(4)).rejection.reason is RejectReason.OFFER_DECLINED
    state = offered(state, T0 + seconds(3))
    assert state.offers["r1"].listener_id == "b"
    state = decline_offer(state, "r1", "b", T0 + seconds(6)).state
    assert offered(state, T0 + seconds(6)).offers == {}  # nobody left who has not passed


def test_cancel_withdraws_the_offer_and_late_accepts_are_told(one_offer: DispatchState) -> None:
    outcome = cancel_request(one_offer, "r1", T0 + seconds(2))
    assert outcome.ok and [o.listener_id for o in outcome.withdrawn] == ["a"]
    state = outcome.state
    assert state.offers == {} and "r1" not in state.requests
    assert accept_offer(state, "r1", "a", T0 + seconds(3)).rejection.reason is RejectReason.REQUEST_CANCELLED
    assert cancel_request(state, "r1", T0).rejection.reason is RejectReason.REQUEST_CANCELLED
    assert cancel_request(state, "nope", T0).rejection.reason is RejectReason.REQUEST_UNKNOWN
    matched = accept_offer(one_offer, "r1", "a", T0).state
    assert cancel_request(matched, "r1", T0).rejection.reason is RejectReason.REQUEST_ALREADY_MATCHED


def test_unknowns_are_refused_not_raised(one_offer: DispatchState) -> None:
    assert accept_offer(one_offer, "r1", "zed", T0).rejection.reason is RejectReason.LISTENER_UNKNOWN
    assert accept_offer(one_offer, "r9", "a", T0).rejection.reason is RejectReason.REQUEST_UNKNOWN
    assert decline_offer(one_offer, "r9", "a", T0).rejection.reason is RejectReason.REQUEST_UNKNOWN
    for event in (heartbeat, listener_dropped):
        assert event(one_offer, "zed", T0).rejection.reason is RejectReason.LISTENER_UNKNOWN
    assert set_presence(one_offer, "zed", Presence.ONLINE, T0).rejection.reason is RejectReason.LISTENER_UNKNOWN
    assert conversation_ended(one_offer, "zed", T0).rejection.reason is RejectReason.LISTENER_UNKNOWN
    assert update_candidates(one_offer, "r9", ()).rejection.reason is RejectReason.REQUEST_UNKNOWN


def test_a_dropped_listener_loses_the_offer_without_a_decline(one_offer: DispatchState) -> None:
    outcome = listener_dropped(one_offer, "a", T0 + seconds(1))
    assert [o.listener_id for o in outcome.withdrawn] == ["a"]
    state = outcome.state
    assert state.listeners["a"].presence is Presence.OFFLINE
    assert state.requests["r1"].passed_over_by == frozenset()
    assert offered(state, T0 + seconds(1)).offers["r1"].listener_id == "b"
    # Back online, a is a candidate again (they did not say no).
    back = set_presence(state, "a", Presence.ONLINE, T0 + seconds(2)).state
    assert offered(back, T0 + seconds(2)).offers["r1"].listener_id == "a"


def test_going_away_withdraws_the_offer(one_offer: DispatchState) -> None:
    outcome = set_presence(one_offer, "a", Presence.AWAY, T0 + seconds(1))
    assert [o.listener_id for o in outcome.withdrawn] == ["a"]
    assert outcome.state.offers == {}


def test_a_stale_heartbeat_counts_as_offline() -> None:
    state = state_of(request("r1", {"a": 0.9}), listener("a", at=T0))
    assert plan_offers(state, T0 + seconds(30), CONFIG)  # exactly 30 s: still fresh
    assert plan_offers(state, T0 + seconds(31), CONFIG) == []
    result = step(offered(state, T0 + seconds(20)), T0 + seconds(31), CONFIG)
    assert result.dropped_listeners == ("a",)
    assert [o.listener_id for o in result.withdrawn] == ["a"]
    assert result.state.listeners["a"].presence is Presence.OFFLINE
    alive = heartbeat(state, "a", T0 + seconds(25)).state
    assert plan_offers(alive, T0 + seconds(31), CONFIG)


def test_breaks_capacity_and_daily_limits() -> None:
    config = DispatchConfig(break_between_sessions=seconds(120))
    state = state_of(listener("a", max_concurrent=2, daily_limit=2), request("r1", {"a": 1}), request("r2", {"a": 1}))
    # Two slots, but one pending offer at a time.
    state = step(state, T0, config).state
    assert len(state.offers) == 1
    first = next(iter(state.offers))
    state = accept_offer(state, first, "a", T0 + seconds(1)).state
    state = step(state, T0 + seconds(1), config).state
    assert len(state.offers) == 1
    second = next(iter(state.offers))
    state = accept_offer(state, second, "a", T0 + seconds(2)).state
    assert state.listeners["a"].active_conversations == 2
    # The daily limit is reached: even after both end and the break is over, no more offers.
    state = add_request(state, request("r3", {"a": 1}, created_at=T0 + seconds(3)))
    state = conversation_ended(state, "a", T0 + seconds(60), config).state
    assert state.listeners["a"].break_until == T0 + seconds(180)
    assert step(heartbeat(state, "a", T0 + seconds(590)).state, T0 + seconds(600), config).offers == ()
    # With room in the day, the break is respected to the second.
    roomy = replace(state, listeners={"a": replace(state.listeners["a"], daily_limit=None)})
    roomy = heartbeat(roomy, "a", T0 + seconds(170)).state
    assert step(roomy, T0 + seconds(179), config).offers == ()
    assert step(roomy, T0 + seconds(180), config).offers[0].request_id == "r3"


def test_accept_refused_when_the_listener_filled_up_meanwhile(one_offer: DispatchState) -> None:
    # The service reloaded a with a conversation taken elsewhere (e.g. a booked session started).
    busy = replace(
        one_offer, listeners={**one_offer.listeners, "a": replace(one_offer.listeners["a"], active_conversations=1)}
    )
    assert accept_offer(busy, "r1", "a", T0).rejection.reason is RejectReason.LISTENER_AT_CAPACITY


def test_update_candidates_keeps_the_pending_offer(one_offer: DispatchState) -> None:
    state = update_candidates(one_offer, "r1", [Candidate("b", 0.99), Candidate("a", 0.1)]).state
    assert state.offers["r1"].listener_id == "a"
    assert state.requests["r1"].score_of("b") == 0.99


def test_build_refuses_contradictory_rows() -> None:
    r1, r2, a, b = request("r1", {"a": 1}), request("r2", {"a": 1}), listener("a"), listener("b")
    offer = Offer("r1", "a", 1.0, T0, T0 + seconds(30))
    with pytest.raises(DispatchStateError, match="two pending offers"):
        DispatchState.build([r1, r2], [a], [offer, replace(offer, request_id="r2")])
    with pytest.raises(DispatchStateError, match="two pending offers"):
        DispatchState.build([r1], [a, b], [offer, replace(offer, listener_id="b")])
    with pytest.raises(DispatchStateError, match="not waiting"):
        DispatchState.build([r2], [a], [offer])
    with pytest.raises(DispatchStateError, match="both waiting and closed"):
        DispatchState.build([r1], [a], [], [ClosedRequest("r1", RequestStatus.CANCELLED, T0)])
    with pytest.raises(DispatchStateError, match="already exists"):
        add_request(DispatchState.build([r1]), r1)


def test_forget_closed_before(one_offer: DispatchState) -> None:
    state = accept_offer(one_offer, "r1", "a", T0 + seconds(5)).state
    assert forget_closed_before(state, T0 + seconds(5)).closed
    assert forget_closed_before(state, T0 + seconds(6)).closed == {}
