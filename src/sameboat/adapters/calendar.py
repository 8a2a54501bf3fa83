"""iCalendar (RFC 5545) invites for booked sessions, written with the ``icalendar`` library."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event


def session_invite(
    *,
    uid: str,
    starts_at: datetime,
    ends_at: datetime,
    summary: str,
    description: str,
    url: str,
    stamp: datetime,
    sequence: int = 0,
    cancelled: bool = False,
) -> str:
    """One event in UTC (calendar apps show it in the reader's own zone). A cancellation reuses the uid
    with a higher sequence so calendars remove the event they already hold."""
    calendar = Calendar()
    calendar.add("prodid", "-//Sameboat//Peer support//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", starts_at.astimezone(UTC))
    event.add("dtend", ends_at.astimezone(UTC))
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", url)
    event.add("sequence", sequence)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical().decode()
