"""When a next step's check-in falls, and what counts as a step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sameboat.domain.accounts import RuleViolation
from sameboat.domain.next_steps import check_in_time, clean_answer, clean_step_text

NOW = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)


def test_relative_choices() -> None:
    assert check_in_time("2d", "", NOW) == NOW + timedelta(days=2)
    assert check_in_time("1w", "", NOW) == NOW + timedelta(days=7)


def test_a_chosen_date_is_checked_in_at_ten_in_the_members_zone() -> None:
    assert check_in_time("date", "2026-12-01", NOW, "America/New_York") == datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert check_in_time("date", "2026-12-01", NOW, "Not/AZone") == datetime(2026, 12, 1, 10, tzinfo=UTC)


def test_today_depends_on_the_members_zone() -> None:
    # 23:30 UTC on the 25th is already the 26th in Tokyo: the 26th has become "today" there.
    assert check_in_time("date", "2026-11-26", NOW, "UTC").day == 26
    with pytest.raises(RuleViolation, match="passed"):
        check_in_time("date", "2026-11-26", NOW, "Asia/Tokyo")


@pytest.mark.parametrize(
    ("choice", "day", "message"),
    [
        ("date", "2026-11-24", "passed"),
        ("date", "2026-11-25", "passed"),
        ("date", "2027-01-25", "60 days"),
        ("date", "25/12/2026", "Choose a check-in date"),
        ("later", "", "Choose when"),
    ],
)
def test_bad_check_ins(choice: str, day: str, message: str) -> None:
    with pytest.raises(RuleViolation, match=message):
        check_in_time(choice, day, NOW)


def test_the_last_allowed_day_is_sixty_days_ahead() -> None:
    assert check_in_time("date", "2027-01-24", NOW).date().isoformat() == "2027-01-24"


def test_step_text_and_answers() -> None:
    assert clean_step_text("  call   my sister\n this week ") == "call my sister this week"
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(RuleViolation):
            clean_step_text(bad)
    assert clean_answer("partly", "  we texted ") == ("partly", "we texted")
    with pytest.raises(RuleViolation):
        clean_answer("open", "")
    with pytest.raises(RuleViolation):
        clean_answer("done", "x" * 1001)
