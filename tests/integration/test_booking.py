"""Booked sessions against the real databases, with a real SMTP server (aiosmtpd) receiving the emails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from sameboat.adapters.mail import SmtpMailer
from sameboat.adapters.storage.models import Block, Booking, Conversation, ListenerPresence, Notification
from sameboat.domain.accounts import RuleViolation
from sameboat.domain.booking import WeeklyWindow
from sameboat.services import booking, conversations, notifications
from sameboat.services.booking import BookingConfig
from sameboat.services.errors import Conflict, Forbidden, InvalidInput
from tests.factories import make_listener, make_member, make_sponsor

MONDAY = 0
CONFIG = BookingConfig()


@pytest.fixture
def people(services, clock):  # type: ignore[no-untyped-def]
    """A listener in New York free on Monday evenings, and two members (one in London)."""
    clock.now = datetime(2026, 10, 20, 12, tzinfo=UTC)  # a Tuesday, before both daylight-saving changes
    _, code = make_sponsor(services)
    member = make_member(services, code.code, pseudonym="Bluejay", email="bluejay@example.org")
    other = make_member(services, code.code, pseudonym="Nightowl", email="nightowl@example.org")
    listener = make_listener(services, name="Ana")
    booking.set_availability(services, listener, "America/New_York", [WeeklyWindow(MONDAY, 18 * 60, 20 * 60)], CONFIG)
    booking.remember_member_zone(services, member, "Europe/London")
    return member, other, listener


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def ics_of(message: EmailMessage) -> Calendar:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return Calendar.from_ical(part.get_payload(decode=True))
    raise AssertionError("no .ics attached")


def test_slots_follow_the_listeners_clock_across_the_daylight_saving_change(services, people) -> None:
    member, _, listener = people
    slots = booking.open_slots(services, member, listener.id, CONFIG)
    # 18:00 and 19:00 in New York: 22:00/23:00 UTC while on EDT, 23:00/00:00 UTC from 2 November (EST).
    assert slots[:4] == [utc(2026, 10, 26, 22), utc(2026, 10, 26, 23), utc(2026, 11, 2, 23), utc(2026, 11, 3, 0)]
    assert all(slot.astimezone(booking.zone_of("America/New_York")).hour in (18, 19) for slot in slots)


def test_booking_emails_a_valid_invite_and_the_reminder_arrives_on_time(services, people, smtp, clock) -> None:
    member, _, listener = people
    inbox, mailer = smtp
    made = booking.book(services, member, listener.id, utc(2026, 11, 2, 23), "co-parenting", CONFIG)
    assert notifications.send_due_emails(services, mailer) == 2  # a confirmation each, nothing else due yet

    confirmation = inbox.to("bluejay@example.org")[0]
    assert "Booked: Sameboat session with Ana" in confirmation["Subject"]
    body = confirmation.get_body(preferencelist=("plain",)).get_content()
    # The member in London reads the time in London (GMT in November): 23:00, the listener's 18:00 EST.
    assert "Monday 02 November 2026 at 23:00 (GMT)" in body
    assert "co-parenting" not in body  # what the session is about never goes into email
    event = ics_of(confirmation).walk("VEVENT")[0]
    assert event.decoded("dtstart") == utc(2026, 11, 2, 23)
    assert event.decoded("dtend") == utc(2026, 11, 3, 0)
    assert str(event["uid"]) == f"booking-{made.id}@sameboat"
    assert str(event["status"]) == "CONFIRMED"
    listener_mail = inbox.to(listener.email)[0]
    assert "Monday 02 November 2026 at 18:00 (EST)" in listener_mail.get_body(preferencelist=("plain",)).get_content()

    # Nothing more until the day before; then exactly the 24-hour reminder, once.
    clock.now = utc(2026, 11, 1, 22, 59)
    assert notifications.send_due_emails(services, mailer) == 0
    clock.now = utc(2026, 11, 1, 23, 0)
    assert notifications.send_due_emails(services, mailer) == 2
    assert notifications.send_due_emails(services, mailer) == 0
    reminder = inbox.to("bluejay@example.org")[-1]
    assert reminder["Subject"] == "Reminder: Sameboat session with Ana, tomorrow"
    clock.now = utc(2026, 11, 2, 22, 0)
    assert notifications.send_due_emails(services, mailer) == 2
    assert inbox.to("bluejay@example.org")[-1]["Subject"].endswith("in 1 hour")
    # The same notices are in the app.
    assert [n.kind for n in notifications.inbox(services, member)][:3] == [
        "booking_reminder",
        "booking_reminder",
        "booking_confirmed",
    ]


def test_a_failed_send_is_kept_and_retried(services, people, smtp) -> None:
    member, _, listener = people
    inbox, mailer = smtp
    booking.book(services, member, listener.id, utc(2026, 11, 2, 23), "", CONFIG)
    nowhere = SmtpMailer(host="127.0.0.1", port=1, timeout_seconds=2)
    assert notifications.send_due_emails(services, nowhere) == 0
    with services.uow() as uow:
        assert uow.session.scalar(select(func.count()).where(Notification.email_error != "")) == 2
    assert notifications.send_due_emails(services, mailer) == 2
    assert len(inbox.messages) == 2


def test_booking_conflicts_get_clear_errors_and_write_nothing(services, people, clock) -> None:
    member, other, listener = people
    booking.book(services, member, listener.id, utc(2026, 11, 2, 23), "", CONFIG)

    def count() -> int:
        with services.uow() as uow:
            return uow.session.scalar(select(func.count()).select_from(Booking)) or 0

    with pytest.raises(Conflict, match="just booked that time"):
        booking.book(services, other, listener.id, utc(2026, 11, 2, 23), "", CONFIG)
    with pytest.raises(RuleViolation, match="already passed"):
        booking.book(services, other, listener.id, utc(2026, 10, 19, 22), "", CONFIG)
    with pytest.raises(InvalidInput, match="isn't available at that time"):
        booking.book(services, other, listener.id, utc(2026, 11, 2, 20), "", CONFIG)
    with pytest.raises(Conflict, match="already have a session booked"):
        second = make_listener(services, name="Sol")
        booking.set_availability(services, second, "UTC", [WeeklyWindow(MONDAY, 22 * 60, 24 * 60)], CONFIG)
        booking.book(services, member, second.id, utc(2026, 11, 2, 23), "", CONFIG)
    with services.uow() as uow:
        uow.session.add(ListenerPresence(listener_id=listener.id, state="offline", daily_limit=1))
    with pytest.raises(Conflict, match="fully booked that day"):
        booking.book(services, other, listener.id, utc(2026, 11, 3, 0), "", CONFIG)  # 19:00 the same local day
    assert count() == 1
    # The open slots agree: the member sees neither the taken slot nor the full day.
    assert utc(2026, 11, 3, 0) not in booking.open_slots(services, other, listener.id, CONFIG)
    with services.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Notification)) == 2 + 2 * 2  # only the 1st


def test_a_block_holds_for_booking(services, people) -> None:
    member, _, listener = people
    with services.uow() as uow:
        uow.session.add(Block(blocker_id=listener.id, blocked_id=member.id))
    with pytest.raises(Forbidden):
        booking.open_slots(services, member, listener.id, CONFIG)
    with pytest.raises(Forbidden):
        booking.book(services, member, listener.id, utc(2026, 11, 2, 23), "", CONFIG)


def test_cancel_and_reschedule_respect_the_notice_period(services, people, smtp, clock) -> None:
    member, other, listener = people
    inbox, mailer = smtp
    first = booking.book(services, member, listener.id, utc(2026, 10, 26, 22), "", CONFIG)
    moved = booking.reschedule(services, member, first.id, utc(2026, 11, 2, 23), CONFIG)
    assert moved.rescheduled_from == first.id
    # The old slot is free again for someone else; the new one is held.
    taken_again = booking.book(services, other, listener.id, utc(2026, 10, 26, 22), "", CONFIG)
    assert taken_again.status == "booked"

    clock.now = utc(2026, 11, 2, 15)  # 8 hours before: inside the 12-hour notice period
    with pytest.raises(Conflict, match="can't be moved"):
        booking.reschedule(services, member, moved.id, utc(2026, 11, 9, 23), CONFIG)
    cancelled = booking.cancel(services, member, moved.id, CONFIG)
    assert cancelled.status == "cancelled" and cancelled.late_cancel and cancelled.cancelled_by == "member"
    with pytest.raises(Conflict, match="already been cancelled"):
        booking.cancel(services, member, moved.id, CONFIG)
    # The listener hears about it, with a CANCEL invite; no reminder for the cancelled session goes out.
    notifications.send_due_emails(services, mailer)
    clock.now = utc(2026, 11, 2, 22)
    notifications.send_due_emails(services, mailer)
    subjects = [m["Subject"] for m in inbox.to(listener.email)]
    assert "Cancelled: Sameboat session with Bluejay" in subjects
    assert not any("Reminder" in s and "Bluejay" in s for s in subjects)
    cancel_mail = next(m for m in inbox.to(listener.email) if m["Subject"].startswith("Cancelled"))
    assert str(ics_of(cancel_mail)["method"]) == "CANCEL"


def test_the_session_opens_for_both_and_no_shows_are_recorded(services, people, clock) -> None:
    member, other, listener = people
    held = booking.book(services, member, listener.id, utc(2026, 11, 2, 23), "", CONFIG)
    missed = booking.book(services, other, listener.id, utc(2026, 11, 3, 0), "", CONFIG)
    clock.now = utc(2026, 11, 2, 22, 40)
    with pytest.raises(Conflict, match="opens 10 minutes before"):
        booking.join(services, member, held.id, CONFIG)
    clock.now = utc(2026, 11, 2, 22, 51)
    poked = booking.booking_tick(services, CONFIG)
    assert poked == {member.id, listener.id}
    conversation_id = booking.join(services, member, held.id, CONFIG)
    assert booking.join(services, listener, held.id, CONFIG) == conversation_id  # one conversation for both
    conversations.mark_seen(services, conversation_id, member, 1, "read")
    conversations.mark_seen(services, conversation_id, listener, 1, "read")
    clock.now = utc(2026, 11, 2, 23, 20)
    booking.booking_tick(services, CONFIG)
    with services.uow() as uow:  # both came: not a no-show, and still going
        first = uow.session.get(Booking, held.id)
        assert first.status == "booked" and first.no_show is None
    # Past its end the attended session counts as done; nobody came to the next one, so it is closed.
    clock.now = utc(2026, 11, 3, 0, 16)
    booking.booking_tick(services, CONFIG)
    with services.uow() as uow:
        assert uow.session.get(Booking, held.id).status == "done"
        second = uow.session.get(Booking, missed.id)
        assert second.status == "no_show" and second.no_show == "both" and second.slot_key is None
        closed = uow.session.get(Conversation, second.conversation_id)
        assert closed.status == "ended" and closed.ended_by == "no_show" and closed.minutes_charged == 0


def test_a_listener_with_a_session_about_to_start_gets_no_talk_now_offers(services, people, clock) -> None:
    from sameboat.domain.dispatch import DispatchConfig
    from sameboat.services import dispatch, presence

    member, other, listener = people
    booking.book(services, member, listener.id, utc(2026, 11, 2, 23), "", CONFIG)
    presence.set_state(services, listener, "online")
    config = DispatchConfig(offer_timeout=timedelta(seconds=30), break_between_sessions=timedelta(0))
    clock.now = utc(2026, 11, 2, 22, 30)  # 30 minutes before the booked session
    presence.heartbeat(services, listener.id)
    dispatch.request_support(services, other, "My wife and I are divorcing and the kids are caught in it.", [])
    assert dispatch.dispatch_tick(services, config).offers_sent == 0
    clock.now = utc(2026, 11, 3, 0, 1)  # after it ends, offers reach them again
    presence.heartbeat(services, listener.id)
    assert dispatch.dispatch_tick(services, config).offers_sent == 1
