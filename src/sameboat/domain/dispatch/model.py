"""Value objects of the "talk now" dispatch engine: waiting requests, listener availability, offers, the state
they make together, the decisions the engine takes and the reasons it refuses an event.

Everything is immutable plain data. The service layer builds a :class:`DispatchState` from database rows
(see docs/dispatch.md), asks the engine what to do, writes the outcome back and rebuilds the state next time;
nothing here keeps a reference to storage or a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from sameboat.domain.matching import MatchResult


class Priority(StrEnum):
    NORMAL = "normal"
    #: Flagged high risk by the safety engine: offered before every normal request.
    HIGH = "high"


class Presence(StrEnum):
    ONLINE = "online"  # taking offers
    AWAY = "away"  # signed in but not taking offers (stepped away, missed an offer, going off shift)
    OFFLINE = "offline"


class RequestStatus(StrEnum):
    MATCHED = "matched"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class DispatchConfig:
    #: How long a listener has to answer an offer.
    offer_timeout: timedelta = timedelta(seconds=30)
    #: A listener whose last heartbeat is older than this counts as offline.
    heartbeat_timeout: timedelta = timedelta(seconds=30)
    #: Break given to a listener after each conversation before the next offer.
    break_between_sessions: timedelta = timedelta(minutes=1)
    #: Added to a request's weight per minute it has waited (match scores are roughly 0..2), so that under
    #: contention the older request wins and nobody starves behind better-matching newcomers.
    wait_bonus_per_minute: float = 0.5
    #: For this long after a normal request arrives it is only offered to listeners whose score is within
    #: ``better_match_margin`` of the best listener on shift for it (busy or not); after that, to anyone it can
    #: have. High-risk requests never wait for a better match.
    hold_for_better_match: timedelta = timedelta(seconds=0)
    better_match_margin: float = 0.3
    #: For this long after a normal request arrives it is only offered to listeners within ``soon_margin`` of
    #: the best one who is free now or will be within that time (on the break after a conversation, which has
    #: a known end); listeners in a conversation are not waited for, since nobody knows when it will end. So
    #: a member waits a few seconds for someone who shares their topic only when that someone is coming.
    hold_for_match_freeing_soon: timedelta = timedelta(seconds=0)
    soon_margin: float = 0.3
    #: A listener who lets an offer time out is set away (they are probably not at the screen).
    away_after_missed_offer: bool = True
    #: After this wait (waited so far, or estimated), the member is offered to book a time or see resources.
    offer_alternatives_after: timedelta = timedelta(minutes=5)
    #: At most this many waiting requests are planned at once (high risk and longest waiting first).
    max_window: int = 200

    def __post_init__(self) -> None:
        if self.offer_timeout <= timedelta(0) or self.heartbeat_timeout <= timedelta(0):
            raise ValueError("offer_timeout and heartbeat_timeout must be positive")
        if self.max_window < 1:
            raise ValueError("max_window must be at least 1")


@dataclass(frozen=True)
class Candidate:
    """A listener the matching engine found suitable for a request, with their match score."""

    listener_id: str
    score: float


@dataclass(frozen=True)
class WaitingRequest:
    """A member waiting to talk now.

    ``candidates`` are the listeners matching allows for this member (filters, blocks, languages already
    applied), best first. ``declined_by`` and ``timed_out_by`` are the listeners who already passed on it:
    they are never offered it again.
    """

    id: str
    member_id: str
    created_at: datetime
    candidates: tuple[Candidate, ...]
    priority: Priority = Priority.NORMAL
    declined_by: frozenset[str] = frozenset()
    timed_out_by: frozenset[str] = frozenset()
    _scores: Mapping[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        scores: dict[str, float] = {}
        for candidate in self.candidates:
            scores.setdefault(candidate.listener_id, candidate.score)  # the first (best-ranked) entry counts
        object.__setattr__(self, "_scores", MappingProxyType(scores))

    @classmethod
    def from_match_result(
        cls,
        request_id: str,
        member_id: str,
        created_at: datetime,
        result: MatchResult,
        priority: Priority = Priority.NORMAL,
        declined_by: Iterable[str] = (),
        timed_out_by: Iterable[str] = (),
    ) -> WaitingRequest:
        """Build from what ``sameboat.domain.matching.rank_listeners`` returned for this member."""
        return cls(
            id=request_id,
            member_id=member_id,
            created_at=created_at,
            candidates=tuple(Candidate(m.listener_id, m.score) for m in result.matches),
            priority=priority,
            declined_by=frozenset(declined_by),
            timed_out_by=frozenset(timed_out_by),
        )

    @property
    def passed_over_by(self) -> frozenset[str]:
        return self.declined_by | self.timed_out_by

    def score_of(self, listener_id: str) -> float | None:
        """The listener's match score, or None when they are not a candidate."""
        return self._scores.get(listener_id)

    def waited(self, now: datetime) -> timedelta:
        return max(now - self.created_at, timedelta(0))


@dataclass(frozen=True)
class ListenerAvailability:
    """Whether and how much a listener can take right now."""

    id: str
    presence: Presence = Presence.OFFLINE
    last_heartbeat_at: datetime | None = None
    active_conversations: int = 0
    max_concurrent: int = 1
    conversations_today: int = 0
    #: None: no daily limit.
    daily_limit: int | None = None
    #: No offers before this time (the break after a conversation).
    break_until: datetime | None = None

    def __post_init__(self) -> None:
        if self.max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if self.active_conversations < 0 or self.conversations_today < 0:
            raise ValueError("conversation counts cannot be negative")
        if self.daily_limit is not None and self.daily_limit < 0:
            raise ValueError("daily_limit cannot be negative")


@dataclass(frozen=True)
class Offer:
    """A request offered to one listener, waiting for their answer."""

    request_id: str
    listener_id: str
    score: float
    sent_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class ClosedRequest:
    """What became of a request that no longer waits (kept so a late accept gets a precise answer)."""

    request_id: str
    status: RequestStatus
    at: datetime
    listener_id: str | None = None


class DispatchStateError(ValueError):
    """The rows the state was built from contradict each other (a bug or a lost database constraint)."""


@dataclass(frozen=True)
class DispatchState:
    """Everything the engine looks at. Build it with :meth:`build`; transitions return new states."""

    requests: Mapping[str, WaitingRequest] = field(default_factory=dict)
    listeners: Mapping[str, ListenerAvailability] = field(default_factory=dict)
    #: Pending offers by request id (a request has at most one).
    offers: Mapping[str, Offer] = field(default_factory=dict)
    closed: Mapping[str, ClosedRequest] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        requests: Iterable[WaitingRequest] = (),
        listeners: Iterable[ListenerAvailability] = (),
        offers: Iterable[Offer] = (),
        closed: Iterable[ClosedRequest] = (),
    ) -> DispatchState:
        """Assemble a state from rows, checking the invariants the database should already guarantee."""
        state = cls(
            requests={r.id: r for r in requests},
            listeners={x.id: x for x in listeners},
            offers={},
            closed={c.request_id: c for c in closed},
        )
        pending: dict[str, Offer] = {}
        busy_listeners: set[str] = set()
        for offer in offers:
            if offer.request_id in pending:
                raise DispatchStateError(f"request {offer.request_id!r} has two pending offers")
            if offer.listener_id in busy_listeners:
                raise DispatchStateError(f"listener {offer.listener_id!r} has two pending offers")
            if offer.request_id not in state.requests:
                raise DispatchStateError(f"offer for request {offer.request_id!r}, which is not waiting")
            if offer.listener_id not in state.listeners:
                raise DispatchStateError(f"offer to unknown listener {offer.listener_id!r}")
            pending[offer.request_id] = offer
            busy_listeners.add(offer.listener_id)
        overlap = state.requests.keys() & state.closed.keys()
        if overlap:
            raise DispatchStateError(f"request {sorted(overlap)[0]!r} is both waiting and closed")
        return DispatchState(state.requests, state.listeners, pending, state.closed)

    def offer_to(self, listener_id: str) -> Offer | None:
        """The listener's pending offer, if any."""
        return next((o for o in self.offers.values() if o.listener_id == listener_id), None)


@dataclass(frozen=True)
class SendOffer:
    """Decision: offer ``request_id`` to ``listener_id`` now; it expires at ``expires_at``."""

    request_id: str
    listener_id: str
    score: float
    priority: Priority
    sent_at: datetime
    expires_at: datetime
    #: How long the member had waited when the offer was planned.
    waited: timedelta

    def as_offer(self) -> Offer:
        return Offer(self.request_id, self.listener_id, self.score, self.sent_at, self.expires_at)


class RejectReason(StrEnum):
    REQUEST_ALREADY_MATCHED = "request_already_matched"
    ALREADY_ACCEPTED = "already_accepted"  # the same listener accepting twice: treat as success
    REQUEST_CANCELLED = "request_cancelled"
    REQUEST_UNKNOWN = "request_unknown"
    OFFER_EXPIRED = "offer_expired"
    OFFER_DECLINED = "offer_declined"
    OFFER_NOT_PENDING = "offer_not_pending"  # withdrawn, or never sent to this listener
    OFFER_NOT_DUE = "offer_not_due"
    LISTENER_UNKNOWN = "listener_unknown"
    LISTENER_AT_CAPACITY = "listener_at_capacity"


#: Words fit to show the listener (or write to the log) for each reason.
REJECT_MESSAGES: Mapping[RejectReason, str] = MappingProxyType(
    {
        RejectReason.REQUEST_ALREADY_MATCHED: "Another listener is already talking with this member.",
        RejectReason.ALREADY_ACCEPTED: "You have already accepted this conversation.",
        RejectReason.REQUEST_CANCELLED: "The member is no longer waiting.",
        RejectReason.REQUEST_UNKNOWN: "This request does not exist or is no longer waiting.",
        RejectReason.OFFER_EXPIRED: "This offer has expired.",
        RejectReason.OFFER_DECLINED: "You declined this offer.",
        RejectReason.OFFER_NOT_PENDING: "This offer is no longer open to you.",
        RejectReason.OFFER_NOT_DUE: "This offer has not expired yet.",
        RejectReason.LISTENER_UNKNOWN: "Unknown listener.",
        RejectReason.LISTENER_AT_CAPACITY: "You are already in as many conversations as you can take.",
    }
)


@dataclass(frozen=True)
class Rejection:
    reason: RejectReason

    @property
    def message(self) -> str:
        return REJECT_MESSAGES[self.reason]


@dataclass(frozen=True)
class Outcome:
    """The state after an event, or the unchanged state and why the event was refused.

    ``withdrawn`` lists pending offers the event cancelled (the listener went away, the member cancelled): the
    service marks them withdrawn and tells the listener's console.
    """

    state: DispatchState
    rejection: Rejection | None = None
    withdrawn: tuple[Offer, ...] = ()

    @property
    def ok(self) -> bool:
        return self.rejection is None
