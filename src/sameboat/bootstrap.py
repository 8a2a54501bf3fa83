"""Composition root: picks adapters from settings (SQLite by default; PostgreSQL when configured)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from sameboat.adapters.passwords import Argon2PasswordHasher
from sameboat.adapters.storage.database import make_engine, make_session_factory
from sameboat.services.unit_of_work import Clock, ServiceContext, system_clock
from sameboat.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    services: ServiceContext

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(settings: Settings, clock: Clock = system_clock) -> Runtime:
    engine = make_engine(settings.database_url)
    services = ServiceContext(
        session_factory=make_session_factory(engine),
        hasher=Argon2PasswordHasher(),
        clock=clock,
        open_signup=settings.open_signup,
        session_days=settings.session_days,
        api_token_days=settings.api_token_days,
    )
    return Runtime(settings=settings, engine=engine, services=services)
