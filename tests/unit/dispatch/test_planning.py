"""Which offers the plan sends: best total match over the window, high risk first, nobody starves."""

from __future__ import annotations

from dataclasses import replace

from sameboat.domain.dispatch import (
    DispatchConfig,
    Presence,
    Priority,
    accept_offer,
    add_request,
    apply_offers,
    conversation_ended,
    heartbeat,
    plan_offers,
)
from tests.unit.dispatch.helpers import CONFIG, T0, listener, request, seconds, state_of


def pairs(decisions) -> set[tuple[str, str]]:
    return {(d.request_id, d.listener_id) for d in decisions}


def test_the_window_is_assigned_together_not_first_come_first_served() -> None:
    # r1 came first and likes a best; but b suits r1 nearly as well while only a suits r2.
    state = state_of(
        request("r1", {"a": 0.9, "b": 0.8}, created_at=T0),
        request("r2", {"a": 0.85, "b": 0.1}, created_at=T0 + seconds(1)),
        listener("a"),
        listener("b"),
    )
    assert pairs(plan_offers(state, T0 + seconds(1), CONFIG)) == {("r1", "b"), ("r2", "a")}


def test_offers_only_to_candidates_who_are_free_and_have_not_passed() -> None:
    state = state_of(
        request("r1", {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.6, "e": 0.5, "f": 0.4}, declined_by=frozenset({"a"})),
        listener("a"),
        listener("b", presence=Presence.AWAY),
        listener("c", active_conversations=1),
        listener("d", break_until=T0 + seconds(1)),
        listener("e", daily_limit=3, conversations_today=3),
        listener("f"),
        listener("g"),  # free but not a candidate (matching filtered them out)
    )
    decisions = plan_offers(state, T0, CONFIG)
    assert pairs(decisions) == {("r1", "f")}
    d = decisions[0]
    assert (d.score, d.priority, d.sent_at, d.expires_at, d.waited) == (
        0.4,
        Priority.NORMAL,
        T0,
        T0 + seconds(30),
        seconds(0),
    )


def test_high_risk_jumps_the_queue() -> None:
    state = state_of(
        request("old", {"a": 2.0}, created_at=T0 - seconds(600)),
        request("risk", {"a": 0.1}, created_at=T0, priority=Priority.HIGH),
        listener("a"),
    )
    assert pairs(plan_offers(state, T0, CONFIG)) == {("risk", "a")}


def test_high_risk_never_waits_for_a_better_match() -> None:
    config = DispatchConfig(hold_for_better_match=seconds(60))
    state = state_of(
        request("r", {"busy": 2.0, "free": 0.2}, priority=Priority.HIGH),
        listener("busy", at=T0 + seconds(50), active_conversations=1),
        listener("free", at=T0 + seconds(50)),
    )
    assert pairs(plan_offers(state, T0, config)) == {("r", "free")}
    normal = replace(state, requests={"r": replace(state.requests["r"], priority=Priority.NORMAL)})
    assert plan_offers(normal, T0 + seconds(59), config) == []
    assert pairs(plan_offers(normal, T0 + seconds(60), config)) == {("r", "free")}


def test_a_new_request_waits_for_a_better_match_only_when_one_is_coming() -> None:
    config = DispatchConfig(hold_for_match_freeing_soon=seconds(30), soon_margin=0.3)
    state = state_of(
        request("r", {"resting": 1.0, "talking": 1.2, "free": 0.4}),
        listener("resting", break_until=T0 + seconds(20)),  # back within the hold
        listener("talking", active_conversations=1),  # nobody knows when that conversation ends
        listener("free"),
    )
    assert plan_offers(state, T0, config) == []
    after_break = T0 + seconds(20)
    assert pairs(plan_offers(heartbeat(state, "resting", after_break).state, after_break, config)) == {("r", "resting")}
    nobody_coming = replace(state, listeners={k: v for k, v in state.listeners.items() if k != "resting"})
    assert pairs(plan_offers(nobody_coming, T0, config)) == {("r", "free")}  # offered at once
    # Back only after the hold ends, or offered someone else meanwhile: not waited for.
    later = replace(state, listeners={**state.listeners, "resting": listener("resting", break_until=T0 + seconds(31))})
    assert pairs(plan_offers(later, T0, config)) == {("r", "free")}
    high = replace(state, requests={"r": replace(state.requests["r"], priority=Priority.HIGH)})
    assert pairs(plan_offers(high, T0, config)) == {("r", "free")}


def test_waiting_time_wins_under_contention() -> None:
    # Same listener, the newcomer matches better; the one who waited 5 minutes has earned it.
    state = state_of(
        request("waited", {"a": 0.5}, created_at=T0 - seconds(300)),
        request("new", {"a": 1.5}, created_at=T0),
        listener("a"),
    )
    assert pairs(plan_offers(state, T0, CONFIG)) == {("waited", "a")}
    fresh = replace(state, requests={**state.requests, "waited": replace(state.requests["waited"], created_at=T0)})
    assert pairs(plan_offers(fresh, T0, CONFIG)) == {("new", "a")}


def test_a_poor_match_is_not_starved_by_a_stream_of_better_ones() -> None:
    """One listener, one old request that matches poorly, and a better-matching newcomer every minute."""
    config = DispatchConfig(break_between_sessions=seconds(0))
    state = state_of(request("poor", {"a": 0.05}), listener("a"))
    now = T0
    for minute in range(1, 60):
        now = T0 + seconds(60 * minute)
        state = add_request(state, request(f"n{minute}", {"a": 2.0}, created_at=now))
        state = heartbeat(state, "a", now).state
        decisions = plan_offers(state, now, config)
        state = apply_offers(state, decisions)
        if ("poor", "a") in pairs(decisions):
            break
        # The listener talks with the newcomer for a minute, then is free again.
        (offer,) = state.offers.values()
        state = accept_offer(state, offer.request_id, "a", now).state
        state = conversation_ended(state, "a", now + seconds(59), config).state
    assert "poor" in state.offers, "the poor match waited an hour"
    assert now - T0 <= seconds(600)


def test_plan_is_deterministic_and_in_dispatch_order() -> None:
    listeners = [listener(f"l{i}") for i in range(6)]
    requests = [
        request(f"r{i}", {f"l{j}": (i * 7 + j * 3) % 5 / 5 for j in range(6)}, created_at=T0 + seconds(i))
        for i in range(6)
    ]
    requests[4] = replace(requests[4], priority=Priority.HIGH)
    state = state_of(*requests, *listeners)
    first = plan_offers(state, T0 + seconds(10), CONFIG)
    assert first == plan_offers(state, T0 + seconds(10), CONFIG)
    assert [d.request_id for d in first] == ["r4", "r0", "r1", "r2", "r3", "r5"]
    # Everyone got an offer, so planning again changes nothing.
    assert plan_offers(apply_offers(state, first), T0 + seconds(10), CONFIG) == []


def test_window_limit() -> None:
    state = state_of(*(request(f"r{i}", {"a": 1.0}, created_at=T0 + seconds(i)) for i in range(5)), listener("a"))
    assert pairs(plan_offers(state, T0 + seconds(9), DispatchConfig(max_window=1))) == {("r0", "a")}
