"""Composition root: picks adapters from settings (SQLite by default; PostgreSQL when configured)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import Engine

from sameboat.adapters.crypto import FieldCipher
from sameboat.adapters.embedding import default_embedder
from sameboat.adapters.passwords import Argon2PasswordHasher
from sameboat.adapters.realtime import InMemoryHub, RedisHub
from sameboat.adapters.storage.database import make_engine, make_session_factory
from sameboat.domain.dispatch import DispatchConfig
from sameboat.domain.safety.escalation import EscalationPolicy
from sameboat.domain.safety.risk import RiskAssessor
from sameboat.services.ports import Hub
from sameboat.services.safety import RiskQueue, route_member_message
from sameboat.services.unit_of_work import Clock, ServiceContext, system_clock
from sameboat.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    services: ServiceContext
    dispatch_config: DispatchConfig
    escalation: EscalationPolicy
    risk_queue: RiskQueue

    def close(self) -> None:
        self.engine.dispose()


@cache
def default_assessor() -> RiskAssessor:
    """The process-wide risk engine on the shared embedder (embedding its prototypes takes about a second)."""
    return RiskAssessor(embedder=default_embedder())


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
    services.assessor = default_assessor()
    risk_queue = RiskQueue(services, worker=settings.risk_worker)

    async def route(conversation_id: str, event: dict[str, Any]) -> None:
        await route_member_message(services, risk_queue, conversation_id, event)

    services.on_member_message = route
    dispatch_config = DispatchConfig(
        offer_timeout=timedelta(seconds=settings.offer_timeout_seconds),
        break_between_sessions=timedelta(minutes=settings.break_between_sessions_minutes),
        offer_alternatives_after=timedelta(minutes=settings.offer_alternatives_after_minutes),
        hold_for_match_freeing_soon=timedelta(seconds=settings.dispatch_hold_for_match_seconds),
        soon_margin=settings.dispatch_hold_margin,
    )
    escalation = EscalationPolicy(
        renotify_after=timedelta(seconds=settings.alert_renotify_seconds),
        escalate_after=timedelta(seconds=settings.alert_escalate_seconds),
    )
    return Runtime(
        settings=settings,
        engine=engine,
        services=services,
        dispatch_config=dispatch_config,
        escalation=escalation,
        risk_queue=risk_queue,
    )
