"""Small helpers to turn form fields into typed values, with errors a person understands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sameboat.domain.accounts import RuleViolation

FIELD_MAX = 4000


def text(data: dict[str, Any], key: str, max_length: int = FIELD_MAX) -> str:
    value = data.get(key, "")
    value = value[-1] if isinstance(value, list) else value
    value = str(value).strip()
    if len(value) > max_length:
        raise RuleViolation(key, f"This is too long: please keep it under {max_length} characters.")
    return value


def optional(data: dict[str, Any], key: str, max_length: int = 200) -> str | None:
    return text(data, key, max_length) or None


def optional_int(data: dict[str, Any], key: str) -> int | None:
    raw = text(data, key, 12)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise RuleViolation(key, "Please enter a whole number.") from None


def optional_bool(data: dict[str, Any], key: str) -> bool | None:
    raw = text(data, key, 5).lower()
    if raw in ("", "any"):
        return None
    if raw in ("yes", "true", "1", "on"):
        return True
    if raw in ("no", "false", "0"):
        return False
    raise RuleViolation(key, "Please choose yes, no or no preference.")


def optional_date(data: dict[str, Any], key: str) -> datetime | None:
    raw = text(data, key, 20)
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        raise RuleViolation(key, "Please enter a date like 2027-01-31.") from None
    # Codes are valid through the whole day given, in UTC.
    return day.replace(hour=23, minute=59, second=59, tzinfo=UTC)


def error_details(exc: Exception) -> tuple[str, str | None, int]:
    """(message, field, status) of a service error or rule violation, for re-showing a form."""
    message = getattr(exc, "detail", None) or getattr(exc, "message", None) or str(exc)
    return message, getattr(exc, "field", None), getattr(exc, "status", 422)


def kept_values(data: dict[str, Any]) -> dict[str, Any]:
    """What to put back into a form after an error (never the password)."""
    return {k: v for k, v in data.items() if "password" not in k}


def languages(data: dict[str, Any], key: str = "languages") -> list[str]:
    return text(data, key, 60).replace(",", " ").split()
