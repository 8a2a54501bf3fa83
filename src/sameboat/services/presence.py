"""Listener presence: online / away / offline, kept honest by heartbeats (stale after 30 s)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sameboat.adapters.storage.models import ListenerPresence, ListenerProfile, User
from sameboat.domain.accounts import ListenerStatus, Role
from sameboat.services.conversations import active_conversations
from sameboat.services.errors import Forbidden, InvalidInput
from sameboat.services.unit_of_work import ServiceContext, WriteOp

HEARTBEAT_STALE_AFTER = timedelta(seconds=30)
STATES = ("online", "away", "offline")


@dataclass(frozen=True)
class PresenceView:
    listener_id: str
    state: str  # as the listener set it
    effective: str  # what dispatch sees: "offline" when the heartbeat is stale
    active_conversations: int
    max_concurrent: int
    break_until: datetime | None


def _effective(row: ListenerPresence | None, now: datetime) -> str:
    if row is None or row.state == "offline":
        return "offline"
    if row.last_heartbeat_at is None or now - row.last_heartbeat_at > HEARTBEAT_STALE_AFTER:
        return "offline"
    return row.state


def set_state(ctx: ServiceContext, listener: User, state: str) -> PresenceView:
    if listener.role != Role.LISTENER.value:
        raise Forbidden("Only listeners go online.")
    if state not in STATES:
        raise InvalidInput(f"State must be one of {', '.join(STATES)}.", field="state")
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        profile = s.get(ListenerProfile, listener.id)
        if profile is None or profile.status != ListenerStatus.APPROVED.value:
            raise Forbidden("Your profile needs to be approved before you can take conversations.")
        row = s.get(ListenerPresence, listener.id)
        if row is None:
            row = ListenerPresence(listener_id=listener.id)
            s.add(row)
        row.state = state
        row.last_heartbeat_at = now if state != "offline" else row.last_heartbeat_at
        row.updated_at = now
        s.flush()
        return _view(s, row, profile, now)


def heartbeat(ctx: ServiceContext, listener_id: str) -> None:
    ctx.transact(heartbeat_writer(listener_id, ctx.now()))


def heartbeat_writer(listener_id: str, now: datetime) -> WriteOp[None]:
    def write(s: Session) -> None:
        row = s.get(ListenerPresence, listener_id)
        if row is not None and row.state != "offline":
            row.last_heartbeat_at = now

    return write


def _view(session, row: ListenerPresence | None, profile: ListenerProfile, now: datetime) -> PresenceView:  # type: ignore[no-untyped-def]
    active = active_conversations(session, profile.user_id)
    return PresenceView(
        profile.user_id,
        row.state if row else "offline",
        _effective(row, now),
        active,
        profile.max_concurrent,
        row.break_until if row else None,
    )


def presence_of(ctx: ServiceContext, listener: User) -> PresenceView:
    with ctx.uow() as uow:
        s = uow.session
        profile = s.get(ListenerProfile, listener.id)
        if profile is None:
            raise Forbidden("Only listeners have presence.")
        return _view(s, s.get(ListenerPresence, listener.id), profile, ctx.now())
