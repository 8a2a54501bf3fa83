"""Next steps: a small thing the member means to do before talking again, and when Sameboat checks in.

Pure rules: the words, and when the check-in falls (an injected ``now`` and the member's time zone).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sameboat.domain.accounts import RuleViolation

STEP_MAX = 200
OUTCOME_MAX = 1000
MAX_DAYS_AHEAD = 60
# A chosen date is checked in on at this local time (morning, not the middle of the night).
CHECK_IN_LOCAL_TIME = time(10, 0)
CHOICES = {"2d": timedelta(days=2), "1w": timedelta(days=7)}
STATUSES = ("open", "done", "partly", "not_yet")
ANSWERS = {"done": "Done", "partly": "Partly", "not_yet": "Not yet"}


def clean_step_text(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise RuleViolation("step", "Write the step in a few words, like 'call my sister this week'.")
    if len(text) > STEP_MAX:
        raise RuleViolation("step", f"Keep the step short: under {STEP_MAX} characters.")
    return text


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def check_in_time(choice: str, chosen_date: str, now: datetime, timezone: str | None = None) -> datetime:
    """When to check in: in 2 days, in a week, or on a chosen date (10:00 in the member's zone).

    The date must be after today and at most 60 days ahead; the result is an aware UTC datetime."""
    if choice in CHOICES:
        return now + CHOICES[choice]
    if choice != "date":
        raise RuleViolation("check_in", "Choose when we should check in: in 2 days, in a week, or a date.")
    try:
        day = date.fromisoformat(chosen_date.strip())
    except ValueError:
        raise RuleViolation("check_in_date", "Choose a check-in date, like 2026-12-01.") from None
    tz = zone(timezone)
    today = now.astimezone(tz).date()
    if day <= today:
        raise RuleViolation("check_in_date", "That date has already passed. Choose a day after today.")
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise RuleViolation("check_in_date", f"Choose a check-in within the next {MAX_DAYS_AHEAD} days.")
    return datetime.combine(day, CHECK_IN_LOCAL_TIME, tzinfo=tz).astimezone(UTC)


def clean_answer(status: str, outcome: str) -> tuple[str, str]:
    if status not in ANSWERS:
        raise RuleViolation("status", "Choose done, partly or not yet.")
    outcome = outcome.strip()
    if len(outcome) > OUTCOME_MAX:
        raise RuleViolation("outcome", f"Keep your note under {OUTCOME_MAX} characters.")
    return status, outcome
