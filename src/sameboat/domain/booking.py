"""Booked sessions: weekly availability in the listener's own time zone, turned into bookable UTC slots.

Pure code (no I/O, the clock passed in). Time zones come from the IANA database through ``zoneinfo``, so a
listener who is free "Mondays 18:00-20:00" in New York is free at 22:00 UTC in summer and 23:00 UTC in
winter. A local time that does not exist (the hour skipped when clocks go forward) is not offered; a local
time that happens twice (clocks go back) is offered once, at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sameboat.domain.accounts import RuleViolation

MINUTES_PER_DAY = 24 * 60
MAX_WINDOWS = 28
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, order=True)
class WeeklyWindow:
    weekday: int  # 0 = Monday
    start_minute: int  # minutes after local midnight
    end_minute: int

    @property
    def label(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {_hhmm(self.start_minute)}–{_hhmm(self.end_minute)}"


@dataclass(frozen=True)
class BookingRules:
    slot_minutes: int = 60
    notice_hours: float = 12.0  # cancelling or rescheduling later than this is "late"
    horizon_days: int = 28  # how far ahead members can book
    min_lead_minutes: int = 30  # no booking a slot that starts in the next half hour


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_hhmm(value: str, field: str) -> int:
    """'18:30' -> 1110. '24:00' is allowed as the end of a day."""
    try:
        hours, minutes = value.strip().split(":")
        total = int(hours) * 60 + int(minutes)
    except ValueError:
        raise RuleViolation(field, f"Use a time like 18:30 (got {value[:10]!r}).") from None
    if not 0 <= int(minutes) < 60 or not 0 <= total <= MINUTES_PER_DAY:
        raise RuleViolation(field, f"{value[:10]!r} is not a time of day.")
    return total


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleViolation(field, f"{name[:64]!r} is not a time zone we know (for example Europe/London).") from None


def validate_windows(windows: Iterable[WeeklyWindow], slot_minutes: int) -> list[WeeklyWindow]:
    """Sorted windows, or a RuleViolation that says which one to fix."""
    result = sorted(windows)
    if len(result) > MAX_WINDOWS:
        raise RuleViolation("windows", f"Up to {MAX_WINDOWS} time ranges a week, please.")
    for window in result:
        if not 0 <= window.weekday <= 6:
            raise RuleViolation("windows", "Choose a day of the week.")
        if not 0 <= window.start_minute < window.end_minute <= MINUTES_PER_DAY:
            raise RuleViolation("windows", f"{WEEKDAYS[window.weekday]}: the end must be after the start.")
        if window.end_minute - window.start_minute < slot_minutes:
            raise RuleViolation("windows", f"{window.label} is shorter than one session ({slot_minutes} minutes).")
    for before, after in zip(result, result[1:], strict=False):
        if before.weekday == after.weekday and after.start_minute < before.end_minute:
            raise RuleViolation("windows", f"{before.label} and {after.label} overlap.")
    return result


def _local_start(day: date, minute: int, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall-clock time, or None if that time does not exist on that day."""
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)  # fold=0: first occurrence
    as_utc = local.astimezone(UTC)
    if as_utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None  # skipped when the clocks went forward
    return as_utc


def slots_between(
    windows: Iterable[WeeklyWindow], tz: ZoneInfo, start: datetime, end: datetime, slot_minutes: int
) -> list[datetime]:
    """Every slot start (UTC) in [start, end) that lies inside a weekly window, in order."""
    windows = list(windows)
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    found: set[datetime] = set()
    day = first_day
    while day <= last_day:
        for window in windows:
            if window.weekday != day.weekday():
                continue
            minute = window.start_minute
            while minute + slot_minutes <= window.end_minute:
                instant = _local_start(day, minute, tz) if minute < MINUTES_PER_DAY else None
                if instant is not None and start <= instant < end:
                    found.add(instant)
                minute += slot_minutes
        day += timedelta(days=1)
    return sorted(found)


def is_offered(windows: Iterable[WeeklyWindow], tz: ZoneInfo, starts_at: datetime, slot_minutes: int) -> bool:
    return starts_at in slots_between(
        windows, tz, starts_at - timedelta(minutes=1), starts_at + timedelta(minutes=1), slot_minutes
    )


def check_start(starts_at: datetime, now: datetime, rules: BookingRules) -> None:
    """A slot in the past, too soon or too far ahead gets a clear reason."""
    if starts_at <= now:
        raise RuleViolation("starts_at", "That time has already passed. Please pick a time in the future.")
    if starts_at < now + timedelta(minutes=rules.min_lead_minutes):
        raise RuleViolation(
            "starts_at",
            f"That session starts in less than {rules.min_lead_minutes} minutes. For now, try Talk now instead.",
        )
    if starts_at > now + timedelta(days=rules.horizon_days):
        raise RuleViolation("starts_at", f"You can book up to {rules.horizon_days} days ahead.")


def is_late_change(starts_at: datetime, now: datetime, rules: BookingRules) -> bool:
    return starts_at - now < timedelta(hours=rules.notice_hours)


def slot_key(listener_id: str, starts_at: datetime) -> str:
    """Unique per listener and start while a booking holds the slot (the database enforces it)."""
    return f"{listener_id}:{starts_at.astimezone(UTC):%Y%m%dT%H%MZ}"


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where a local calendar day starts and ends (23 or 25 hours long on DST days)."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end
