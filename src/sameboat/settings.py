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

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and (self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32):
            raise ValueError(
                "SAMEBOAT_SECRET_KEY must be set to a random value of at least 32 characters in production "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self

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
