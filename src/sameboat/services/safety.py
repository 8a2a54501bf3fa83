"""Safety as use cases: risk routing, alerts and escalation, supervisor actions, reports, the audit chain and
crisis resources. Humans decide: the software raises, routes and reminds."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from sameboat.adapters.storage.models import (
    Alert,
    AlertEvent,
    AuditRecord,
    Block,
    Conversation,
    ConversationEvent,
    CrisisResourceSet,
    Lease,
    ListenerNote,
    ListenerProfile,
    MemberProfile,
    Report,
    Sponsor,
    SupervisorShift,
    User,
)
from sameboat.domain.accounts import Role
from sameboat.domain.safety.audit import GENESIS, ChainRecord, chain_hash, verify_chain
from sameboat.domain.safety.escalation import AlertClock, EscalationPolicy, due_actions, first_assignee
from sameboat.domain.safety.resources import CountryResources, CrisisResource, crisis_resources_for
from sameboat.domain.safety.risk import RecentContext, RiskAssessment, RiskLevel
from sameboat.services.conversations import (
    append_event,
    conversation_channel,
    conversation_or_404,
    other_party,
    user_channel,
)
from sameboat.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from sameboat.services.unit_of_work import ServiceContext

log = logging.getLogger(__name__)
SUPERVISORS_CHANNEL = "supervisors"
RISK_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sameboat-risk")
AUDIT_LOCK = "audit-chain"
STAFF = (Role.SUPERVISOR.value, Role.ADMIN.value)
ON_DUTY_STALE_AFTER = timedelta(seconds=45)
# What each level sets off (the defaults; a deployment can change them in settings).
DEFAULT_ACTIONS: dict[str, tuple[str, ...]] = {
    "moderate": ("protocol_card",),
    "high": ("protocol_card", "alert", "member_resources"),
    "imminent": ("protocol_card", "alert", "member_resources", "supervisor_join"),
}
PROTOCOL_CARD = (
    "Safety check · It sounds like things may be very hard right now. 1) Ask directly and calmly: "
    "\u201cAre you thinking about suicide?\u201d Asking does not put the idea in their head. 2) Stay with them; "
    "listen, don't rush to fix. 3) Offer crisis resources and, if they are in danger, help them reach the crisis "
    "line or emergency services now. A supervisor can join you: use \u201cFlag a concern\u201d if you need one."
)


# --- audit ------------------------------------------------------------------------------------------------------


def audit(
    ctx: ServiceContext,
    session: Session,
    *,
    actor: User | None,
    action: str,
    subject_type: str,
    subject_id: str,
    reason: str = "",
) -> AuditRecord:
    """Append to the hash chain, in the caller's transaction (so the action and its record commit together)."""
    now = ctx.now()
    # Serialise appenders: the lock row is updated first, so concurrent transactions queue here.
    locked = session.execute(update(Lease).where(Lease.name == AUDIT_LOCK).values(expires_at=now)).rowcount
    if not locked:
        session.add(Lease(name=AUDIT_LOCK, holder="audit", expires_at=now))
        session.flush()
    last = session.scalar(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1))
    seq, previous = (last.seq + 1, last.hash) if last else (1, GENESIS)
    record = AuditRecord(
        seq=seq,
        at=now,
        actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else "system",
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        reason=reason,
        previous_hash=previous,
        hash="",
    )
    record.hash = chain_hash(previous, audit_fields(record))
    session.add(record)
    session.flush()
    return record


def audit_fields(record: AuditRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "at": record.at.isoformat(),
        "actor_id": record.actor_id,
        "actor_role": record.actor_role,
        "action": record.action,
        "subject_type": record.subject_type,
        "subject_id": record.subject_id,
        "reason": record.reason,
    }


def audit_export(ctx: ServiceContext, actor: User) -> tuple[list[dict[str, Any]], list[int]]:
    """Every record (for export) and the sequence numbers whose hash or link is broken."""
    with ctx.uow() as uow:
        rows = list(uow.session.scalars(select(AuditRecord).order_by(AuditRecord.seq)))
        records = [{**audit_fields(r), "previous_hash": r.previous_hash, "hash": r.hash} for r in rows]
        broken = verify_chain(ChainRecord(r.seq, audit_fields(r), r.previous_hash, r.hash) for r in rows)
        audit(
            ctx,
            uow.session,
            actor=actor,
            action="audit.export",
            subject_type="audit_log",
            subject_id=str(len(rows)),
            reason="export",
        )
    return records, broken


# --- crisis resources --------------------------------------------------------------------------------------------


def _resources_from(country: str, data: dict[str, Any]) -> CountryResources:
    return CountryResources(
        country=country,
        name=data.get("name", country),
        headline=data["headline"],
        emergency=data["emergency"],
        resources=tuple(CrisisResource(**r) for r in data.get("resources", [])),
    )


def crisis_resources(
    ctx: ServiceContext, country: str | None, sponsor_id: str | None, default_country: str = "US"
) -> CountryResources:
    """The sponsor's own set, else the admin-edited country set, else the shipped one."""
    with ctx.uow() as uow:
        s = uow.session
        rows = list(
            s.scalars(
                select(CrisisResourceSet).where(
                    or_(CrisisResourceSet.sponsor_id == sponsor_id, CrisisResourceSet.sponsor_id.is_(None))
                )
            )
        )
    code = (country or default_country).upper()
    for row in rows:
        if sponsor_id and row.sponsor_id == sponsor_id:
            return _resources_from(row.country, row.data)
    for row in rows:
        if row.sponsor_id is None and row.country == code:
            return _resources_from(row.country, row.data)
    return crisis_resources_for(code, default_country)


def save_crisis_resources(
    ctx: ServiceContext, admin: User, *, country: str, sponsor_id: str | None, data: dict[str, Any]
) -> CountryResources:
    country = country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise InvalidInput("Country must be a two-letter code.", field="country")
    for key in ("headline", "emergency"):
        if not str(data.get(key, "")).strip():
            raise InvalidInput(f"Crisis resources need a {key}.", field=key)
    resources = data.get("resources")
    if not isinstance(resources, list) or not resources:
        raise InvalidInput("List at least one crisis service.", field="resources")
    for item in resources:
        if not isinstance(item, dict) or not item.get("name") or not item.get("how"):
            raise InvalidInput("Each crisis service needs a name and how to reach it.", field="resources")
        unknown = set(item) - {"name", "how", "phone", "sms", "sms_body"}
        if unknown:
            raise InvalidInput(f"Unknown field {sorted(unknown)[0]!r} in a crisis service.", field="resources")
    parsed = _resources_from(country, data)
    with ctx.uow() as uow:
        s = uow.session
        row = s.scalar(
            select(CrisisResourceSet).where(
                CrisisResourceSet.country == country,
                CrisisResourceSet.sponsor_id.is_(sponsor_id)
                if sponsor_id is None
                else CrisisResourceSet.sponsor_id == sponsor_id,
            )
        )
        if row is None:
            row = CrisisResourceSet(country=country, sponsor_id=sponsor_id, data={})
            s.add(row)
        row.data, row.updated_by, row.updated_at = data, admin.id, ctx.now()
        s.flush()
        audit(
            ctx,
            s,
            actor=admin,
            action="crisis_resources.edit",
            subject_type="crisis_resources",
            subject_id=f"{country}:{sponsor_id or '-'}",
        )
    return parsed


def resources_payload(resources: CountryResources) -> dict[str, Any]:
    return {
        "headline": resources.headline,
        "emergency": resources.emergency,
        "resources": [{"name": r.name, "how": r.how, "phone": r.phone, "sms": r.sms} for r in resources.resources],
    }


# --- risk in conversations ------------------------------------------------------------------------------------


class ContextCache:
    """Recent assessments per conversation, in memory and bounded; rebuilt from the database on a miss."""

    def __init__(self, capacity: int = 2000) -> None:
        self._items: OrderedDict[str, RecentContext] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self.capacity = capacity

    def get(self, conversation_id: str) -> RecentContext | None:
        context = self._items.get(conversation_id)
        if context is not None:
            self._items.move_to_end(conversation_id)
        return context

    def put(self, conversation_id: str, context: RecentContext) -> None:
        self._items[conversation_id] = context
        self._items.move_to_end(conversation_id)
        while len(self._items) > self.capacity:
            gone, _ = self._items.popitem(last=False)
            self._locks.pop(gone, None)

    def lock(self, conversation_id: str) -> asyncio.Lock:
        return self._locks.setdefault(conversation_id, asyncio.Lock())


@dataclass(frozen=True)
class Routing:
    """What an assessment set off (for tests and logs)."""

    level: str
    events: tuple[dict[str, Any], ...] = ()
    alert_id: str | None = None


def _rebuild_context(ctx: ServiceContext, session: Session, conversation_id: str, before_seq: int) -> RecentContext:
    assert ctx.assessor is not None and ctx.cipher is not None
    rows = list(
        session.scalars(
            select(ConversationEvent)
            .where(
                ConversationEvent.conversation_id == conversation_id,
                ConversationEvent.kind == "message",
                ConversationEvent.sender_role == "member",
                ConversationEvent.seq < before_seq,
            )
            .order_by(ConversationEvent.seq.desc())
            .limit(6)
        )
    )
    context = RecentContext()
    for row in reversed(rows):
        context = context.add(ctx.assessor.assess(ctx.cipher.decrypt(row.body_ciphertext), context))
    return context


def open_alert(
    ctx: ServiceContext,
    session: Session,
    *,
    member_id: str,
    level: str,
    source: str,
    reasons: list[str],
    conversation_id: str | None = None,
    request_id: str | None = None,
    model_version: str | None = None,
) -> Alert:
    now = ctx.now()
    on_duty = supervisors_on_duty(ctx, session)
    load = dict(
        session.execute(
            select(Alert.assigned_to, func.count()).where(Alert.status == "open").group_by(Alert.assigned_to)
        ).all()
    )
    alert = Alert(
        conversation_id=conversation_id,
        request_id=request_id,
        member_id=member_id,
        level=level,
        source=source,
        reasons=reasons,
        model_version=model_version,
        created_at=now,
        last_notified_at=now,
        assigned_to=first_assignee(on_duty, load),
    )
    session.add(alert)
    session.flush()
    session.add(AlertEvent(alert_id=alert.id, at=now, kind="raised", note="; ".join(reasons)[:1000]))
    audit(
        ctx,
        session,
        actor=None,
        action="alert.raise",
        subject_type="alert",
        subject_id=alert.id,
        reason=f"{level}: {'; '.join(reasons)[:300]}",
    )
    return alert


def assess_member_message(
    ctx: ServiceContext,
    conversation_id: str,
    event: dict[str, Any],
    context: RecentContext | None,
    actions: dict[str, tuple[str, ...]] | None = None,
) -> tuple[Routing, RecentContext]:
    """Assess one member message and act on its level. Runs off the message's critical path."""
    assert ctx.assessor is not None
    actions = actions or DEFAULT_ACTIONS
    with ctx.uow() as uow:
        s = uow.session
        if context is None:
            context = _rebuild_context(ctx, s, conversation_id, event["seq"])
        assessment: RiskAssessment = ctx.assessor.assess(event["body"] or "", context)
        context = context.add(assessment)
        level = assessment.level.name.lower()
        s.execute(
            update(ConversationEvent)
            .where(ConversationEvent.conversation_id == conversation_id, ConversationEvent.seq == event["seq"])
            .values(risk_level=level)
        )
        conversation = s.get(Conversation, conversation_id)
        if conversation is None:
            return Routing(level), context
        previous = RiskLevel[conversation.risk_level.upper()] if conversation.risk_level else RiskLevel.NONE
        if assessment.level > previous:
            conversation.risk_level = level
        todo = actions.get(level, ())
        events: list[dict[str, Any]] = []
        alert_id = None
        # Act once per level reached in a conversation, not on every message at that level.
        if todo and assessment.level > previous:
            if "protocol_card" in todo:
                events.append(
                    append_event(
                        ctx,
                        s,
                        conversation_id,
                        kind="protocol",
                        audience="listener",
                        sender_id=None,
                        role="sameboat",
                        allow_ended=True,
                        body=PROTOCOL_CARD + " (Why: " + "; ".join(assessment.reasons) + ")",
                    )
                )
            if "member_resources" in todo:
                events.append(
                    append_event(
                        ctx,
                        s,
                        conversation_id,
                        kind="resources",
                        audience="member",
                        sender_id=None,
                        role="sameboat",
                        allow_ended=True,
                        body=_resources_text(ctx, s, conversation.member_id),
                    )
                )
            if "alert" in todo:
                alert_id = open_alert(
                    ctx,
                    s,
                    member_id=conversation.member_id,
                    level=level,
                    source="risk_engine",
                    reasons=list(assessment.reasons),
                    conversation_id=conversation_id,
                    model_version=assessment.model_version,
                ).id
    return Routing(level, tuple(events), alert_id), context


def assess_intake(ctx: ServiceContext, text: str) -> RiskAssessment | None:
    """The risk in what a member wrote when asking for support (None when no risk engine is configured)."""
    if ctx.assessor is None or not text.strip():
        return None
    return ctx.assessor.assess(text)


def certified_listener_ids(ctx: ServiceContext) -> set[str]:
    with ctx.uow() as uow:
        return set(
            uow.session.scalars(select(ListenerProfile.user_id).where(ListenerProfile.certified_high_risk.is_(True)))
        )


def _resources_text(ctx: ServiceContext, session: Session, member_id: str) -> str:
    sponsor = session.scalar(select(Sponsor).join(User, User.sponsor_id == Sponsor.id).where(User.id == member_id))
    resources = crisis_resources(ctx, sponsor.country if sponsor else None, sponsor.id if sponsor else None)
    lines = [f"{r.name}: {r.how}" for r in resources.resources]
    return (
        "You don't have to get through this alone. If you might act on these thoughts, please reach out now: "
        + " · ".join(lines)
        + f" · Emergency: {resources.emergency}. Your listener is still here with you."
    )


async def route_member_message(
    ctx: ServiceContext, cache: ContextCache, conversation_id: str, event: dict[str, Any]
) -> Routing | None:
    """Background task after a member's message is acknowledged: assess, act, tell people."""
    if ctx.assessor is None:
        return None
    async with cache.lock(conversation_id):
        try:
            # Its own worker thread: assessments queue there, never in front of storing and acknowledging
            # messages (which use the default pool).
            routing, context = await asyncio.get_running_loop().run_in_executor(
                RISK_EXECUTOR, assess_member_message, ctx, conversation_id, event, cache.get(conversation_id)
            )
        except Exception:  # noqa: BLE001 - assessment must never break the chat; log and move on
            log.exception("risk assessment failed for %s", conversation_id)
            return None
        cache.put(conversation_id, context)
    if ctx.hub is not None:
        for routed in routing.events:
            await ctx.hub.publish(conversation_channel(conversation_id), routed)
        if routing.alert_id:
            await ctx.hub.publish(
                SUPERVISORS_CHANNEL, {"type": "alert", "alert_id": routing.alert_id, "level": routing.level}
            )
    return routing


# --- supervisors ----------------------------------------------------------------------------------------------


def supervisors_on_duty(ctx: ServiceContext, session: Session) -> list[str]:
    cutoff = ctx.now() - ON_DUTY_STALE_AFTER
    return list(
        session.scalars(
            select(SupervisorShift.supervisor_id)
            .where(SupervisorShift.on_duty.is_(True), SupervisorShift.last_seen_at >= cutoff)
            .order_by(SupervisorShift.supervisor_id)
        )
    )


def supervisor_seen(ctx: ServiceContext, supervisor: User, on_duty: bool | None = None) -> None:
    with ctx.uow() as uow:
        shift = uow.session.get(SupervisorShift, supervisor.id)
        if shift is None:
            shift = SupervisorShift(supervisor_id=supervisor.id, on_duty=True)
            uow.session.add(shift)
        if on_duty is not None:
            shift.on_duty = on_duty
        shift.last_seen_at = ctx.now()


def _check_scope(session: Session, supervisor: User, member_id: str) -> None:
    """A supervisor tied to a sponsor acts only on that sponsor's members; unscoped supervisors on all."""
    if supervisor.role == Role.ADMIN.value or supervisor.sponsor_id is None:
        return
    member_sponsor = session.scalar(select(User.sponsor_id).where(User.id == member_id))
    if member_sponsor != supervisor.sponsor_id:
        raise Forbidden("This conversation belongs to another organisation's members.")


def _alert(session: Session, alert_id: str, supervisor: User) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("We couldn't find that alert.")
    _check_scope(session, supervisor, alert.member_id)
    return alert


def acknowledge_alert(ctx: ServiceContext, supervisor: User, alert_id: str) -> Alert:
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        alert = _alert(s, alert_id, supervisor)
        done = s.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.status == "open")
            .values(status="acknowledged", acknowledged_by=supervisor.id, acknowledged_at=now)
        ).rowcount
        if done != 1:
            who = (
                s.scalar(select(User.email).where(User.id == alert.acknowledged_by)) if alert.acknowledged_by else None
            )
            raise Conflict(f"This alert was already acknowledged{' by ' + who if who else ''}.")
        s.add(AlertEvent(alert_id=alert_id, at=now, kind="acknowledged", actor_id=supervisor.id))
        audit(ctx, s, actor=supervisor, action="alert.acknowledge", subject_type="alert", subject_id=alert_id)
        s.refresh(alert)
        return alert


def resolve_alert(ctx: ServiceContext, supervisor: User, alert_id: str, note: str) -> Alert:
    note = note.strip()
    if not note:
        raise InvalidInput("Write a short note on what happened before resolving.", field="note")
    if len(note) > 2000:
        raise InvalidInput("Keep the note under 2,000 characters.", field="note")
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        alert = _alert(s, alert_id, supervisor)
        if alert.status == "resolved":
            raise Conflict("This alert is already resolved.")
        if alert.status == "open":
            raise Conflict("Acknowledge the alert before resolving it.")
        alert.status, alert.resolved_by, alert.resolved_at = "resolved", supervisor.id, now
        s.add(AlertEvent(alert_id=alert_id, at=now, kind="resolved", actor_id=supervisor.id, note=note))
        audit(
            ctx,
            s,
            actor=supervisor,
            action="alert.resolve",
            subject_type="alert",
            subject_id=alert_id,
            reason=note[:300],
        )
        return alert


def add_alert_note(ctx: ServiceContext, supervisor: User, alert_id: str, note: str) -> None:
    note = note.strip()
    if not note or len(note) > 2000:
        raise InvalidInput("Notes are 1 to 2,000 characters.", field="note")
    with ctx.uow() as uow:
        _alert(uow.session, alert_id, supervisor)
        uow.session.add(AlertEvent(alert_id=alert_id, at=ctx.now(), kind="note", actor_id=supervisor.id, note=note))


def join_conversation(ctx: ServiceContext, supervisor: User, conversation_id: str) -> dict[str, Any]:
    """A supervisor joins, visibly to both (only where there is an alert or a report)."""
    with ctx.uow() as uow:
        s = uow.session
        conversation = conversation_or_404(s, conversation_id)
        _check_scope(s, supervisor, conversation.member_id)
        _require_cause(s, conversation_id)
        if conversation.status != "active":
            raise Conflict("This conversation has ended.")
        conversation.supervisor_id = supervisor.id
        for alert in s.scalars(
            select(Alert).where(Alert.conversation_id == conversation_id, Alert.status != "resolved")
        ):
            s.add(AlertEvent(alert_id=alert.id, at=ctx.now(), kind="joined", actor_id=supervisor.id))
        audit(
            ctx,
            s,
            actor=supervisor,
            action="conversation.join",
            subject_type="conversation",
            subject_id=conversation_id,
        )
        return append_event(
            ctx,
            s,
            conversation_id,
            kind="joined",
            audience="all",
            role="supervisor",
            sender_id=supervisor.id,
            body="A Sameboat supervisor has joined to support you both.",
        )


def _require_cause(session: Session, conversation_id: str) -> None:
    has_alert = session.scalar(select(func.count()).select_from(Alert).where(Alert.conversation_id == conversation_id))
    has_report = session.scalar(
        select(func.count()).select_from(Report).where(Report.conversation_id == conversation_id)
    )
    flagged = session.scalar(
        select(func.count())
        .select_from(ListenerNote)
        .where(ListenerNote.conversation_id == conversation_id, ListenerNote.concern.is_(True))
    )
    if not (has_alert or has_report or flagged):
        raise Forbidden("Supervisors see a conversation only when it has an alert, a report or a listener's concern.")


def transcript_for_supervisor(
    ctx: ServiceContext, supervisor: User, conversation_id: str, why: str
) -> list[dict[str, Any]]:
    """The whole conversation, hidden messages included, for a supervisor with a reason. Audited."""
    from sameboat.services.conversations import staff_events

    with ctx.uow() as uow:
        s = uow.session
        conversation = conversation_or_404(s, conversation_id)
        _check_scope(s, supervisor, conversation.member_id)
        _require_cause(s, conversation_id)
        audit(
            ctx,
            s,
            actor=supervisor,
            action="transcript.view",
            subject_type="conversation",
            subject_id=conversation_id,
            reason=why[:300],
        )
    return staff_events(ctx, conversation_id)


def escalation_tick(ctx: ServiceContext, policy: EscalationPolicy) -> set[str]:
    """Re-notify and escalate unacknowledged alerts. Returns supervisors to notify ('*' for everyone)."""
    now = ctx.now()
    notify: set[str] = set()
    with ctx.uow() as uow:
        s = uow.session
        open_alerts = list(s.scalars(select(Alert).where(Alert.status == "open")))
        if not open_alerts:
            return notify
        clocks = [
            AlertClock(a.id, a.created_at, a.escalation_level, a.last_notified_at, a.assigned_to) for a in open_alerts
        ]
        by_id = {a.id: a for a in open_alerts}
        for action in due_actions(clocks, supervisors_on_duty(ctx, s), now, policy):
            alert = by_id[action.alert_id]
            alert.last_notified_at = now
            alert.escalation_level = action.escalation_level
            if action.kind == "escalate":
                alert.assigned_to = action.supervisor_id
            s.add(
                AlertEvent(
                    alert_id=alert.id,
                    at=now,
                    kind=action.kind,
                    actor_id=action.supervisor_id,
                    note="nobody on duty: sent to every supervisor" if action.supervisor_id is None else "",
                )
            )
            notify.add(action.supervisor_id or "*")
    return notify


async def run_escalation(ctx: ServiceContext, policy: EscalationPolicy) -> None:
    notify = await asyncio.to_thread(escalation_tick, ctx, policy)
    if notify and ctx.hub is not None:
        await ctx.hub.publish(SUPERVISORS_CHANNEL, {"type": "alert", "reminder": True})


# --- reports and blocks -----------------------------------------------------------------------------------------

REPORT_REASONS = ("harassment", "inappropriate", "off_platform", "unsafe", "other")


def report(ctx: ServiceContext, reporter: User, conversation_id: str, reason: str, details: str) -> Report:
    if reason not in REPORT_REASONS:
        raise InvalidInput(f"Choose a reason: {', '.join(REPORT_REASONS)}.", field="reason")
    if len(details) > 2000:
        raise InvalidInput("Keep the details under 2,000 characters.", field="details")
    assert ctx.cipher is not None
    with ctx.uow() as uow:
        s = uow.session
        other = other_party(conversation_or_404(s, conversation_id), reporter)
        row = Report(
            reporter_id=reporter.id,
            reported_id=other,
            conversation_id=conversation_id,
            reason=reason,
            details_ciphertext=ctx.cipher.encrypt(details.strip()) if details.strip() else None,
            created_at=ctx.now(),
        )
        s.add(row)
        s.flush()
        return row


def block(ctx: ServiceContext, blocker: User, conversation_id: str) -> str:
    """Block the other person: never matched or offered together again. Returns the blocked user's id."""
    with ctx.uow() as uow:
        s = uow.session
        other = other_party(conversation_or_404(s, conversation_id), blocker)
        if s.get(Block, (blocker.id, other)) is None:
            s.add(Block(blocker_id=blocker.id, blocked_id=other, created_at=ctx.now()))
        return other


def review_report(ctx: ServiceContext, supervisor: User, report_id: str) -> None:
    with ctx.uow() as uow:
        s = uow.session
        row = s.get(Report, report_id)
        if row is None:
            raise NotFound("We couldn't find that report.")
        _check_scope(s, supervisor, s.get(Conversation, row.conversation_id).member_id)
        if row.status != "open":
            raise Conflict("This report was already reviewed.")
        row.status, row.reviewed_by = "reviewed", supervisor.id
        audit(ctx, s, actor=supervisor, action="report.review", subject_type="report", subject_id=report_id)


def console_data(ctx: ServiceContext, supervisor: User) -> dict[str, Any]:
    """Everything the supervisor console shows, scoped to the supervisor's sponsor if they have one."""
    with ctx.uow() as uow:
        s = uow.session
        member_ids = None
        if supervisor.role != Role.ADMIN.value and supervisor.sponsor_id is not None:
            member_ids = select(User.id).where(User.sponsor_id == supervisor.sponsor_id)

        def scoped(query, column):  # type: ignore[no-untyped-def]
            return query.where(column.in_(member_ids)) if member_ids is not None else query

        order = {"imminent": 0, "high": 1, "moderate": 2, "low": 3, "none": 4}
        alerts = list(s.scalars(scoped(select(Alert).where(Alert.status != "resolved"), Alert.member_id)))
        alerts.sort(key=lambda a: (a.status != "open", order.get(a.level, 9), a.created_at))
        names = dict(s.execute(select(MemberProfile.user_id, MemberProfile.pseudonym)).all())
        listener_names = dict(s.execute(select(ListenerProfile.user_id, ListenerProfile.display_name)).all())
        conversations = list(
            s.scalars(scoped(select(Conversation).where(Conversation.status == "active"), Conversation.member_id))
        )
        conversations.sort(key=lambda c: (order.get(c.risk_level, 9), c.started_at))
        reports = list(
            s.scalars(
                scoped(select(Report).where(Report.status == "open"), Report.reported_id).order_by(Report.created_at)
            )
        )
        concerns = list(
            s.execute(
                select(ListenerNote, Conversation)
                .join(Conversation, Conversation.id == ListenerNote.conversation_id)
                .where(ListenerNote.concern.is_(True))
            )
        )
        timeline = {
            a.id: list(
                s.scalars(select(AlertEvent).where(AlertEvent.alert_id == a.id).order_by(AlertEvent.at, AlertEvent.id))
            )
            for a in alerts
        }
        return {
            "alerts": [
                {
                    "id": a.id,
                    "level": a.level,
                    "status": a.status,
                    "reasons": a.reasons,
                    "source": a.source,
                    "member": names.get(a.member_id, "Member"),
                    "conversation_id": a.conversation_id,
                    "created_at": a.created_at,
                    "escalation_level": a.escalation_level,
                    "timeline": [(e.at, e.kind, e.note) for e in timeline[a.id]],
                }
                for a in alerts
            ],
            "conversations": [
                {
                    "id": c.id,
                    "risk": c.risk_level,
                    "member": names.get(c.member_id, "Member"),
                    "listener": listener_names.get(c.listener_id, "Listener"),
                    "started_at": c.started_at,
                    "supervised": c.supervisor_id is not None,
                }
                for c in conversations
            ],
            "reports": [
                {"id": r.id, "reason": r.reason, "conversation_id": r.conversation_id, "created_at": r.created_at}
                for r in reports
            ],
            "concerns": [
                {"conversation_id": c.id, "listener": listener_names.get(c.listener_id, "Listener"), "at": n.updated_at}
                for n, c in concerns
            ],
            "open_count": sum(1 for a in alerts if a.status == "open"),
        }


def supervisor_user_channel(user_id: str) -> str:
    return user_channel(user_id)
