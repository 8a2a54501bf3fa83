"""Discrete-event simulation of a day of "talk now" requests on a fake clock, driving the real dispatch engine.

After every event (a member arrives, a listener answers, an offer runs out, a conversation or break ends, a
shift changes, a connection drops) the simulation does what the service layer will do: expire due offers,
drop listeners whose heartbeat is stale, plan offers and record them. Only the planner differs between
policies; every rule of the engine (capacity, breaks, daily limits, heartbeats, no re-offer after a decline)
applies to both.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum

import numpy as np

from sameboat.domain.dispatch import (
    Candidate,
    DispatchConfig,
    DispatchState,
    ListenerAvailability,
    Presence,
    Priority,
    SendOffer,
    ServiceStats,
    WaitingRequest,
    accept_offer,
    add_request,
    apply_offers,
    cancel_request,
    conversation_ended,
    decline_offer,
    drop_unreachable_listeners,
    estimate_wait,
    expire_due_offers,
    forget_closed_before,
    listeners_open_to_offers,
    plan_offers,
    requests_awaiting_offer,
    set_presence,
    upsert_listener,
)
from sameboat.simulation.scenario import Answer, Arrival, Scenario

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday
HEARTBEAT_EVERY = 10.0  # seconds between a connected listener's heartbeats

Planner = Callable[[DispatchState, datetime, DispatchConfig], list[SendOffer]]


class Kind(IntEnum):
    # Order matters for events at the same instant: shifts begin before members arrive, answers before timers.
    SHIFT_ON = 0
    RECONNECT = 1
    BACK_FROM_AWAY = 2
    ANSWER = 3
    CONVERSATION_END = 4
    ARRIVAL = 5
    ABANDON = 6
    DROP = 7
    SHIFT_OFF = 8
    WAKE = 9  # nothing happens except planning (an offer or a break runs out, a heartbeat goes stale)


@dataclass
class RequestRecord:
    arrival: Arrival
    offers: int = 0
    first_offer_at: float | None = None
    connected_at: float | None = None
    listener: int | None = None
    abandoned_at: float | None = None
    estimate_expected: float | None = None
    estimate_likely: float | None = None
    #: When the member arrived: listeners on shift who strictly share their topic, and how many of those (and of
    #: those in the same boat) were open to an offer (online, free, not on a break, no offer pending).
    sharing_on_shift: int = 0
    sharing_open: int = 0
    same_boat_open: int = 0

    @property
    def wait(self) -> float | None:
        return None if self.connected_at is None else self.connected_at - self.arrival.at


@dataclass
class VolunteerRecord:
    on_shift: bool = False
    connected: bool = True
    away: bool = False
    active: int = 0
    shift_started: float = 0.0
    on_shift_seconds: float = 0.0
    busy_seconds: float = 0.0
    free_since: float = 0.0


@dataclass
class DayResult:
    policy: str
    requests: list[RequestRecord]
    volunteers: list[VolunteerRecord]
    horizon: float
    offers_sent: int = 0
    expired: int = 0
    declined: int = 0
    rejected_accepts: int = 0
    answers_to_withdrawn: int = 0
    wall_seconds: float = 0.0
    mean_on_shift: float = 0.0
    notes: list[str] = field(default_factory=list)


def first_available_planner(free_since: dict[str, float]) -> Planner:
    """First come, first served: the longest-waiting member goes to the listener free the longest, whoever they
    are (the usual call-centre rule). Same eligibility rules as the engine; no matching, no priority."""

    def plan(state: DispatchState, now: datetime, config: DispatchConfig) -> list[SendOffer]:
        requests = sorted(requests_awaiting_offer(state), key=lambda r: (r.created_at, r.id))
        if not requests:
            return []
        open_listeners = sorted(listeners_open_to_offers(state, now, config), key=lambda x: (free_since[x.id], x.id))
        taken: set[str] = set()
        decisions = []
        for request in requests:
            for listener in open_listeners:
                if listener.id in taken or listener.id in request.passed_over_by:
                    continue
                score = request.score_of(listener.id)
                if score is None:
                    continue
                taken.add(listener.id)
                decisions.append(
                    SendOffer(
                        request.id, listener.id, score, request.priority, now, now + config.offer_timeout,
                        request.waited(now),
                    )
                )  # fmt: skip
                break
        return decisions

    return plan


class DaySimulation:
    def __init__(self, scenario: Scenario, config: DispatchConfig, policy: str) -> None:
        self.scenario = scenario
        self.config = config
        self.policy = policy
        self.free_since: dict[str, float] = {}
        self.volunteer_index = {v.id: v.index for v in scenario.volunteers}
        self.planner: Planner = plan_offers if policy == "ours" else first_available_planner(self.free_since)
        self.state = DispatchState()
        self.events: list[tuple[float, int, int, object]] = []
        self.sequence = itertools.count()
        self.records = [RequestRecord(a) for a in scenario.arrivals]
        self.volunteers = [VolunteerRecord() for _ in scenario.volunteers]
        self.horizon = scenario.config.hours * 3600.0
        self.result = DayResult(policy, self.records, self.volunteers, self.horizon)
        self.last_heartbeat = -HEARTBEAT_EVERY
        self.response_times: list[float] = []
        self.answers = 0
        self.accepts = 0
        self.conversation_lengths: list[float] = []

    # --- plumbing --------------------------------------------------------------------------------------------

    def at(self, seconds: float) -> datetime:
        return START + timedelta(seconds=seconds)

    def schedule(self, when: float, kind: Kind, payload: object = None) -> None:
        heapq.heappush(self.events, (when, int(kind), next(self.sequence), payload))

    def listener_id(self, volunteer: int) -> str:
        return self.scenario.volunteers[volunteer].id

    def volunteer_of(self, listener_id: str) -> int:
        return self.volunteer_index[listener_id]

    # --- the day ---------------------------------------------------------------------------------------------

    def run(self) -> DayResult:
        for arrival in self.scenario.arrivals:
            self.schedule(arrival.at, Kind.ARRIVAL, arrival.index)
        for change in self.scenario.roster:
            self.schedule(change.at, Kind.SHIFT_ON if change.on else Kind.SHIFT_OFF, change.volunteer)
        for drop in self.scenario.drops:
            self.schedule(drop.at, Kind.DROP, drop)
        last_prune = 0.0
        while self.events:
            when, kind, _, payload = heapq.heappop(self.events)
            if when > self.horizon:
                break
            self.handle(when, Kind(kind), payload)
            if not self.events or self.events[0][0] > when:  # plan once all events of this instant are in
                self.plan(when)
            if when - last_prune > 600:
                self.state = forget_closed_before(self.state, self.at(when - 600))
                last_prune = when
        self.finish()
        return self.result

    def handle(self, t: float, kind: Kind, payload: object) -> None:
        handler = {
            Kind.ARRIVAL: self.on_arrival,
            Kind.ANSWER: self.on_answer,
            Kind.ABANDON: self.on_abandon,
            Kind.CONVERSATION_END: self.on_conversation_end,
            Kind.SHIFT_ON: self.on_shift_on,
            Kind.SHIFT_OFF: self.on_shift_off,
            Kind.BACK_FROM_AWAY: self.on_back_from_away,
            Kind.DROP: self.on_drop,
            Kind.RECONNECT: self.on_reconnect,
            Kind.WAKE: lambda t, payload: None,
        }[kind]
        handler(t, payload)

    def plan(self, t: float) -> None:
        now = self.at(t)
        self.refresh_heartbeats(t)
        self.state, expired = expire_due_offers(self.state, now, self.config)
        for offer in expired:
            self.result.expired += 1
            self.response_times.append(self.config.offer_timeout.total_seconds())
            self.answers += 1
            v = self.volunteer_of(offer.listener_id)
            if self.config.away_after_missed_offer and self.volunteers[v].on_shift:
                self.volunteers[v].away = True
                self.schedule(t + self.scenario.away_time(v, t), Kind.BACK_FROM_AWAY, v)
        dropped, _ = drop_unreachable_listeners(self.state, now, self.config)
        self.state = dropped.state
        decisions = self.planner(self.state, now, self.config)
        self.state = apply_offers(self.state, decisions)
        for decision in decisions:
            self.send(t, decision)

    def send(self, t: float, decision: SendOffer) -> None:
        record = self.records[int(decision.request_id[1:])]
        record.offers += 1
        if record.first_offer_at is None:
            record.first_offer_at = t
        self.result.offers_sent += 1
        v = self.volunteer_of(decision.listener_id)
        answer, delay = self.scenario.answer(record.arrival, v)
        timeout = self.config.offer_timeout.total_seconds()
        if answer is not Answer.NO_ANSWER and delay < timeout:
            self.schedule(t + delay, Kind.ANSWER, (decision.request_id, decision.listener_id, t, answer, delay))
        self.schedule(t + timeout, Kind.WAKE)

    def refresh_heartbeats(self, t: float) -> None:
        """Connected listeners send a heartbeat every ``HEARTBEAT_EVERY`` seconds. Recording each one would be
        most of the work, so before each plan we record one for every connected listener whose last recorded
        heartbeat is more than ``HEARTBEAT_EVERY`` old: what the engine sees is at most that stale, as in life."""
        if t - self.last_heartbeat < HEARTBEAT_EVERY:
            return
        now = self.at(t)
        oldest_fresh = now - timedelta(seconds=HEARTBEAT_EVERY)
        listeners = self.state.listeners
        refreshed = {}
        for listener_id, listener in listeners.items():
            volunteer = self.volunteers[self.volunteer_of(listener_id)]
            if (
                volunteer.connected
                and (volunteer.on_shift or volunteer.active)
                and (listener.last_heartbeat_at is None or listener.last_heartbeat_at < oldest_fresh)
            ):
                refreshed[listener_id] = replace(listener, last_heartbeat_at=now)
        if refreshed:
            self.state = replace(self.state, listeners={**listeners, **refreshed})
        self.last_heartbeat = t

    def presence_of(self, v: int) -> Presence:
        volunteer = self.volunteers[v]
        if not volunteer.connected or (not volunteer.on_shift and not volunteer.active):
            return Presence.OFFLINE
        if not volunteer.on_shift or volunteer.away:
            return Presence.AWAY
        return Presence.ONLINE

    def update_presence(self, t: float, v: int) -> None:
        listener_id = self.listener_id(v)
        if listener_id in self.state.listeners:
            self.state = set_presence(self.state, listener_id, self.presence_of(v), self.at(t)).state

    # --- events ----------------------------------------------------------------------------------------------

    def on_arrival(self, t: float, index: object) -> None:
        arrival = self.scenario.arrivals[int(index)]  # type: ignore[call-overload]
        ranked = [Candidate(self.listener_id(int(v)), float(arrival.scores[v])) for v in np.argsort(-arrival.scores)]
        request = WaitingRequest(
            id=f"r{arrival.index}",
            member_id=f"m{arrival.index}",
            created_at=self.at(t),
            candidates=tuple(ranked),
            priority=Priority.HIGH if arrival.high_risk else Priority.NORMAL,
        )
        self.record_supply(t, arrival)
        self.state = add_request(self.state, request)
        self.schedule(t + arrival.patience, Kind.ABANDON, arrival.index)
        hold = max(self.config.hold_for_better_match, self.config.hold_for_match_freeing_soon).total_seconds()
        if hold > 0:  # the service's dispatcher ticks every second, so a hold ends on time
            self.schedule(t + hold, Kind.WAKE)
        if self.policy == "ours":
            self.plan(t)  # the estimate the member first sees already counts the offer sent on arrival
            estimate = estimate_wait(self.state, request.id, self.at(t), self.service_stats(), self.config)
            record = self.records[arrival.index]
            if estimate.expected is not None and estimate.likely_within is not None:
                record.estimate_expected = estimate.expected.total_seconds()
                record.estimate_likely = estimate.likely_within.total_seconds()

    def record_supply(self, t: float, arrival: Arrival) -> None:
        """How many listeners sharing the member's topic were on shift, and open to an offer, as they arrived."""
        self.refresh_heartbeats(t)
        record = self.records[arrival.index]
        record.sharing_on_shift = sum(
            bool(arrival.shares_topic[v]) for v, volunteer in enumerate(self.volunteers) if volunteer.on_shift
        )
        for listener in listeners_open_to_offers(self.state, self.at(t), self.config):
            v = self.volunteer_of(listener.id)
            record.sharing_open += bool(arrival.shares_topic[v])
            record.same_boat_open += bool(arrival.same_boat[v])

    def service_stats(self) -> ServiceStats:
        """What the service would measure so far today (defaults until there is data)."""
        defaults = ServiceStats()
        lengths, responses = self.conversation_lengths[-200:], self.response_times[-200:]
        return ServiceStats(
            mean_conversation=timedelta(seconds=sum(lengths) / len(lengths)) if lengths else defaults.mean_conversation,
            mean_offer_response=(
                timedelta(seconds=sum(responses) / len(responses)) if responses else defaults.mean_offer_response
            ),
            offer_response_p90=(
                timedelta(seconds=float(np.percentile(responses, 90))) if responses else defaults.offer_response_p90
            ),
            accept_rate=max(self.accepts / self.answers, 0.05) if self.answers >= 20 else defaults.accept_rate,
        )

    def on_answer(self, t: float, payload: object) -> None:
        request_id, listener_id, sent_at, answer, delay = payload  # type: ignore[misc]
        if not self.volunteers[self.volunteer_of(listener_id)].connected:
            return  # a listener whose connection dropped cannot answer; the offer times out or is withdrawn
        offer = self.state.offers.get(request_id)
        if offer is None or offer.listener_id != listener_id or offer.sent_at != self.at(sent_at):
            # The console already showed the offer as gone (member left, listener went away); the service
            # would refuse the accept with a reason.
            self.result.answers_to_withdrawn += 1
            return
        self.response_times.append(delay)
        self.answers += 1
        now = self.at(t)
        if answer is Answer.DECLINE:
            self.state = decline_offer(self.state, request_id, listener_id, now).state
            self.result.declined += 1
            return
        outcome = accept_offer(self.state, request_id, listener_id, now)
        if not outcome.ok:
            self.result.rejected_accepts += 1
            return
        self.accepts += 1
        self.state = outcome.state
        record = self.records[int(request_id[1:])]
        v = self.volunteer_of(listener_id)
        record.connected_at, record.listener = t, v
        self.volunteers[v].active += 1
        listener = self.state.listeners[listener_id]
        assert self.volunteers[v].active == listener.active_conversations <= listener.max_concurrent
        length = record.arrival.session_length
        self.volunteers[v].busy_seconds += min(length, self.horizon - t)
        self.schedule(t + length, Kind.CONVERSATION_END, (v, length))

    def on_abandon(self, t: float, index: object) -> None:
        record = self.records[int(index)]  # type: ignore[call-overload]
        outcome = cancel_request(self.state, f"r{record.arrival.index}", self.at(t))
        if outcome.ok:
            self.state = outcome.state
            record.abandoned_at = t

    def on_conversation_end(self, t: float, payload: object) -> None:
        v, length = payload  # type: ignore[misc]
        self.conversation_lengths.append(length)
        volunteer = self.volunteers[v]
        volunteer.active -= 1
        volunteer.free_since = t
        self.free_since[self.listener_id(v)] = t
        self.state = conversation_ended(self.state, self.listener_id(v), self.at(t), self.config).state
        if not volunteer.on_shift and not volunteer.active:
            self.update_presence(t, v)
        self.schedule(t + self.config.break_between_sessions.total_seconds(), Kind.WAKE)

    def on_shift_on(self, t: float, v: object) -> None:
        v = int(v)  # type: ignore[call-overload]
        volunteer = self.volunteers[v]
        volunteer.on_shift, volunteer.away, volunteer.shift_started = True, False, t
        listener_id = self.listener_id(v)
        self.free_since.setdefault(listener_id, t)
        existing = self.state.listeners.get(listener_id)
        availability = existing or ListenerAvailability(
            listener_id, max_concurrent=1, daily_limit=self.scenario.config.daily_limit
        )
        heard = self.at(t) if volunteer.connected else availability.last_heartbeat_at
        availability = replace(availability, presence=self.presence_of(v), last_heartbeat_at=heard)
        self.state = upsert_listener(self.state, availability).state

    def on_shift_off(self, t: float, v: object) -> None:
        v = int(v)  # type: ignore[call-overload]
        volunteer = self.volunteers[v]
        volunteer.on_shift = False
        volunteer.on_shift_seconds += t - volunteer.shift_started
        self.update_presence(t, v)

    def on_back_from_away(self, t: float, v: object) -> None:
        v = int(v)  # type: ignore[call-overload]
        self.volunteers[v].away = False
        self.update_presence(t, v)

    def on_drop(self, t: float, drop: object) -> None:
        v = drop.volunteer  # type: ignore[attr-defined]
        volunteer = self.volunteers[v]
        if not volunteer.connected:
            return
        volunteer.connected = False  # heartbeats stop; the engine notices after the heartbeat timeout
        self.schedule(t + self.config.heartbeat_timeout.total_seconds() + 0.001, Kind.WAKE)
        self.schedule(t + drop.reconnect_after, Kind.RECONNECT, v)  # type: ignore[attr-defined]

    def on_reconnect(self, t: float, v: object) -> None:
        v = int(v)  # type: ignore[call-overload]
        self.volunteers[v].connected = True
        self.update_presence(t, v)

    def finish(self) -> None:
        for volunteer in self.volunteers:
            if volunteer.on_shift:
                volunteer.on_shift_seconds += self.horizon - volunteer.shift_started
        self.result.mean_on_shift = sum(v.on_shift_seconds for v in self.volunteers) / self.horizon


def simulate_day(scenario: Scenario, config: DispatchConfig, policy: str) -> DayResult:
    """Run one policy ("ours" or "first-available") over the scenario's day."""
    if policy not in ("ours", "first-available"):
        raise ValueError(f"unknown policy {policy!r}")
    return DaySimulation(scenario, config, policy).run()
