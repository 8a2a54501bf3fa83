"""Composition root: picks adapters from settings (SQLite by default; PostgreSQL when configured)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import Engine

from sameboat.adapters.crypto import FieldCipher
from sameboat.adapters.embedding import default_embedder
from sameboat.adapters.mail import Mailer, SmtpMailer
from sameboat.adapters.passwords import Argon2PasswordHasher
from sameboat.adapters.realtime import InMemoryHub, RedisHub
from sameboat.adapters.storage.database import make_engine, make_session_factory
from sameboat.domain.booking import BookingRules
from sameboat.domain.dispatch import DispatchConfig
from sameboat.domain.safety.escalation import EscalationPolicy
from sameboat.domain.safety.risk import RiskAssessor
from sameboat.services.booking import BookingConfig
from sameboat.services.ports import Hub
from sameboat.services.safety import RiskQueue, route_member_message
from sameboat.services.unit_of_work import Clock, GroupCommitWriter, ServiceContext, system_clock
from sameboat.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    services: ServiceContext
    dispatch_config: DispatchConfig
    escalation: EscalationPolicy
    risk_queue: RiskQueue
    booking_config: BookingConfig = field(default_factory=BookingConfig)
    #: None when no SMTP host is configured: notices then stay in the app.
    mailer: Mailer | None = None

    def close(self) -> None:
        if self.services.writer is not None:
            self.services.writer.close()
        self.engine.dispose()


@cache
def default_assessor() -> RiskAssessor:
    """The process-wide risk engine on the shared embedder (embedding its prototypes takes about a second)."""
    return RiskAssessor(embedder=default_embedder())


def bootstrap(settings: Settings, clock: Clock = system_clock) -> Runtime:
    engine = make_engine(settings.database_url)
    hub: Hub = RedisHub(settings.redis_url) if settings.redis_url else InMemoryHub()
    session_factory = make_session_factory(engine)
    services = ServiceContext(
        session_factory=session_factory,
        hasher=Argon2PasswordHasher(),
        clock=clock,
        cipher=FieldCipher.from_settings(settings.secret_key, settings.data_keys),
        hub=hub,
        embedder=default_embedder(),
        open_signup=settings.open_signup,
        session_days=settings.session_days,
        api_token_days=settings.api_token_days,
        writer=GroupCommitWriter(session_factory) if engine.dialect.name == "sqlite" else None,
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
    booking_config = BookingConfig(
        rules=BookingRules(
            slot_minutes=settings.booking_slot_minutes,
            notice_hours=settings.booking_notice_hours,
            horizon_days=settings.booking_horizon_days,
        ),
        reminder_offsets_minutes=tuple(settings.reminder_offsets_minutes),
        open_minutes_before=settings.booking_open_minutes_before,
        no_show_minutes=settings.booking_no_show_minutes,
    )
    mailer = (
        SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            from_address=settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
        if settings.smtp_host
        else None
    )
    return Runtime(
        settings=settings,
        engine=engine,
        services=services,
        dispatch_config=dispatch_config,
        escalation=escalation,
        booking_config=booking_config,
        mailer=mailer,
        risk_queue=risk_queue,
    )
