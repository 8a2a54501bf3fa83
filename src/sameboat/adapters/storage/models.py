"""SQLAlchemy tables. Portable across SQLite and PostgreSQL: no dialect-specific types here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Sponsor(Base):
    __tablename__ = "sponsors"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    country: Mapped[str] = mapped_column(String(2), default="US")
    minutes_budget: Mapped[int | None] = mapped_column(Integer, nullable=True)
    minutes_used: Mapped[int] = mapped_column(Integer, default=0)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    access_codes: Mapped[list[AccessCode]] = relationship(back_populates="sponsor", order_by="AccessCode.created_at")


class AccessCode(Base):
    __tablename__ = "access_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    sponsor_id: Mapped[str] = mapped_column(ForeignKey("sponsors.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    seat_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seats_used: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sponsor: Mapped[Sponsor] = relationship(back_populates="access_codes")


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)
    # Private: never shown to listeners. Optional; members are known by their pseudonym.
    legal_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    sponsor_id: Mapped[str | None] = mapped_column(ForeignKey("sponsors.id"), nullable=True, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sponsor: Mapped[Sponsor | None] = relationship()
    member_profile: Mapped[MemberProfile | None] = relationship(back_populates="user", uselist=False)
    listener_profile: Mapped[ListenerProfile | None] = relationship(back_populates="user", uselist=False)


class MemberProfile(Base):
    __tablename__ = "member_profiles"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(32), unique=True)
    # IANA zone for showing booked times; None until the member's browser tells us or they choose one.
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    preferences: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    access_code_id: Mapped[str | None] = mapped_column(ForeignKey("access_codes.id"), nullable=True)

    user: Mapped[User] = relationship(back_populates="member_profile")


class ListenerProfile(Base):
    __tablename__ = "listener_profiles"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(40))
    bio: Mapped[str] = mapped_column(String(200), default="")
    story: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    gender: Mapped[str | None] = mapped_column(String(20), nullable=True)
    age_range: Mapped[str | None] = mapped_column(String(10), nullable=True)
    veteran: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    declined_topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="applicant", index=True)
    certified_high_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    max_concurrent: Mapped[int] = mapped_column(Integer, default=1)
    # Sentence embedding of the story (float32 bytes) and the model that made it, for matching.
    story_embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    embedding_model: Mapped[str | None] = mapped_column(String(120), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="listener_profile")


class AuthSession(Base):
    """A signed-in browser (kind ``web``) or an API bearer token (kind ``api``). Only a hash is stored."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()


class TaxonomyTag(Base):
    """A lived-experience tag added by an admin on top of the shipped taxonomy."""

    __tablename__ = "taxonomy_tags"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    label: Mapped[str] = mapped_column(String(80))
    parent: Mapped[str | None] = mapped_column(String(60), nullable=True)
    synonyms: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Block(Base):
    """One person does not want to be matched with another again (either direction keeps them apart)."""

    __tablename__ = "blocks"

    blocker_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    blocked_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Favourite(Base):
    __tablename__ = "favourites"

    member_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    listener_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListenerPresence(Base):
    """Whether a listener can take a conversation now. Heartbeats keep ``online`` honest."""

    __tablename__ = "listener_presence"

    listener_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(10), default="offline")  # online | away | offline
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    break_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    daily_limit: Mapped[int] = mapped_column(Integer, default=8)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SupportRequest(Base):
    """A member asking to talk. Matched to exactly one listener (a conditional update decides)."""

    __tablename__ = "support_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The member's own words, encrypted at rest.
    text_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    topic: Mapped[str | None] = mapped_column(String(60), nullable=True)
    mode: Mapped[str] = mapped_column(String(10), default="chat")
    risk_level: Mapped[str] = mapped_column(String(10), default="none")
    # waiting -> matched | cancelled | expired
    status: Mapped[str] = mapped_column(String(12), default="waiting", index=True)
    # Ranked candidates from matching: [[listener_id, score], ...] (best first).
    candidates: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    listener_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Offer(Base):
    __tablename__ = "offers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("support_requests.id", ondelete="CASCADE"), index=True)
    listener_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # pending -> accepted | declined | expired | withdrawn
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    score: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    request_id: Mapped[str | None] = mapped_column(
        ForeignKey("support_requests.id", ondelete="SET NULL"), nullable=True
    )
    member_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    listener_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)  # active | ended
    # The last sequence number handed out; incremented in the same transaction as each event.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(20), nullable=True)
    minutes_charged: Mapped[int] = mapped_column(Integer, default=0)
    # The member removed it from their history: the transcript is wiped, the row stays for budgets and safety.
    member_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The highest risk seen so far in the conversation (none, low, moderate, high, imminent).
    risk_level: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    supervisor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    member_last_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    listener_last_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    member_last_delivered_seq: Mapped[int] = mapped_column(Integer, default=0)
    listener_last_delivered_seq: Mapped[int] = mapped_column(Integer, default=0)


class ConversationEvent(Base):
    """Everything that happens in a conversation, numbered 1, 2, 3... per conversation, committed
    before anyone is told. Clients resume from the last number they saw."""

    __tablename__ = "conversation_events"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "sender_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # message | joined | ended | notice
    sender_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sender_role: Mapped[str] = mapped_column(String(20))
    # The sender's idempotency key: a resent message is stored once.
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    body_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who sees it: everyone in the conversation, or only the member / the listener / staff.
    audience: Mapped[str] = mapped_column(String(10), default="all", server_default="all")
    # Moderation: hidden from the other person (kept for review), with the categories that caught it.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    moderation: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Risk assessment of a member's message, filled in off the critical path.
    risk_level: Mapped[str | None] = mapped_column(String(10), nullable=True)


class Feedback(Base):
    __tablename__ = "feedback"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    listener_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    felt_heard: Mapped[int] = mapped_column(Integer)  # 1..5
    would_talk_again: Mapped[bool] = mapped_column(Boolean, default=False)
    comment_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListenerNote(Base):
    """A listener's private note on a conversation; only that listener sees it (and supervisors on a flag)."""

    __tablename__ = "listener_notes"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    listener_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    body_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    concern: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lease(Base):
    """A short lease so one process at a time runs a singleton job (the dispatcher) across nodes."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alert(Base):
    """A safety alert for a human to acknowledge: raised by the risk engine or a listener's concern."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    request_id: Mapped[str | None] = mapped_column(
        ForeignKey("support_requests.id", ondelete="SET NULL"), nullable=True
    )
    member_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(10))  # moderate | high | imminent
    source: Mapped[str] = mapped_column(String(20))  # risk_engine | listener_concern | report
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    model_version: Mapped[str | None] = mapped_column(Text, nullable=True)
    # open -> acknowledged -> resolved
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    assigned_to: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    last_notified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AlertEvent(Base):
    """The escalation timeline of an alert: raised, notified, escalated, acknowledged, joined, note, resolved."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class Report(Base):
    """A member or listener reporting the other person; reviewed by a supervisor."""

    __tablename__ = "reports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    reporter_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reported_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(30))
    details_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open | reviewed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class AuditRecord(Base):
    """Append-only, hash-chained record of staff access and safety actions (who, what, when, why)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class SupervisorShift(Base):
    """Who is on duty to receive alerts (the supervisor console is open and heartbeating)."""

    __tablename__ = "supervisor_shifts"

    supervisor_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CrisisResourceSet(Base):
    """Crisis resources edited by an admin for a country (sponsor_id empty) or for one sponsor."""

    __tablename__ = "crisis_resource_sets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    country: Mapped[str] = mapped_column(String(2), index=True)
    sponsor_id: Mapped[str | None] = mapped_column(ForeignKey("sponsors.id", ondelete="CASCADE"), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AvailabilityWindow(Base):
    """A weekly window in which a listener takes booked sessions, in the listener's own time zone."""

    __tablename__ = "availability_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    listener_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday, as datetime.weekday()
    start_minute: Mapped[int] = mapped_column(Integer)  # minutes after local midnight
    end_minute: Mapped[int] = mapped_column(Integer)


class Booking(Base):
    """A session booked for a time. ``slot_key`` is unique while the booking holds its slot (NULL once
    cancelled), so two members can never hold the same listener's slot, whichever process writes first."""

    __tablename__ = "bookings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    listener_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="booked", index=True)  # booked|cancelled|done|no_show
    slot_key: Mapped[str | None] = mapped_column(String(80), unique=True, nullable=True)
    note_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(10), nullable=True)  # member | listener
    late_cancel: Mapped[bool] = mapped_column(Boolean, default=False)
    no_show: Mapped[str | None] = mapped_column(String(10), nullable=True)  # member | listener | both
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True
    )
    rescheduled_from: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Notification(Base):
    """Outbox for in-app and email notices: stored first, sent by the worker when due (``send_after``),
    so a crash between booking and mailing loses nothing."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(200))
    body_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    link: Mapped[str] = mapped_column(String(200), default="")
    ics: Mapped[str | None] = mapped_column(Text, nullable=True)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_error: Mapped[str] = mapped_column(String(300), default="")
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    booking_id: Mapped[str | None] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), nullable=True)
    next_step_id: Mapped[str | None] = mapped_column(ForeignKey("next_steps.id", ondelete="CASCADE"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NextStep(Base):
    """A small step the member sets with their listener at the end of a session, checked in on later."""

    __tablename__ = "next_steps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    listener_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True
    )
    text_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    check_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | done | partly | not_yet
    outcome_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
