"""Settings from environment variables with the ``SAMEBOAT_`` prefix."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-this-is-not-a-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAMEBOAT_", env_file=None, extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    secret_key: str = DEFAULT_SECRET
    database_url: str = Field(default="sqlite:///./var/sameboat.sqlite3")
    redis_url: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    # Members may join without a sponsor's access code only when the deployment allows it.
    open_signup: bool = False
    # Cookie sessions and API tokens.
    session_days: int = 14
    api_token_days: int = 30
    # Talk now: how often the dispatcher plans offers (0 turns the background dispatcher off, e.g. in tests),
    # how long a listener has to answer, the break after each conversation, and when a waiting member is
    # offered other options.
    dispatch_interval_seconds: float = 1.0
    #: Every this many seconds, long-lived objects are moved out of the garbage collector's way (0: off);
    #: see web/collector.py.
    gc_freeze_seconds: float = 5.0
    offer_timeout_seconds: int = 30
    break_between_sessions_minutes: float = 1.0
    offer_alternatives_after_minutes: float = 5.0
    # A new request waits up to this long for a better-matched listener who is free or whose break ends
    # within it (score within the margin of theirs); never for one mid-conversation (docs/dispatch.md).
    dispatch_hold_for_match_seconds: float = 45.0
    dispatch_hold_margin: float = 0.2
    # Safety alerts: re-notify the assigned supervisor, then escalate to the next, if nobody acknowledges.
    alert_renotify_seconds: int = 60
    alert_escalate_seconds: int = 120
    # Risk assessment of chat messages runs in a worker process (so it never competes with the chat path for
    # the GIL), or in a thread of the server process.
    risk_worker: Literal["process", "thread"] = "process"
    # Fernet keys for data at rest, newest first (comma-separated); derived from secret_key when unset.
    data_keys: str | None = None
    # Country whose crisis resources are shown by default (see domain/safety/resources).
    default_country: str = "US"
    # Booked sessions: slot length, how far ahead, the notice period for changes, reminders (minutes before,
    # comma-separated), when the conversation opens, and when a party who has not come counts as a no-show.
    booking_slot_minutes: int = 60
    booking_horizon_days: int = 28
    booking_notice_hours: float = 12.0
    booking_reminders_minutes: str = "1440,60"
    booking_open_minutes_before: int = 10
    booking_no_show_minutes: int = 15
    # Email (booking confirmations with an .ics invite, reminders, check-ins). No host: in-app notices only.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "Sameboat <no-reply@localhost>"
    # How often the notification worker sends due emails, opens booked sessions and marks no-shows.
    notification_interval_seconds: float = 15.0
    # Voice calls: ICE servers handed to the browsers of a conversation's parties (comma-separated URLs). Empty by
    # default: calls on one machine or LAN need none. TURN credentials are minted per call the coturn REST-API way
    # from the shared secret and are valid for turn_ttl_seconds (needed to start a relay; a relay already running
    # carries on past the expiry). See docs/voice.md.
    stun_urls: str = ""
    turn_urls: str = ""
    turn_secret: str | None = None
    turn_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    # Send all call audio through TURN: neither person's browser learns the other's IP address.
    turn_relay_only: bool = False

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and (self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32):
            raise ValueError(
                "SAMEBOAT_SECRET_KEY must be set to a random value of at least 32 characters in production "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self

    @model_validator(mode="after")
    def _turn_needs_its_secret(self) -> Settings:
        if self.turn_urls.strip() and not self.turn_secret:
            raise ValueError("SAMEBOAT_TURN_URLS is set but SAMEBOAT_TURN_SECRET is not (see docs/voice.md)")
        if self.turn_relay_only and not self.turn_urls.strip():
            raise ValueError("SAMEBOAT_TURN_RELAY_ONLY needs SAMEBOAT_TURN_URLS (see docs/voice.md)")
        return self

    @property
    def reminder_offsets_minutes(self) -> list[int]:
        return sorted({int(part) for part in self.booking_reminders_minutes.split(",") if part.strip()}, reverse=True)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1]
        return Path(path) if path and path != ":memory:" else None


@cache
def get_settings() -> Settings:
    return Settings()
