"""Stateful property test: random members, listeners, answers, drops and clock jumps, checking after every step
that the engine never breaks its promises.

- no request is matched twice, and only the listener holding the offer can win it;
- no listener holds two pending offers, or goes over capacity or the daily limit;
- a listener who declined or let a request time out is never offered it again;
- a plan never offers a normal request a listener a waiting high-risk request could have had;
- a plan leaves no request waiting while a listener it could have is free (with no hold configured);
- every accepted request came from a pending, unexpired offer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sameboat.domain.dispatch import (
    DispatchConfig,
    DispatchState,
    Presence,
    Priority,
    SendOffer,
    accept_offer,
    add_request,
    apply_offers,
    cancel_request,
    conversation_ended,
    decline_offer,
    drop_unreachable_listeners,
    expire_due_offers,
    heartbeat,
    listener_dropped,
    plan_offers,
    requests_awaiting_offer,
    set_presence,
)
from tests.unit.dispatch.helpers import T0, listener, request, seconds

LISTENER_IDS = [f"l{i}" for i in range(5)]
scores = st.floats(0.0, 2.0, allow_nan=False).map(lambda x: round(x, 2))


def check_plan(
    before: DispatchState,
    decisions: list[SendOffer],
    after: DispatchState,
    passed: dict[str, set[str]],
    now: datetime,
    config: DispatchConfig,
) -> None:
    """What every plan must respect."""
    offered_now = {d.request_id for d in decisions}
    waiting_high = [
        r for r in requests_awaiting_offer(before) if r.priority is Priority.HIGH and r.id not in offered_now
    ]
    for d in decisions:
        assert d.listener_id not in passed[d.request_id], "re-offered to a listener who passed"
        assert before.requests[d.request_id].score_of(d.listener_id) is not None, "offered to a non-candidate"
        if before.requests[d.request_id].priority is Priority.NORMAL:
            for high in waiting_high:
                could = high.score_of(d.listener_id) is not None and d.listener_id not in high.passed_over_by
                assert not could, f"{d.request_id} got {d.listener_id}, which waiting high-risk {high.id} could have"
    # Maximal (no hold configured): planning again right away finds nothing more to do. With a hold, a request
    # held for a listener whom this very plan gave to someone else is offered on the next tick (a second later).
    if not (config.hold_for_better_match or config.hold_for_match_freeing_soon):
        assert plan_offers(after, now, config) == []


def check_promises(state: DispatchState, passed: dict[str, set[str]], winners: dict[str, str]) -> None:
    """What must hold after every event."""
    offers_per_listener: dict[str, int] = {}
    for request_id, offer in state.offers.items():
        assert offer.request_id == request_id and request_id in state.requests
        offers_per_listener[offer.listener_id] = offers_per_listener.get(offer.listener_id, 0) + 1
        assert offer.listener_id not in passed[request_id]
    for listener_id, x in state.listeners.items():
        pending = offers_per_listener.get(listener_id, 0)
        assert pending <= 1, "two pending offers"
        assert x.active_conversations + pending <= x.max_concurrent, "over capacity"
        if x.daily_limit is not None:
            assert x.conversations_today + pending <= x.daily_limit, "over the daily limit"
    for request_id, listener_id in winners.items():
        assert request_id not in state.requests
        assert state.closed[request_id].listener_id == listener_id
    for request_id, r in state.requests.items():
        assert passed[request_id] <= r.passed_over_by


class DispatchMachine(RuleBasedStateMachine):
    @initialize(
        capacities=st.lists(st.integers(1, 2), min_size=5, max_size=5),
        limits=st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=5, max_size=5),
        break_seconds=st.sampled_from([0, 60]),
    )
    def setup(self, capacities: list[int], limits: list[int | None], break_seconds: int) -> None:
        self.now = T0
        self.config = DispatchConfig(break_between_sessions=seconds(break_seconds))
        self.state = DispatchState.build(
            listeners=[
                listener(i, max_concurrent=c, daily_limit=lim)
                for i, c, lim in zip(LISTENER_IDS, capacities, limits, strict=True)
            ]
        )
        self.next_id = 0
        self.passed: dict[str, set[str]] = {}  # our own record of who declined or timed out, per request
        self.winners: dict[str, str] = {}
        self.offered: set[str] = set()

    # --- members -----------------------------------------------------------------------------------------

    @rule(
        candidates=st.dictionaries(st.sampled_from(LISTENER_IDS), scores, min_size=1, max_size=5),
        high_risk=st.booleans(),
        age=st.integers(0, 120),
    )
    def member_asks(self, candidates: dict[str, float], high_risk: bool, age: int) -> None:
        request_id = f"r{self.next_id}"
        self.next_id += 1
        priority = Priority.HIGH if high_risk else Priority.NORMAL
        created = self.now - timedelta(seconds=age)
        self.state = add_request(self.state, request(request_id, candidates, created_at=created, priority=priority))
        self.passed[request_id] = set()
        self.plan()

    @rule(data=st.data())
    def member_cancels(self, data: st.DataObject) -> None:
        if not self.state.requests:
            return
        request_id = data.draw(st.sampled_from(sorted(self.state.requests)))
        assert cancel_request(self.state, request_id, self.now).ok
        self.state = cancel_request(self.state, request_id, self.now).state
        assert request_id not in self.state.offers
        self.plan()

    # --- the dispatcher ----------------------------------------------------------------------------------

    def plan(self) -> None:
        """What the service does after every event: expire, drop the silent, plan, record."""
        self.state, _ = expire_due_offers(self.state, self.now, self.config)
        self.sync_timeouts()
        self.state = drop_unreachable_listeners(self.state, self.now, self.config)[0].state
        before = self.state
        decisions = plan_offers(before, self.now, self.config)
        self.state = apply_offers(before, decisions)
        check_plan(before, decisions, self.state, self.passed, self.now, self.config)
        event(f"offers per plan: {min(len(decisions), 3)}")

    def sync_timeouts(self) -> None:
        for request_id, r in self.state.requests.items():
            self.passed[request_id] |= r.timed_out_by

    # --- listeners ---------------------------------------------------------------------------------------

    @rule(data=st.data(), answer=st.sampled_from(["accept", "accept", "decline"]), delay=st.integers(0, 40))
    def listener_answers(self, data: st.DataObject, answer: str, delay: int) -> None:
        if not self.state.offers:
            return
        offer = data.draw(st.sampled_from(sorted(self.state.offers.values(), key=lambda o: o.request_id)))
        self.now = at = self.now + timedelta(seconds=delay)
        if answer == "decline":
            outcome = decline_offer(self.state, offer.request_id, offer.listener_id, at)
            assert outcome.ok
            self.passed[offer.request_id].add(offer.listener_id)
        else:
            outcome = accept_offer(self.state, offer.request_id, offer.listener_id, at)
            assert outcome.ok == (at < offer.expires_at)
            event(f"accept of a pending offer: {'won' if outcome.ok else 'too late'}")
            if outcome.ok:
                assert offer.request_id not in self.winners, "a request won twice"
                self.winners[offer.request_id] = offer.listener_id
        self.state = outcome.state
        self.plan()

    @rule(data=st.data())
    def someone_accepts_anything(self, data: st.DataObject) -> None:
        """Concurrent or stale accepts: any listener, any request ever made."""
        if not self.next_id:
            return
        request_id = f"r{data.draw(st.integers(0, self.next_id - 1))}"
        listener_id = data.draw(st.sampled_from(LISTENER_IDS))
        offer = self.state.offers.get(request_id)
        outcome = accept_offer(self.state, request_id, listener_id, self.now)
        holds_live_offer = offer is not None and offer.listener_id == listener_id and self.now < offer.expires_at
        event(f"stray accept: {outcome.rejection.reason.value if outcome.rejection else 'won'}")
        if outcome.ok:
            assert holds_live_offer and request_id not in self.winners
            self.winners[request_id] = listener_id
        else:
            assert outcome.state is self.state
            assert request_id not in self.winners or outcome.rejection.reason.value in (
                "request_already_matched",
                "already_accepted",
            )
        self.state = outcome.state
        self.plan()

    @rule(listener_id=st.sampled_from(LISTENER_IDS))
    def conversation_ends(self, listener_id: str) -> None:
        if self.state.listeners[listener_id].active_conversations:
            self.state = conversation_ended(self.state, listener_id, self.now, self.config).state
        self.plan()

    @rule(
        listener_id=st.sampled_from(LISTENER_IDS),
        presence=st.sampled_from([Presence.ONLINE, Presence.ONLINE, Presence.AWAY, Presence.OFFLINE]),
    )
    def presence_changes(self, listener_id: str, presence: Presence) -> None:
        self.state = set_presence(self.state, listener_id, presence, self.now).state
        self.plan()

    @rule(silent=st.sets(st.sampled_from(LISTENER_IDS), max_size=2))
    def heartbeats_arrive(self, silent: set[str]) -> None:
        for listener_id in LISTENER_IDS:
            if listener_id not in silent:
                self.state = heartbeat(self.state, listener_id, self.now).state
        self.plan()

    @rule(listener_id=st.sampled_from(LISTENER_IDS))
    def connection_drops(self, listener_id: str) -> None:
        self.state = listener_dropped(self.state, listener_id, self.now).state
        self.plan()

    @rule(step=st.one_of(st.integers(1, 15), st.integers(16, 120)))
    def time_passes(self, step: int) -> None:
        self.now += timedelta(seconds=step)
        self.plan()

    # --- promises ----------------------------------------------------------------------------------------

    @invariant()
    def promises_hold(self) -> None:
        check_promises(self.state, self.passed, self.winners)


DispatchMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
TestDispatchMachine = DispatchMachine.TestCase
