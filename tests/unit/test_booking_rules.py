"""Weekly availability in the listener's zone becomes UTC slots, right across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sameboat.domain.accounts import RuleViolation
from sameboat.domain.booking import (
    BookingRules,
    WeeklyWindow,
    check_start,
    is_late_change,
    is_offered,
    local_day_bounds,
    parse_hhmm,
    slot_key,
    slots_between,
    validate_windows,
    zone,
)

NEW_YORK = ZoneInfo("America/New_York")
MONDAY, SUNDAY = 0, 6


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_monday_evenings_in_new_york_move_by_an_hour_in_utc_when_the_clocks_go_back() -> None:
    windows = [WeeklyWindow(MONDAY, 18 * 60, 20 * 60)]
    slots = slots_between(windows, NEW_YORK, utc(2026, 10, 20), utc(2026, 11, 10), 60)
    assert (
        slots
        == [
            utc(2026, 10, 26, 22),
            utc(2026, 10, 26, 23),  # EDT (UTC-4)
            utc(2026, 11, 2, 23),
            utc(2026, 11, 3, 0),  # EST (UTC-5) after 1 November
            utc(2026, 11, 9, 23),
            utc(2026, 11, 10, 0),
        ][:5]
    )  # the range ends at 10 November 00:00 UTC, exclusive


def test_an_hour_that_happens_twice_is_offered_once_and_a_skipped_hour_not_at_all() -> None:
    night = [WeeklyWindow(SUNDAY, 60, 3 * 60)]  # Sundays 01:00-03:00 local
    autumn = slots_between(night, NEW_YORK, utc(2026, 11, 1), utc(2026, 11, 2), 60)
    # 01:00 EDT (05:00Z) is offered once although 01:00 happens again at 06:00Z; then 02:00 EST (07:00Z).
    assert autumn == [utc(2026, 11, 1, 5), utc(2026, 11, 1, 7)]
    spring = slots_between(night, NEW_YORK, utc(2026, 3, 8), utc(2026, 3, 9), 60)
    # On 8 March 2026 02:00 does not exist in New York: only 01:00 EST (06:00Z) is offered.
    assert spring == [utc(2026, 3, 8, 6)]


def test_a_local_day_is_23_or_25_hours_long_on_the_days_the_clocks_change() -> None:
    start, end = local_day_bounds(datetime(2026, 11, 1).date(), NEW_YORK)
    assert end - start == timedelta(hours=25)
    start, end = local_day_bounds(datetime(2026, 3, 8).date(), NEW_YORK)
    assert end - start == timedelta(hours=23)


def test_is_offered_only_inside_a_window_and_on_the_slot_grid() -> None:
    windows = [WeeklyWindow(MONDAY, 18 * 60, 20 * 60)]
    assert is_offered(windows, NEW_YORK, utc(2026, 11, 2, 23), 60)
    assert not is_offered(windows, NEW_YORK, utc(2026, 11, 2, 22), 60)  # 17:00 EST: before the window
    assert not is_offered(windows, NEW_YORK, utc(2026, 11, 2, 23, 30), 60)  # off the grid
    assert not is_offered(windows, NEW_YORK, utc(2026, 11, 3, 1), 60)  # 20:00: the window has ended


def test_windows_are_checked_with_reasons() -> None:
    assert validate_windows([WeeklyWindow(2, 600, 720), WeeklyWindow(0, 60, 180)], 60)[0].weekday == 0
    with pytest.raises(RuleViolation, match="end must be after"):
        validate_windows([WeeklyWindow(0, 600, 600)], 60)
    with pytest.raises(RuleViolation, match="overlap"):
        validate_windows([WeeklyWindow(0, 600, 720), WeeklyWindow(0, 660, 780)], 60)
    with pytest.raises(RuleViolation, match="shorter than one session"):
        validate_windows([WeeklyWindow(0, 600, 630)], 60)
    with pytest.raises(RuleViolation, match="18:30"):
        parse_hhmm("half six", "start")
    with pytest.raises(RuleViolation, match="not a time of day"):
        parse_hhmm("25:00", "start")
    assert parse_hhmm("24:00", "end") == 1440
    with pytest.raises(RuleViolation, match="time zone"):
        zone("Mars/Olympus_Mons")


def test_start_rules_past_too_soon_too_far_and_late_changes() -> None:
    rules = BookingRules(notice_hours=12, horizon_days=28, min_lead_minutes=30)
    now = utc(2026, 11, 25, 12)
    with pytest.raises(RuleViolation, match="already passed"):
        check_start(now - timedelta(hours=1), now, rules)
    with pytest.raises(RuleViolation, match="less than 30 minutes"):
        check_start(now + timedelta(minutes=10), now, rules)
    with pytest.raises(RuleViolation, match="28 days ahead"):
        check_start(now + timedelta(days=29), now, rules)
    check_start(now + timedelta(days=1), now, rules)
    assert is_late_change(now + timedelta(hours=11), now, rules)
    assert not is_late_change(now + timedelta(hours=13), now, rules)
    assert slot_key("abc", utc(2026, 11, 2, 23)) == "abc:20261102T2300Z"
