"""Composition root: picks adapters from settings (SQLite by default; PostgreSQL when configured)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from sameboat.adapters.crypto import FieldCipher
from sameboat.adapters.embedding import default_embedder
from sameboat.adapters.passwords import Argon2PasswordHasher
from sameboat.adapters.realtime import InMemoryHub, RedisHub
from sameboat.adapters.storage.database import make_engine, make_session_factory
from sameboat.domain.dispatch import DispatchConfig
from sameboat.services.ports import Hub
from sameboat.services.unit_of_work import Clock, ServiceContext, system_clock
from sameboat.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    services: ServiceContext
    dispatch_config: DispatchConfig

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(settings: Settings, clock: Clock = system_clock) -> Runtime:
    engine = make_engine(settings.database_url)
    hub: Hub = RedisHub(settings.redis_url) if settings.redis_url else InMemoryHub()
    services = ServiceContext(
        session_factory=make_session_factory(engine),
        hasher=Argon2PasswordHasher(),
        clock=clock,
        cipher=FieldCipher.from_settings(settings.secret_key, settings.data_keys),
        hub=hub,
        embedder=default_embedder(),
        open_signup=settings.open_signup,
        session_days=settings.session_days,
        api_token_days=settings.api_token_days,
    )
    dispatch_config = DispatchConfig(
        offer_timeout=timedelta(seconds=settings.offer_timeout_seconds),
        break_between_sessions=timedelta(minutes=settings.break_between_sessions_minutes),
        offer_alternatives_after=timedelta(minutes=settings.offer_alternatives_after_minutes),
    )
    return Runtime(settings=settings, engine=engine, services=services, dispatch_config=dispatch_config)
