"""Safety as use cases: risk routing, alerts and escalation, supervisor actions, reports, the audit chain and
crisis resources. Humans decide: the software raises, routes and reminds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select, update
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
from sameboat.services import risk_worker
from sameboat.services.conversations import (
    append_event,
    conversation_channel,
    conversation_or_404,
    other_party,
    stored_view,
    user_channel,
)
from sameboat.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from sameboat.services.unit_of_work import ServiceContext, WriteOp

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
    """Recent assessments per conversation, in memory and bounded; rebuilt from the database on a miss.
    Only the risk queue's rounds touch it, one at a time."""

    def __init__(self, capacity: int = 2000) -> None:
        self._items: OrderedDict[str, RecentContext] = OrderedDict()
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
            self._items.popitem(last=False)


@dataclass(frozen=True)
class Routing:
    """What an assessment set off (for tests and logs)."""

    level: str
    events: tuple[dict[str, Any], ...] = ()
    alert_id: str | None = None


#: Member messages whose texts make up a conversation's context after a restart (the engine keeps 12).
CONTEXT_REBUILD_MESSAGES = 6


def _earlier_member_texts(
    ctx: ServiceContext, session: Session, first_seqs: dict[str, int]
) -> dict[str, tuple[str, ...]]:
    """Each conversation's last member messages before the given sequence number, oldest first: one query
    for a whole round (a restarted server misses every conversation at once)."""
    assert ctx.cipher is not None
    if not first_seqs:
        return {}
    events = ConversationEvent.__table__
    ranked = (
        select(
            events.c.conversation_id,
            events.c.seq,
            events.c.body_ciphertext,
            func.row_number().over(partition_by=events.c.conversation_id, order_by=events.c.seq.desc()).label("age"),
        )
        .where(
            events.c.conversation_id.in_(list(first_seqs)),
            events.c.seq < case(first_seqs, value=events.c.conversation_id),
            events.c.kind == "message",
            events.c.sender_role == "member",
        )
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.conversation_id, ranked.c.body_ciphertext)
        .where(ranked.c.age <= CONTEXT_REBUILD_MESSAGES)
        .order_by(ranked.c.conversation_id, ranked.c.seq)
    ).all()
    out: dict[str, list[str]] = {cid: [] for cid in first_seqs}
    for cid, ciphertext in rows:
        out[cid].append(ctx.cipher.decrypt(ciphertext))
    return {cid: tuple(texts) for cid, texts in out.items()}


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


_events_table = ConversationEvent.__table__
# One statement for a whole round (executemany): most messages carry no risk and need nothing else.
_SET_RISK_LEVEL = (
    update(_events_table)
    .where(_events_table.c.conversation_id == bindparam("b_conversation"), _events_table.c.seq == bindparam("b_seq"))
    .values(risk_level=bindparam("b_level"))
)


def _act_on(
    ctx: ServiceContext,
    s: Session,
    conversation: Conversation,
    assessment: RiskAssessment,
    actions: dict[str, tuple[str, ...]],
) -> tuple[list[dict[str, Any]], str | None]:
    """Raise the conversation's level and do what the new level sets off. Only once per level reached in a
    conversation, not on every message at that level."""
    previous = RiskLevel[conversation.risk_level.upper()] if conversation.risk_level else RiskLevel.NONE
    if assessment.level <= previous:
        return [], None
    level = assessment.level.name.lower()
    conversation.risk_level = level
    todo = actions.get(level, ())
    events: list[dict[str, Any]] = []
    alert_id = None
    if "protocol_card" in todo:
        events.append(
            append_event(
                ctx,
                s,
                conversation.id,
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
                conversation.id,
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
            conversation_id=conversation.id,
            model_version=assessment.model_version,
        ).id
    return events, alert_id


def record_assessments(
    ctx: ServiceContext,
    assessed: list[tuple[str, list[dict[str, Any]], list[RiskAssessment]]],
    actions: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, Routing]:
    """Store a round's levels and act on them, in one transaction: (conversation, its events, their
    assessments in the same order) in, what each conversation's messages set off out."""
    return ctx.transact(assessments_writer(ctx, assessed, actions))


def assessments_writer(
    ctx: ServiceContext,
    assessed: list[tuple[str, list[dict[str, Any]], list[RiskAssessment]]],
    actions: dict[str, tuple[str, ...]] | None = None,
) -> WriteOp[dict[str, Routing]]:
    """The work of :func:`record_assessments`, for the chat path's writer (on SQLite one thread does every
    chat-path write: a second writer thread would make both wait in SQLite's busy handler)."""
    actions = actions or DEFAULT_ACTIONS

    def write(s: Session) -> dict[str, Routing]:
        out: dict[str, Routing] = {}
        rows = [
            {"b_conversation": cid, "b_seq": event["seq"], "b_level": assessment.level.name.lower()}
            for cid, events, assessments in assessed
            for event, assessment in zip(events, assessments, strict=True)
        ]
        if rows:
            s.execute(_SET_RISK_LEVEL, rows)
        for cid, _, assessments in assessed:
            top = max((a.level for a in assessments), default=RiskLevel.NONE)
            out[cid] = Routing(top.name.lower())
            if top <= RiskLevel.NONE:
                continue
            conversation = s.get(Conversation, cid)
            if conversation is None:
                continue
            routed: list[dict[str, Any]] = []
            alert_ids: list[str] = []
            for assessment in assessments:  # in order: each level reached acts once
                events, alert_id = _act_on(ctx, s, conversation, assessment, actions)
                routed += events
                alert_ids += [alert_id] if alert_id else []
            out[cid] = Routing(top.name.lower(), tuple(routed), alert_ids[-1] if alert_ids else None)
        return out

    return write


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


_risk_process: ProcessPoolExecutor | None = None
_risk_process_warm: Future[Any] | None = None  # done once the worker has loaded its model
_risk_process_lock = threading.Lock()


def risk_process() -> ProcessPoolExecutor:
    """The process-wide risk worker process, started (and its model loaded) on first use."""
    global _risk_process, _risk_process_warm
    with _risk_process_lock:
        if _risk_process is None:
            _risk_process = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=risk_worker.start_worker,
                initargs=(os.getpid(),),
            )
            _risk_process_warm = _risk_process.submit(risk_worker.warm_up)
        return _risk_process


def risk_process_ready() -> bool:
    """Whether the worker process has loaded its model (until then, rounds sent to it would wait)."""
    warm = _risk_process_warm
    return warm is not None and warm.done()


def _restart_risk_process(broken: Executor) -> None:
    global _risk_process
    with _risk_process_lock:
        if _risk_process is broken:
            _risk_process = None
    broken.shutdown(wait=False, cancel_futures=True)


@dataclass
class RiskQueueStats:
    """Seconds from a message being handed to the queue (after it was stored and delivered) to its
    assessment being committed, for the most recent messages; and the largest backlog seen."""

    assessed: int = 0
    rounds: int = 0
    largest_round: int = 0
    largest_backlog: int = 0
    failed: int = 0
    #: Messages assessed by the phrase layer first because the queue was behind.
    phrases_only: int = 0
    #: Of those, how many the model read again afterwards (the rest kept the phrase layer's level).
    second_looks: int = 0
    lags: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))

    def lag_percentile(self, q: float) -> float | None:
        if not self.lags:
            return None
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


class RiskQueue:
    """Member messages waiting for risk assessment, drained in rounds by one task per event loop.

    The chat path only appends to a dict (``submit``); nothing it waits for is shared with assessment. Each
    round takes the waiting messages (up to ``max_round``, conversations first come first served) and assesses
    them in one batch (``risk_worker.assess_batch``: in a worker process by default, so the CPU-heavy part
    does not compete for this process's GIL), each message in order with its conversation's context, then
    stores every level with one statement and acts on any that rose. The busier it gets, the bigger the
    rounds and the cheaper each message (the model embeds a round's sentences together), so the lag stays
    bounded as long as the machine can do the work at all. When it falls behind (the oldest waiting message
    has waited more than ``max_lag`` seconds, or more are waiting than one model round takes), the waiting
    messages are assessed by the **phrase layer first**, a fraction of a millisecond a message, so explicit risk
    raises its alert within a second or two at any load; rounds through the model are kept small
    (``max_model_round``) so that none holds the queue up for long. What the phrase layer alone assessed
    then gets a **second look** through the model, a small slice after each phrase round and the rest when
    the queue is empty (newest first, up to ``second_look`` conversation parts kept): a burst costs
    lateness, not coverage. Only under sustained overload does the model miss some messages (counted in
    ``stats.phrases_only`` against ``stats.second_looks``, logged, and printed by the benchmark).
    """

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        worker: str = "process",
        max_round: int = 256,
        max_model_round: int = 32,
        max_lag: float = 0.5,
        second_look: int = 2000,
        actions: dict[str, tuple[str, ...]] | None = None,
        cache: ContextCache | None = None,
    ) -> None:
        if worker not in ("process", "thread"):
            raise ValueError("worker is 'process' or 'thread'")
        self.ctx = ctx
        self.worker = worker
        self.max_round = max_round
        self.max_model_round = max_model_round
        self.max_lag = max_lag
        self.actions = actions or DEFAULT_ACTIONS
        self.cache = cache or ContextCache()
        self.stats = RiskQueueStats()
        self._pending: dict[str, list[tuple[dict[str, Any], float]]] = {}
        self._waiting = 0
        # Parts assessed by the phrase layer alone, with the context they were assessed in, newest last.
        self._second_look: deque[tuple[str, list[tuple[dict[str, Any], float]], RecentContext | None]] = deque(
            maxlen=second_look
        )
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self.routed: list[Routing] = []  # the last round's, for tests

    @property
    def backlog(self) -> int:
        return self._waiting

    def start(self) -> None:
        """Start the worker process and load its model (2-3 s, in the background) when the app starts, not
        on the first member message; one-shot commands that bootstrap never pay for it."""
        if self.worker == "process":
            risk_process()

    def submit(self, conversation_id: str, event: dict[str, Any]) -> None:
        """Queue a stored member message (on the event loop; returns at once)."""
        self._pending.setdefault(conversation_id, []).append((event, time.monotonic()))
        self._waiting += 1
        self.stats.largest_backlog = max(self.stats.largest_backlog, self._waiting)
        if self._task is None or self._task.done():
            self._idle = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def sweep_orphans(self) -> int:
        """Queue stored member messages that no queue assessed; returns how many were queued."""
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(RISK_EXECUTOR, unassessed_member_messages, self.ctx)
        waiting = {(cid, event["seq"]) for cid, part in self._pending.items() for event, _ in part}
        fresh = [(cid, event) for cid, event in found if (cid, event["seq"]) not in waiting]
        for conversation_id, event in fresh:
            self.submit(conversation_id, event)
        if fresh:
            log.warning("queued %d member messages that were never assessed", len(fresh))
        return len(fresh)

    async def idle(self) -> None:
        """Wait until everything submitted so far is assessed (tests, shutdown)."""
        if self._task is not None and not self._task.done():
            await self._idle.wait()

    def _oldest_wait(self) -> float:
        """Seconds the oldest waiting message has waited (the first conversation queued holds it)."""
        first = next(iter(self._pending.values()))
        return time.monotonic() - first[0][1]

    def _take(self, limit: int) -> list[tuple[str, list[tuple[dict[str, Any], float]]]]:
        taken: list[tuple[str, list[tuple[dict[str, Any], float]]]] = []
        room = limit
        for conversation_id in list(self._pending):
            if room <= 0:
                break
            waiting = self._pending[conversation_id]
            part, rest = waiting[:room], waiting[room:]
            if rest:
                self._pending[conversation_id] = rest
            else:
                del self._pending[conversation_id]
            part.sort(key=lambda item: item[0]["seq"])
            taken.append((conversation_id, part))
            room -= len(part)
        self._waiting -= limit - room
        return taken

    async def _drain(self) -> None:
        try:
            while self._pending or self._second_look:
                behind = False
                ready = self._model_ready()
                if self._pending:
                    behind = not ready or self._oldest_wait() > self.max_lag or self._waiting > self.max_model_round
                    await self._guarded(self._take(self.max_round if behind else self.max_model_round), behind)
                if self._second_look and not ready and not self._pending:
                    await asyncio.sleep(0.05)  # the worker is still loading its model
                elif self._second_look and (behind or not self._pending):
                    # A small slice through the model between phrase rounds (newest first): the model keeps
                    # up where it can while explicit risk waits at most one slice.
                    looks = []
                    while self._second_look and sum(len(part) for _, part, _ in looks) < self.max_model_round:
                        looks.append(self._second_look.pop())
                    batch = [(cid, part) for cid, part, _ in looks]
                    await self._guarded(batch, False, [context for _, _, context in looks])
        finally:
            self._idle.set()

    def summary(self) -> str:
        """One line for the log when the app stops (the load benchmark reads it)."""
        s = self.stats
        return (
            f"risk queue: {s.assessed} member messages assessed, {s.phrases_only} by the phrase layer first, "
            f"{s.second_looks} of them read again by the model, {s.failed} failed, {self._waiting} still waiting"
        )

    def _model_ready(self) -> bool:
        if self.worker != "process":
            return True
        risk_process()  # started if it was not (start() is called with the app)
        return risk_process_ready()

    async def _guarded(
        self,
        batch: list[tuple[str, list[tuple[dict[str, Any], float]]]],
        phrases_only: bool,
        contexts: list[RecentContext | None] | None = None,
    ) -> None:
        try:
            await self._round(batch, phrases_only=phrases_only, contexts=contexts)
        except Exception:  # noqa: BLE001 - assessment must never break the chat; log and move on
            self.stats.failed += sum(len(part) for _, part in batch)
            log.exception("risk assessment failed for a round of %d conversations", len(batch))

    async def _round(
        self,
        batch: list[tuple[str, list[tuple[dict[str, Any], float]]]],
        *,
        phrases_only: bool = False,
        contexts: list[RecentContext | None] | None = None,
    ) -> None:
        """Assess and record one round. ``contexts`` given: a second look at parts the phrase layer alone
        assessed, each in the context it had then (the conversation's cached context has moved on)."""
        loop = asyncio.get_running_loop()
        second_look = contexts is not None
        if contexts is None:
            contexts = [self.cache.get(cid) for cid, _ in batch]
        missing = {cid: part[0][0]["seq"] for (cid, part), c in zip(batch, contexts, strict=True) if c is None}
        before = await loop.run_in_executor(RISK_EXECUTOR, self._load_context_texts, missing) if missing else {}
        items: list[risk_worker.Item] = [
            (before.get(cid), context, tuple(event["body"] or "" for event, _ in part))
            for (cid, part), context in zip(batch, contexts, strict=True)
        ]
        count = sum(len(part) for _, part in batch)
        if phrases_only:
            self.stats.phrases_only += count
            log.warning("risk queue %d behind: assessing %d messages with the phrase layer alone", self._waiting, count)
            self._second_look.extend((cid, part, context) for (cid, part), context in zip(batch, contexts, strict=True))
        results = await self._assess(items, phrases_only)
        if second_look:
            self.stats.second_looks += count
        else:
            for (cid, _), (_, context) in zip(batch, results, strict=True):
                self.cache.put(cid, context)
        assessed = [
            (cid, [event for event, _ in part], assessments)
            for (cid, part), (assessments, _) in zip(batch, results, strict=True)
        ]
        routed = await self.ctx.write(assessments_writer(self.ctx, assessed, self.actions))
        self.stats.rounds += 1
        if not second_look:
            done = time.monotonic()
            self.stats.assessed += count
            self.stats.largest_round = max(self.stats.largest_round, count)
            self.stats.lags.extend(done - queued for _, part in batch for _, queued in part)
        self.routed = list(routed.values())
        if self.ctx.hub is None:
            return
        for cid, routing in routed.items():
            for event in routing.events:
                await self.ctx.hub.publish(conversation_channel(cid), event)
            if routing.alert_id:
                await self.ctx.hub.publish(
                    SUPERVISORS_CHANNEL, {"type": "alert", "alert_id": routing.alert_id, "level": routing.level}
                )

    def _load_context_texts(self, first_seqs: dict[str, int]) -> dict[str, tuple[str, ...]]:
        with self.ctx.uow() as uow:
            return _earlier_member_texts(self.ctx, uow.session, first_seqs)

    async def _assess(
        self, items: list[risk_worker.Item], phrases_only: bool
    ) -> list[tuple[list[RiskAssessment], RecentContext]]:
        loop = asyncio.get_running_loop()
        # While the worker process is still loading its model (at start), the phrase layer runs here instead.
        # Not always: even at a fraction of a millisecond a message, assessing here takes the event loop's GIL
        # (chat p50 2-3 ms became 6-16 ms under the benchmark's load when every phrase round ran here).
        if self.worker == "process" and not (phrases_only and not risk_process_ready()):
            executor = risk_process()
            try:
                return await loop.run_in_executor(executor, risk_worker.assess_batch, items, phrases_only)
            except BrokenProcessPool:
                log.error("the risk worker process died; restarting it and assessing this round here")
                _restart_risk_process(executor)
        return await loop.run_in_executor(RISK_EXECUTOR, risk_worker.assess_batch, items, phrases_only)


#: A member message still unassessed after this long has fallen out of every queue (its process stopped, or
#: its round failed): the sweeper assesses it. Live queues keep up within ``max_lag`` or fall back.
ORPHAN_AFTER = timedelta(seconds=60)
ORPHAN_WINDOW = timedelta(hours=24)
ORPHAN_SWEEP_SECONDS = 30.0


def unassessed_member_messages(ctx: ServiceContext, limit: int = 500) -> list[tuple[str, dict[str, Any]]]:
    """Member messages of the last day that no queue assessed, oldest conversation order kept."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        rows = s.scalars(
            select(ConversationEvent)
            .join(Conversation, Conversation.id == ConversationEvent.conversation_id)
            .where(
                ConversationEvent.kind == "message",
                ConversationEvent.sender_role == "member",
                ConversationEvent.risk_level.is_(None),
                ConversationEvent.created_at < now - ORPHAN_AFTER,
                ConversationEvent.created_at > now - ORPHAN_WINDOW,
                Conversation.member_deleted_at.is_(None),
            )
            .order_by(ConversationEvent.conversation_id, ConversationEvent.seq)
            .limit(limit)
        ).all()
        return [(event.conversation_id, stored_view(ctx, s, event)) for event in rows]


async def run_orphan_sweeper(queue: RiskQueue, stop: asyncio.Event, interval: float = ORPHAN_SWEEP_SECONDS) -> None:
    """Every ``interval`` seconds, queue what no queue assessed (after a restart, the messages the stopped
    process still held). Several processes may pick up the same orphan: assessing twice raises no second
    alert, since an alert opens only when the conversation's level rises."""
    while not stop.is_set():
        try:
            await queue.sweep_orphans()
        except Exception:  # noqa: BLE001 - the next sweep retries
            log.exception("sweeping unassessed messages failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def route_member_message(
    ctx: ServiceContext, queue: RiskQueue, conversation_id: str, event: dict[str, Any]
) -> None:
    """After a member's message is stored and delivered: queue it for assessment (returns at once)."""
    if ctx.assessor is None:
        return
    queue.submit(conversation_id, event)


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
