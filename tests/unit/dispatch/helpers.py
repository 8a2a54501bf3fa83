"""Builders for dispatch tests: a fixed clock, listeners who are online now, requests with candidates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sameboat.domain.dispatch import (
    Candidate,
    DispatchConfig,
    DispatchState,
    ListenerAvailability,
    Presence,
    Priority,
    WaitingRequest,
)

T0 = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
CONFIG = DispatchConfig()


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def listener(listener_id: str, at: datetime = T0, **fields: object) -> ListenerAvailability:
    """Online, just heard from, idle, unless told otherwise."""
    values: dict[str, object] = dict(presence=Presence.ONLINE, last_heartbeat_at=at)
    values.update(fields)
    return ListenerAvailability(listener_id, **values)  # type: ignore[arg-type]


def request(
    request_id: str,
    scores: Mapping[str, float],
    created_at: datetime = T0,
    priority: Priority = Priority.NORMAL,
    **fields: object,
) -> WaitingRequest:
    """A waiting request whose candidates are ``scores`` (listener id -> score), ranked best first."""
    ranked = sorted((Candidate(k, v) for k, v in scores.items()), key=lambda c: (-c.score, c.listener_id))
    return WaitingRequest(
        request_id,
        f"member-{request_id}",
        created_at,
        tuple(ranked),
        priority,
        **fields,  # type: ignore[arg-type]
    )


def state_of(*items: WaitingRequest | ListenerAvailability) -> DispatchState:
    return DispatchState.build(
        requests=[x for x in items if isinstance(x, WaitingRequest)],
        listeners=[x for x in items if isinstance(x, ListenerAvailability)],
    )
