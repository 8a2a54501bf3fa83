"""Booked sessions: listeners' weekly availability, booking, changes, reminders, opening and no-shows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sameboat.adapters.calendar import session_invite
from sameboat.adapters.mail import Mailer
from sameboat.adapters.storage.models import (
    AvailabilityWindow,
    Block,
    Booking,
    Conversation,
    ConversationEvent,
    ListenerPresence,
    ListenerProfile,
    MemberProfile,
    User,
)
from sameboat.domain import booking as rules_of
from sameboat.domain.accounts import RuleViolation
from sameboat.domain.booking import BookingRules, WeeklyWindow
from sameboat.services import conversations, notifications
from sameboat.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from sameboat.services.unit_of_work import ServiceContext

log = logging.getLogger(__name__)
NOTE_MAX = 500
DEFAULT_DAILY_LIMIT = 8
UPCOMING_STATUSES = ("booked",)


@dataclass(frozen=True)
class BookingConfig:
    rules: BookingRules = field(default_factory=BookingRules)
    reminder_offsets_minutes: tuple[int, ...] = (1440, 60)
    open_minutes_before: int = 10
    no_show_minutes: int = 15


@dataclass(frozen=True)
class BookingView:
    id: str
    starts_at: datetime
    ends_at: datetime
    status: str
    other_name: str
    other_id: str
    role: str  # the viewer's role in it
    note: str
    late_cancel: bool
    no_show: str | None
    conversation_id: str | None
    cancelled_by: str | None
    can_join: bool
    can_change: bool  # reschedule without it counting as late


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except Exception:  # noqa: BLE001 - a zone removed from the system's database falls back to UTC
        return ZoneInfo("UTC")


# --- availability -----------------------------------------------------------------------------------------------


def availability_of(ctx: ServiceContext, listener_id: str) -> tuple[list[WeeklyWindow], str]:
    with ctx.uow() as uow:
        return _windows(uow.session, listener_id), _listener_zone_name(uow.session, listener_id)


def _windows(session: Session, listener_id: str) -> list[WeeklyWindow]:
    rows = session.scalars(select(AvailabilityWindow).where(AvailabilityWindow.listener_id == listener_id))
    return sorted(WeeklyWindow(r.weekday, r.start_minute, r.end_minute) for r in rows)


def _listener_zone_name(session: Session, listener_id: str) -> str:
    return session.scalar(select(ListenerProfile.timezone).where(ListenerProfile.user_id == listener_id)) or "UTC"


def set_availability(
    ctx: ServiceContext, listener: User, timezone: str, windows: list[WeeklyWindow], config: BookingConfig
) -> list[WeeklyWindow]:
    """Replace the listener's weekly windows (in their own zone). Existing bookings are kept either way."""
    rules_of.zone(timezone)
    checked = rules_of.validate_windows(windows, config.rules.slot_minutes)
    with ctx.uow() as uow:
        s = uow.session
        profile = s.get(ListenerProfile, listener.id)
        if profile is None:
            raise NotFound("Set up your listener profile first.")
        profile.timezone = timezone
        s.execute(delete(AvailabilityWindow).where(AvailabilityWindow.listener_id == listener.id))
        s.add_all(
            AvailabilityWindow(
                listener_id=listener.id, weekday=w.weekday, start_minute=w.start_minute, end_minute=w.end_minute
            )
            for w in checked
        )
    return checked


# --- open slots ------------------------------------------------------------------------------------------------


def _bookable_listener(session: Session, member_id: str, listener_id: str) -> ListenerProfile:
    profile = session.get(ListenerProfile, listener_id)
    if profile is None or profile.status != "approved":
        raise NotFound("We couldn't find that listener, or they aren't taking bookings right now.")
    blocked = session.scalar(
        select(func.count())
        .select_from(Block)
        .where(
            or_(
                (Block.blocker_id == member_id) & (Block.blocked_id == listener_id),
                (Block.blocker_id == listener_id) & (Block.blocked_id == member_id),
            )
        )
    )
    if blocked:
        raise Forbidden("You can't book a session with this listener. Please choose another listener.")
    return profile


def _daily_limit(session: Session, listener_id: str) -> int:
    limit = session.scalar(select(ListenerPresence.daily_limit).where(ListenerPresence.listener_id == listener_id))
    return limit or DEFAULT_DAILY_LIMIT


def _held(session: Session, listener_id: str, start: datetime, end: datetime) -> list[Booking]:
    return list(
        session.scalars(
            select(Booking).where(
                Booking.listener_id == listener_id,
                Booking.status.in_(UPCOMING_STATUSES),
                Booking.starts_at < end,
                Booking.ends_at > start,
            )
        )
    )


def _member_overlap(session: Session, member_id: str, start: datetime, end: datetime) -> Booking | None:
    return session.scalar(
        select(Booking).where(
            Booking.member_id == member_id,
            Booking.status.in_(UPCOMING_STATUSES),
            Booking.starts_at < end,
            Booking.ends_at > start,
        )
    )


def open_slots(ctx: ServiceContext, member: User, listener_id: str, config: BookingConfig) -> list[datetime]:
    """Slot starts (UTC) the member could book now: in the listener's windows, not taken, the listener's day
    not full, and not clashing with the member's own bookings."""
    now = ctx.now()
    rules = config.rules
    length = timedelta(minutes=rules.slot_minutes)
    with ctx.uow() as uow:
        s = uow.session
        _bookable_listener(s, member.id, listener_id)
        zone = zone_of(_listener_zone_name(s, listener_id))
        start = now + timedelta(minutes=rules.min_lead_minutes)
        end = now + timedelta(days=rules.horizon_days)
        candidates = rules_of.slots_between(_windows(s, listener_id), zone, start, end, rules.slot_minutes)
        held = _held(s, listener_id, start, end + length)
        taken = {b.starts_at for b in held}
        per_day: dict[object, int] = {}
        for held_booking in held:
            day = held_booking.starts_at.astimezone(zone).date()
            per_day[day] = per_day.get(day, 0) + 1
        limit = _daily_limit(s, listener_id)
        mine = list(
            s.scalars(
                select(Booking).where(
                    Booking.member_id == member.id,
                    Booking.status.in_(UPCOMING_STATUSES),
                    Booking.ends_at > start,
                )
            )
        )
    return [
        slot
        for slot in candidates
        if slot not in taken
        and per_day.get(slot.astimezone(zone).date(), 0) < limit
        and not any(b.starts_at < slot + length and b.ends_at > slot for b in mine)
    ]


# --- booking, cancelling, rescheduling ---------------------------------------------------------------------------


def _names(session: Session, member_id: str, listener_id: str) -> tuple[str, str]:
    pseudonym = session.scalar(select(MemberProfile.pseudonym).where(MemberProfile.user_id == member_id)) or "Member"
    listener = (
        session.scalar(select(ListenerProfile.display_name).where(ListenerProfile.user_id == listener_id)) or "Listener"
    )
    return pseudonym, listener


def _when(starts_at: datetime, zone_name: str | None) -> str:
    local = starts_at.astimezone(zone_of(zone_name))
    return f"{local:%A %d %B %Y at %H:%M} ({local.tzname()})"


def _member_zone(session: Session, member_id: str) -> str | None:
    return session.scalar(select(MemberProfile.timezone).where(MemberProfile.user_id == member_id))


def _invite(ctx: ServiceContext, booking: Booking, other_name: str, *, cancelled: bool = False) -> str:
    return session_invite(
        uid=f"booking-{booking.id}@sameboat",
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        summary=f"Sameboat session with {other_name}",
        # The invite never says what the session is about: calendars are often shared or synced.
        description="Your booked Sameboat peer-support session. Open Sameboat a few minutes before to join.",
        url="/bookings",
        stamp=ctx.now(),
        sequence=1 if cancelled else 0,
        cancelled=cancelled,
    )


def _announce_booking(ctx: ServiceContext, s: Session, booking: Booking, config: BookingConfig) -> None:
    """Confirmation with an invite for both now; reminders for both before the start."""
    assert ctx.cipher is not None
    now = ctx.now()
    pseudonym, listener_name = _names(s, booking.member_id, booking.listener_id)
    parties = (
        (booking.member_id, listener_name, _member_zone(s, booking.member_id)),
        (booking.listener_id, pseudonym, _listener_zone_name(s, booking.listener_id)),
    )
    for user_id, other, zone_name in parties:
        when = _when(booking.starts_at, zone_name)
        notifications.queue(
            s,
            ctx.cipher,
            user_id=user_id,
            kind="booking_confirmed",
            booking_id=booking.id,
            subject=f"Booked: Sameboat session with {other}",
            body=f"Your session with {other} is booked for {when}. The calendar invite is attached. "
            "You can reschedule or cancel from your bookings page.",
            link="/bookings",
            send_after=now,
            ics=_invite(ctx, booking, other),
        )
        for minutes in config.reminder_offsets_minutes:
            due = booking.starts_at - timedelta(minutes=minutes)
            if due <= now:
                continue
            notifications.queue(
                s,
                ctx.cipher,
                user_id=user_id,
                kind="booking_reminder",
                booking_id=booking.id,
                subject=f"Reminder: Sameboat session with {other}, {_lead(minutes)}",
                body=f"Your session with {other} starts {when}. It opens on Sameboat "
                f"{config.open_minutes_before} minutes before.",
                link="/bookings",
                send_after=due,
            )


def _lead(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "tomorrow" if days == 1 else f"in {days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    return f"in {minutes} minutes"


def _insert_booking(
    ctx: ServiceContext,
    s: Session,
    member: User,
    listener_id: str,
    starts_at: datetime,
    note: str,
    config: BookingConfig,
    rescheduled_from: str | None = None,
) -> Booking:
    rules = config.rules
    starts_at = starts_at.astimezone(UTC)
    now = ctx.now()
    rules_of.check_start(starts_at, now, rules)
    profile = _bookable_listener(s, member.id, listener_id)
    zone = zone_of(profile.timezone)
    if not rules_of.is_offered(_windows(s, listener_id), zone, starts_at, rules.slot_minutes):
        raise InvalidInput(
            f"{profile.display_name} isn't available at that time. Please pick one of their times.", field="starts_at"
        )
    ends_at = starts_at + timedelta(minutes=rules.slot_minutes)
    clash = _member_overlap(s, member.id, starts_at, ends_at)
    if clash is not None:
        raise Conflict(
            "You already have a session booked at that time. Pick another time, or change that one.", field="starts_at"
        )
    day_start, day_end = rules_of.local_day_bounds(starts_at.astimezone(zone).date(), zone)
    if len(_held(s, listener_id, day_start, day_end)) >= _daily_limit(s, listener_id):
        raise Conflict(f"{profile.display_name} is fully booked that day. Please pick another day.", field="starts_at")
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"Keep the note under {NOTE_MAX} characters.", field="note")
    assert ctx.cipher is not None
    booking = Booking(
        member_id=member.id,
        listener_id=listener_id,
        starts_at=starts_at,
        ends_at=ends_at,
        status="booked",
        slot_key=rules_of.slot_key(listener_id, starts_at),
        note_ciphertext=ctx.cipher.encrypt(note) if note else None,
        created_at=now,
        late_cancel=False,
        rescheduled_from=rescheduled_from,
    )
    s.add(booking)
    try:
        with s.begin_nested():  # the unique slot key is the referee between two members booking at once
            s.flush()
    except IntegrityError:
        raise Conflict("Someone has just booked that time. Please pick another.", field="starts_at") from None
    return booking


def book(
    ctx: ServiceContext, member: User, listener_id: str, starts_at: datetime, note: str, config: BookingConfig
) -> Booking:
    with ctx.uow() as uow:
        s = uow.session
        booking = _insert_booking(ctx, s, member, listener_id, starts_at, note.strip(), config)
        _announce_booking(ctx, s, booking, config)
        return booking


def _party_booking(session: Session, user: User, booking_id: str) -> tuple[Booking, str]:
    booking = session.get(Booking, booking_id)
    if booking is None or user.id not in (booking.member_id, booking.listener_id):
        raise NotFound("We couldn't find that booking.")
    return booking, ("member" if user.id == booking.member_id else "listener")


def _withdraw(ctx: ServiceContext, s: Session, booking: Booking, by: str, config: BookingConfig) -> bool:
    """Cancel in the caller's transaction; True when it was late. The conditional update decides races."""
    now = ctx.now()
    if booking.starts_at <= now:
        raise Conflict("This session has already started. You can end it from the conversation.")
    late = rules_of.is_late_change(booking.starts_at, now, config.rules)
    changed = s.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == "booked")
        .values(status="cancelled", slot_key=None, cancelled_at=now, cancelled_by=by, late_cancel=late)
    ).rowcount
    if changed != 1:
        raise Conflict("This booking has already been cancelled.")
    notifications.cancel_pending(s, now, booking_id=booking.id)
    return late


def cancel(ctx: ServiceContext, user: User, booking_id: str, config: BookingConfig) -> Booking:
    assert ctx.cipher is not None
    with ctx.uow() as uow:
        s = uow.session
        booking, role = _party_booking(s, user, booking_id)
        _withdraw(ctx, s, booking, role, config)
        pseudonym, listener_name = _names(s, booking.member_id, booking.listener_id)
        other_id, me, other_zone = (
            (booking.listener_id, pseudonym, _listener_zone_name(s, booking.listener_id))
            if role == "member"
            else (booking.member_id, listener_name, _member_zone(s, booking.member_id))
        )
        notifications.queue(
            s,
            ctx.cipher,
            user_id=other_id,
            kind="booking_cancelled",
            booking_id=booking.id,
            subject=f"Cancelled: Sameboat session with {me}",
            body=f"{me} cancelled the session on {_when(booking.starts_at, other_zone)}."
            + (" You can book another time with someone who's been there." if role == "listener" else ""),
            link="/bookings",
            send_after=ctx.now(),
            ics=_invite(ctx, booking, me, cancelled=True),
        )
        s.refresh(booking)
        return booking


def reschedule(
    ctx: ServiceContext, member: User, booking_id: str, new_start: datetime, config: BookingConfig
) -> Booking:
    """Move a booking to another of the same listener's times, in one transaction (both or neither)."""
    with ctx.uow() as uow:
        s = uow.session
        booking, role = _party_booking(s, member, booking_id)
        if role != "member":
            raise Forbidden("Only the member can move a booking; you can cancel it and say why.")
        if booking.status != "booked":
            raise Conflict("This booking is no longer active.")
        if rules_of.is_late_change(booking.starts_at, ctx.now(), config.rules):
            raise Conflict(
                f"This session is less than {config.rules.notice_hours:g} hours away, so it can't be moved. "
                "You can still cancel it."
            )
        note = ctx.cipher.decrypt(booking.note_ciphertext) if (ctx.cipher and booking.note_ciphertext) else ""
        _withdraw(ctx, s, booking, "member", config)
        moved = _insert_booking(
            ctx, s, member, booking.listener_id, new_start, note, config, rescheduled_from=booking.id
        )
        _announce_booking(ctx, s, moved, config)
        return moved


# --- what pages show ----------------------------------------------------------------------------------------------


def _view(ctx: ServiceContext, s: Session, b: Booking, user: User, config: BookingConfig) -> BookingView:
    now = ctx.now()
    role = "member" if b.member_id == user.id else "listener"
    pseudonym, listener_name = _names(s, b.member_id, b.listener_id)
    return BookingView(
        id=b.id,
        starts_at=b.starts_at,
        ends_at=b.ends_at,
        status=b.status,
        other_name=listener_name if role == "member" else pseudonym,
        other_id=b.listener_id if role == "member" else b.member_id,
        role=role,
        note=ctx.cipher.decrypt(b.note_ciphertext) if (ctx.cipher and b.note_ciphertext) else "",
        late_cancel=b.late_cancel,
        no_show=b.no_show,
        conversation_id=b.conversation_id,
        cancelled_by=b.cancelled_by,
        can_join=b.status == "booked" and _is_open(b, now, config),
        can_change=b.status == "booked" and not rules_of.is_late_change(b.starts_at, now, config.rules),
    )


def bookings_for(ctx: ServiceContext, user: User, config: BookingConfig, past_days: int = 30) -> list[BookingView]:
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        rows = s.scalars(
            select(Booking)
            .where(
                or_(Booking.member_id == user.id, Booking.listener_id == user.id),
                Booking.ends_at > now - timedelta(days=past_days),
            )
            .order_by(Booking.starts_at)
        ).all()
        return [_view(ctx, s, b, user, config) for b in rows]


def member_booking(ctx: ServiceContext, member: User, booking_id: str, config: BookingConfig) -> BookingView:
    """One of the member's own bookings that still holds its slot (to move it), or NotFound."""
    with ctx.uow() as uow:
        row = uow.session.get(Booking, booking_id)
        if row is None or row.member_id != member.id or row.status != "booked":
            raise NotFound("We couldn't find that booking.")
        return _view(ctx, uow.session, row, member, config)


def _is_open(booking: Booking, now: datetime, config: BookingConfig) -> bool:
    return booking.starts_at - timedelta(minutes=config.open_minutes_before) <= now < booking.ends_at


def listener_summary(ctx: ServiceContext, listener_id: str) -> str:
    with ctx.uow() as uow:
        return (
            uow.session.scalar(select(ListenerProfile.display_name).where(ListenerProfile.user_id == listener_id))
            or "Listener"
        )


def remember_member_zone(ctx: ServiceContext, member: User, timezone: str) -> str:
    """Keep the zone the member's browser reported (or they chose), so times and emails read right."""
    try:
        rules_of.zone(timezone)
    except RuleViolation:
        return zone_of(None).key
    with ctx.uow() as uow:
        profile = uow.session.get(MemberProfile, member.id)
        if profile is not None and profile.timezone != timezone:
            profile.timezone = timezone
    return timezone


def display_zone(ctx: ServiceContext, user: User) -> ZoneInfo:
    """The zone to show someone their bookings in: a member's remembered zone, a listener's own, else UTC."""
    with ctx.uow() as uow:
        if user.role == "member":
            return zone_of(_member_zone(uow.session, user.id))
        return zone_of(_listener_zone_name(uow.session, user.id))


def member_zone(ctx: ServiceContext, member: User) -> str | None:
    with ctx.uow() as uow:
        return _member_zone(uow.session, member.id)


# --- the session itself -------------------------------------------------------------------------------------------


class _AlreadyOpened(Exception):
    pass


def _open(ctx: ServiceContext, booking_id: str) -> tuple[str, set[str]] | None:
    """Create the booking's conversation once, whoever (or whichever process) gets there first."""
    with ctx.uow() as uow:
        s = uow.session
        booking = s.get(Booking, booking_id)
        if booking is None or booking.status != "booked":
            return None
        if booking.conversation_id is not None:
            return booking.conversation_id, set()
        conversation = Conversation(
            member_id=booking.member_id, listener_id=booking.listener_id, request_id=None, started_at=ctx.now()
        )
        s.add(conversation)
        s.flush()
        pseudonym, listener_name = _names(s, booking.member_id, booking.listener_id)
        conversations.add_notice(
            ctx, s, conversation.id, f"Your booked session is open. {listener_name} and {pseudonym}, welcome."
        )
        warning = conversations.budget_notice(s, booking.member_id)
        if warning:
            conversations.add_notice(ctx, s, conversation.id, warning)
        claimed = s.execute(
            update(Booking)
            .where(Booking.id == booking_id, Booking.conversation_id.is_(None))
            .values(conversation_id=conversation.id)
        ).rowcount
        if claimed != 1:
            raise _AlreadyOpened
        assert ctx.cipher is not None
        for user_id, other in ((booking.member_id, listener_name), (booking.listener_id, pseudonym)):
            notifications.queue(
                s,
                ctx.cipher,
                user_id=user_id,
                kind="session_open",
                booking_id=booking.id,
                subject=f"Your session with {other} is open",
                body=f"Your booked session with {other} is open now.",
                link=f"/conversations/{conversation.id}",
                send_after=ctx.now(),
                email=False,
            )
        return conversation.id, {booking.member_id, booking.listener_id}


def join(ctx: ServiceContext, user: User, booking_id: str, config: BookingConfig) -> str:
    """The conversation of a booked session, opened when either party comes in from a few minutes before."""
    with ctx.uow() as uow:
        booking, _ = _party_booking(uow.session, user, booking_id)
        if booking.status != "booked":
            raise Conflict("This booking is no longer active.")
        if not _is_open(booking, ctx.now(), config):
            if ctx.now() >= booking.ends_at:
                raise Conflict("This session's time has passed.")
            raise Conflict(f"The session opens {config.open_minutes_before} minutes before it starts. See you then.")
        if booking.conversation_id:
            return booking.conversation_id
    try:
        opened = _open(ctx, booking_id)
    except _AlreadyOpened:
        opened = _open(ctx, booking_id)
    if opened is None:
        raise Conflict("This booking is no longer active.")
    return opened[0]


def _came(conversation: Conversation, role: str, senders: set[str]) -> bool:
    """A party came if they wrote anything or their page read the conversation (read receipts)."""
    if role == "member":
        return conversation.member_id in senders or conversation.member_last_read_seq > 0
    return conversation.listener_id in senders or conversation.listener_last_read_seq > 0


def booking_tick(ctx: ServiceContext, config: BookingConfig) -> set[str]:
    """Open sessions that are due, mark no-shows and finished sessions. Returns the users to poke."""
    now = ctx.now()
    poke: set[str] = set()
    with ctx.uow() as uow:
        due = uow.session.scalars(
            select(Booking.id).where(
                Booking.status == "booked",
                Booking.conversation_id.is_(None),
                Booking.starts_at <= now + timedelta(minutes=config.open_minutes_before),
                Booking.ends_at > now,
            )
        ).all()
    for booking_id in due:
        try:
            opened = _open(ctx, booking_id)
        except _AlreadyOpened:
            continue
        if opened:
            poke |= opened[1]
    no_show_before = now - timedelta(minutes=config.no_show_minutes)
    with ctx.uow() as uow:
        s = uow.session
        started = s.scalars(
            select(Booking).where(Booking.status == "booked", Booking.starts_at <= no_show_before)
        ).all()
        for booking in started:
            conversation = s.get(Conversation, booking.conversation_id) if booking.conversation_id else None
            senders = (
                set(
                    s.scalars(
                        select(ConversationEvent.sender_id).where(
                            ConversationEvent.conversation_id == booking.conversation_id,
                            ConversationEvent.kind == "message",
                        )
                    )
                )
                if conversation
                else set()
            )
            member_came = conversation is not None and _came(conversation, "member", senders)
            listener_came = conversation is not None and _came(conversation, "listener", senders)
            if member_came and listener_came:
                if now >= booking.ends_at or (conversation is not None and conversation.status == "ended"):
                    booking.status = "done"
                continue
            missing = "both" if not (member_came or listener_came) else ("member" if listener_came else "listener")
            # Every process runs this tick: the conditional update lets exactly one of them act on a no-show.
            claimed = s.execute(
                update(Booking)
                .where(Booking.id == booking.id, Booking.status == "booked")
                .values(status="no_show", no_show=missing, slot_key=None)
                .execution_options(synchronize_session="fetch")
            ).rowcount
            if claimed != 1:
                continue
            pseudonym, listener_name = _names(s, booking.member_id, booking.listener_id)
            if conversation is not None and conversation.status == "active":
                absent = {"member": pseudonym, "listener": listener_name, "both": "Nobody"}[missing]
                conversations.add_notice(
                    ctx,
                    s,
                    conversation.id,
                    f"{absent} didn't join within {config.no_show_minutes} minutes, "
                    "so this booked session has been closed.",
                )
                conversations.close(ctx, s, conversation, ended_by="no_show", sender_id=None, charge=False)
            assert ctx.cipher is not None
            if missing == "listener":
                notifications.queue(
                    s,
                    ctx.cipher,
                    user_id=booking.member_id,
                    kind="no_show",
                    booking_id=booking.id,
                    subject=f"{listener_name} couldn't make your session",
                    body=f"We're sorry: {listener_name} didn't join your booked session. You can talk now with "
                    "someone else who's been there, or book another time.",
                    link="/home",
                    send_after=now,
                )
            elif missing == "member":
                notifications.queue(
                    s,
                    ctx.cipher,
                    user_id=booking.listener_id,
                    kind="no_show",
                    booking_id=booking.id,
                    subject=f"{pseudonym} didn't join the booked session",
                    body=f"{pseudonym} didn't join. Thank you for being there; the session has been closed.",
                    link="/bookings",
                    send_after=now,
                    email=False,
                )
            poke |= {booking.member_id, booking.listener_id}
    return poke


async def run_scheduler(
    ctx: ServiceContext,
    config: BookingConfig,
    mailer: Mailer | None,
    base_url: str,
    interval: float,
    stop: asyncio.Event,
) -> None:
    """Every ``interval`` seconds: open due sessions, mark no-shows, email due notices."""
    from sameboat.services.dispatch import poke_users

    while not stop.is_set():
        try:
            poke = await asyncio.to_thread(booking_tick, ctx, config)
            if poke:
                await poke_users(ctx, poke, "bookings")
            if mailer is not None:
                await asyncio.to_thread(notifications.send_due_emails, ctx, mailer, base_url)
        except Exception:  # noqa: BLE001 - one bad run must not stop reminders; the next one retries
            log.exception("booking/notification tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
