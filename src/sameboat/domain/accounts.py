"""People, roles and the rules about them. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    MEMBER = "member"
    LISTENER = "listener"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SPONSOR_ADMIN = "sponsor_admin"


class ListenerStatus(StrEnum):
    APPLICANT = "applicant"
    APPROVED = "approved"
    PAUSED = "paused"
    SUSPENDED = "suspended"


# Who may move a listener from one status to another is decided by permissions; this table says which
# moves make sense at all. A suspended listener must be reviewed (back to applicant) before approval.
LISTENER_TRANSITIONS: dict[ListenerStatus, frozenset[ListenerStatus]] = {
    ListenerStatus.APPLICANT: frozenset({ListenerStatus.APPROVED, ListenerStatus.SUSPENDED}),
    ListenerStatus.APPROVED: frozenset({ListenerStatus.PAUSED, ListenerStatus.SUSPENDED}),
    ListenerStatus.PAUSED: frozenset({ListenerStatus.APPROVED, ListenerStatus.SUSPENDED}),
    ListenerStatus.SUSPENDED: frozenset({ListenerStatus.APPLICANT}),
}

GENDERS = ("woman", "man", "non-binary")
AGE_RANGES = ("18-29", "30-44", "45-59", "60+")
# Features a sponsor can switch on for its people.
SPONSOR_FEATURES = ("chat", "voice", "booking", "resources")

EMAIL_MAX = 254
PASSWORD_MIN = 10
PASSWORD_MAX = 256
PSEUDONYM_PATTERN = re.compile(r"^[\w][\w .'-]{1,30}[\w.]$", re.UNICODE)
ACCESS_CODE_PATTERN = re.compile(r"^[A-Z0-9-]{4,40}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}$")


class RuleViolation(ValueError):
    """A rule about the input was broken; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not email or len(email) > EMAIL_MAX or "@" not in email or email.startswith("@") or email.endswith("@"):
        raise RuleViolation("email", "Please enter a valid email address.")
    return email


def check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise RuleViolation("password", f"Please use a password of at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        raise RuleViolation("password", f"Please use a password of at most {PASSWORD_MAX} characters.")


def check_pseudonym(pseudonym: str) -> str:
    pseudonym = " ".join(pseudonym.split())
    if not PSEUDONYM_PATTERN.match(pseudonym):
        raise RuleViolation(
            "pseudonym",
            "Choose a name of 3 to 32 letters, numbers, spaces or . ' - (it does not need to be your real name).",
        )
    return pseudonym


def normalise_access_code(code: str) -> str:
    code = code.strip().upper()
    if not ACCESS_CODE_PATTERN.match(code):
        raise RuleViolation("access_code", "That access code doesn't look right. Check it and try again.")
    return code


def check_languages(languages: list[str]) -> list[str]:
    cleaned = []
    for lang in languages:
        lang = lang.strip().lower()
        if not LANGUAGE_PATTERN.match(lang):
            raise RuleViolation("languages", f"{lang!r} is not a language code like 'en' or 'es'.")
        if lang not in cleaned:
            cleaned.append(lang)
    if len(cleaned) > 10:
        raise RuleViolation("languages", "Please choose at most 10 languages.")
    return cleaned


@dataclass(frozen=True)
class MemberPreferences:
    """What a member would like in a listener. ``None`` means no preference."""

    listener_gender: str | None = None
    listener_age_range: str | None = None
    listener_veteran: bool | None = None

    def __post_init__(self) -> None:
        if self.listener_gender is not None and self.listener_gender not in GENDERS:
            raise RuleViolation("listener_gender", f"Listener gender must be one of {', '.join(GENDERS)}.")
        if self.listener_age_range is not None and self.listener_age_range not in AGE_RANGES:
            raise RuleViolation("listener_age_range", f"Age range must be one of {', '.join(AGE_RANGES)}.")

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class AccessCodeState:
    code: str
    expires_at: datetime | None
    seat_limit: int | None
    seats_used: int
    sponsor_active: bool = True


def check_access_code_usable(state: AccessCodeState, now: datetime) -> None:
    """Raise a RuleViolation that says why a member cannot join with this code now."""
    if not state.sponsor_active:
        raise RuleViolation("access_code", "This access code is no longer active. Ask your organisation for a new one.")
    if state.expires_at is not None and now >= state.expires_at:
        raise RuleViolation("access_code", "This access code has expired. Ask your organisation for a new one.")
    if state.seat_limit is not None and state.seats_used >= state.seat_limit:
        raise RuleViolation("access_code", "All places for this access code are taken. Ask your organisation for more.")


def check_listener_transition(current: ListenerStatus, target: ListenerStatus) -> None:
    if target == current:
        return
    if target not in LISTENER_TRANSITIONS[current]:
        raise RuleViolation("status", f"A listener who is {current.value} cannot be moved to {target.value}.")
