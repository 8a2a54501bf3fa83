""" "Talk now": support requests, offers to listeners, exactly one winner, and the member's waiting room.

The pure engine (``domain.dispatch``) decides; this module loads its state from the database, writes back
what it decided and tells people after the commit. One process at a time plans offers (a database lease),
while accepts, declines and cancels can arrive at any process: conditional updates make them safe.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from sameboat.adapters.storage.models import (
    Booking,
    Conversation,
    Lease,
    ListenerPresence,
    ListenerProfile,
    MemberProfile,
    Offer,
    SupportRequest,
    User,
)
from sameboat.domain.accounts import ListenerStatus, Role
from sameboat.domain.dispatch import (
    Candidate,
    DispatchConfig,
    DispatchState,
    ListenerAvailability,
    Presence,
    Priority,
    WaitingRequest,
    estimate_wait,
    step,
)
from sameboat.domain.dispatch import Offer as PendingOffer
from sameboat.domain.matching import Timing
from sameboat.domain.safety.escalation import EscalationPolicy
from sameboat.services import matching
from sameboat.services.conversations import (
    active_conversations,
    add_notice,
    conversation_channel,
    open_conversation,
    user_channel,
)
from sameboat.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from sameboat.services.safety import assess_intake, certified_listener_ids, open_alert, run_escalation
from sameboat.services.taxonomy import current_taxonomy
from sameboat.services.unit_of_work import ServiceContext

log = logging.getLogger(__name__)
LEASE_NAME = "dispatcher"
LEASE_TTL = timedelta(seconds=10)
CANDIDATES_KEPT = 50
# A listener picked by name ("Talk with Maria") comes first, ahead of every match score.
CHOSEN_LISTENER_BONUS = 10.0
HIGH_RISK_LEVELS = ("high", "imminent")
CERTIFIED_BONUS = 5.0
# No talk-now offers to a listener whose booked session starts within this time (a conversation runs ~30 min).
BOOKED_SESSION_GUARD = timedelta(minutes=45)
DISPATCH_CHANNEL = "dispatch"
LISTENER_DROPPED_NOTICE = (
    "Your listener's connection dropped. They may be back in a moment. You can wait here, or end the "
    "conversation and we'll find someone else."
)
PROCESS_ID = uuid.uuid4().hex


@dataclass(frozen=True)
class TickResult:
    """Who to tell about what one dispatcher tick changed (published after its commit)."""

    led: bool
    listeners_to_poke: frozenset[str] = frozenset()
    members_to_poke: frozenset[str] = frozenset()
    offers_sent: int = 0
    #: Conversation events the tick added (e.g. "your listener's connection dropped"), to publish.
    notices: tuple[dict[str, Any], ...] = ()


# --- requests -------------------------------------------------------------------------------------------------


def request_support(
    ctx: ServiceContext,
    member: User,
    text: str,
    tags: list[str],
    *,
    chosen_listener_id: str | None = None,
    risk_level: str = "none",
    mode: str = "chat",
) -> SupportRequest:
    """A member asks to talk now. A member has at most one waiting request (a second click returns it)."""
    if member.role != Role.MEMBER.value:
        raise Forbidden("Only members can ask for someone to talk to.")
    mode = "voice" if mode == "voice" else "chat"  # a voice request goes to listeners who take calls
    result = matching.match_for_member(ctx, member, text, tags, timing=Timing.LATER, limit=CANDIDATES_KEPT, mode=mode)
    if result.needs_more_detail and not tags and not chosen_listener_id:
        raise InvalidInput(result.prompt or "Tell us a little more.", field="situation")
    assessment = assess_intake(ctx, text) if risk_level is None else None
    if assessment is not None:
        risk_level = assessment.level.name.lower()
    risk_level = risk_level or "none"
    candidates = [[m.listener_id, round(m.score, 4)] for m in result.matches]
    if risk_level in HIGH_RISK_LEVELS:
        certified = certified_listener_ids(ctx)
        # Certified listeners first (dispatch ranks by score); if none can be reached, anyone is better than no one.
        candidates = [[c[0], c[1] + CERTIFIED_BONUS if c[0] in certified else c[1]] for c in candidates]
        candidates.sort(key=lambda c: -c[1])
    if chosen_listener_id:
        chosen = next((c for c in candidates if c[0] == chosen_listener_id), None)
        if chosen is None:
            raise InvalidInput(
                "That listener can't take this conversation (they may not be available to you).", field="listener_id"
            )
        candidates = [[chosen[0], chosen[1] + CHOSEN_LISTENER_BONUS]] + [c for c in candidates if c is not chosen]
    assert ctx.cipher is not None
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        existing = s.scalar(
            select(SupportRequest).where(SupportRequest.member_id == member.id, SupportRequest.status == "waiting")
        )
        if existing is not None:
            return existing
        request = SupportRequest(
            member_id=member.id,
            text_ciphertext=ctx.cipher.encrypt(text.strip() or "(no words, just a topic)"),
            tags=list(tags),
            topic=result.topics[0].tag if result.topics else None,
            risk_level=risk_level,
            candidates=candidates,
            created_at=now,
            mode=mode,
        )
        s.add(request)
        s.flush()
        if risk_level in HIGH_RISK_LEVELS:
            open_alert(
                ctx,
                s,
                member_id=member.id,
                level=risk_level,
                source="intake",
                request_id=request.id,
                reasons=list(assessment.reasons) if assessment else ["flagged at intake"],
                model_version=assessment.model_version if assessment else None,
            )
        return request


def cancel_request(ctx: ServiceContext, member: User, request_id: str) -> set[str]:
    """The member stops waiting. Returns listeners whose pending offer was withdrawn (to tell them)."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        request = s.get(SupportRequest, request_id)
        if request is None or request.member_id != member.id:
            raise NotFound("We couldn't find that request.")
        if request.status != "waiting":
            raise Conflict("You're no longer waiting for this one.")
        s.execute(
            update(SupportRequest)
            .where(SupportRequest.id == request_id, SupportRequest.status == "waiting")
            .values(status="cancelled")
        )
        pending = list(s.scalars(select(Offer).where(Offer.request_id == request_id, Offer.status == "pending")))
        for offer in pending:
            offer.status, offer.responded_at = "withdrawn", now
        return {o.listener_id for o in pending}


# --- offers ---------------------------------------------------------------------------------------------------


def accept_offer(ctx: ServiceContext, listener: User, offer_id: str) -> tuple[Conversation, str]:
    """The listener takes the conversation. Exactly one listener can win a request, on any process."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        offer = s.get(Offer, offer_id)
        if offer is None or offer.listener_id != listener.id:
            raise NotFound("We couldn't find that offer.")
        if offer.status == "accepted":
            request = s.get(SupportRequest, offer.request_id)
            conversation = s.get(Conversation, request.conversation_id) if request and request.conversation_id else None
            if conversation is not None:
                return conversation, request.member_id  # the same listener clicking twice
        if offer.status != "pending":
            raise Conflict("This offer is no longer open: the member may have been connected or stopped waiting.")
        if now >= offer.expires_at:
            raise Conflict("This offer has expired.")
        profile = s.get(ListenerProfile, listener.id)
        active = active_conversations(s, listener.id)
        if profile is None or active >= profile.max_concurrent:
            raise Conflict("You're already in as many conversations as you can take.")
        # The conditional updates are the real referee: whoever changes the row first wins.
        won = s.execute(
            update(SupportRequest)
            .where(SupportRequest.id == offer.request_id, SupportRequest.status == "waiting")
            .values(status="matched", listener_id=listener.id, matched_at=now)
        ).rowcount
        if won != 1:
            raise Conflict("Another listener is already talking with this member.")
        taken = s.execute(
            update(Offer)
            .where(Offer.id == offer_id, Offer.status == "pending")
            .values(status="accepted", responded_at=now)
        ).rowcount
        if taken != 1:
            raise Conflict("This offer is no longer open.")
        request = s.get(SupportRequest, offer.request_id)
        conversation = open_conversation(
            ctx, s, member_id=request.member_id, listener_id=listener.id, request_id=request.id
        )
        request.conversation_id = conversation.id
        return conversation, request.member_id


def decline_offer(ctx: ServiceContext, listener: User, offer_id: str) -> None:
    with ctx.uow() as uow:
        s = uow.session
        offer = s.get(Offer, offer_id)
        if offer is None or offer.listener_id != listener.id:
            raise NotFound("We couldn't find that offer.")
        declined = s.execute(
            update(Offer)
            .where(Offer.id == offer_id, Offer.status == "pending")
            .values(status="declined", responded_at=ctx.now())
        ).rowcount
        if declined != 1:
            raise Conflict("This offer is no longer open.")


# --- the dispatcher -------------------------------------------------------------------------------------------


def _take_lease(session: Session, now: datetime, holder: str) -> bool:
    """Hold the dispatcher lease (or take over an expired one). Safe across processes."""
    renewed = session.execute(
        update(Lease)
        .where(Lease.name == LEASE_NAME, or_(Lease.holder == holder, Lease.expires_at <= now))
        .values(holder=holder, expires_at=now + LEASE_TTL)
    ).rowcount
    if renewed:
        return True
    if session.get(Lease, LEASE_NAME) is None:
        session.add(Lease(name=LEASE_NAME, holder=holder, expires_at=now + LEASE_TTL))
        session.flush()  # two processes racing here: the loser's primary key clash rolls its tick back
        return True
    return False


def _listener_day_start(timezone: str, now: datetime) -> datetime:
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def load_state(session: Session, now: datetime, config: DispatchConfig) -> DispatchState:
    """The engine's view of the world, read from the database."""
    waiting = list(session.scalars(select(SupportRequest).where(SupportRequest.status == "waiting")))
    ids = [r.id for r in waiting]
    passed: dict[str, dict[str, set[str]]] = {r: {"declined": set(), "expired": set()} for r in ids}
    pending: list[PendingOffer] = []
    if ids:
        for offer in session.scalars(select(Offer).where(Offer.request_id.in_(ids))):
            if offer.status == "pending":
                pending.append(
                    PendingOffer(offer.request_id, offer.listener_id, offer.score, offer.created_at, offer.expires_at)
                )
            elif offer.status in ("declined", "expired"):
                passed[offer.request_id][offer.status].add(offer.listener_id)
    requests = [
        WaitingRequest(
            id=r.id,
            member_id=r.member_id,
            created_at=r.created_at,
            candidates=tuple(Candidate(str(c[0]), float(c[1])) for c in r.candidates),
            priority=Priority.HIGH if r.risk_level in HIGH_RISK_LEVELS else Priority.NORMAL,
            declined_by=frozenset(passed[r.id]["declined"]),
            timed_out_by=frozenset(passed[r.id]["expired"]),
        )
        for r in waiting
    ]
    rows = session.execute(
        select(ListenerPresence, ListenerProfile)
        .join(ListenerProfile, ListenerProfile.user_id == ListenerPresence.listener_id)
        .where(ListenerProfile.status == ListenerStatus.APPROVED.value)
    )
    # A booked session starting soon (or under way) keeps the listener free for it: one query for everyone.
    booked_until = dict(
        session.execute(
            select(Booking.listener_id, func.max(Booking.ends_at))
            .where(
                Booking.status == "booked",
                Booking.starts_at <= now + BOOKED_SESSION_GUARD,
                Booking.ends_at > now,
            )
            .group_by(Booking.listener_id)
        ).all()
    )
    listeners = []
    for presence, profile in rows:
        day_start = _listener_day_start(profile.timezone, now)
        active = active_conversations(session, profile.user_id)
        today = (
            session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(Conversation.listener_id == profile.user_id, Conversation.started_at >= day_start)
            )
            or 0
        )
        last_end = session.scalar(
            select(func.max(Conversation.ended_at)).where(Conversation.listener_id == profile.user_id)
        )
        rest_until = last_end + config.break_between_sessions if last_end else None
        break_until = max(
            filter(None, [presence.break_until, rest_until, booked_until.get(profile.user_id)]), default=None
        )
        listeners.append(
            ListenerAvailability(
                id=profile.user_id,
                presence=Presence(presence.state),
                last_heartbeat_at=presence.last_heartbeat_at,
                active_conversations=active,
                max_concurrent=profile.max_concurrent,
                conversations_today=today,
                daily_limit=presence.daily_limit,
                break_until=break_until,
            )
        )
    known = {x.id for x in listeners}
    # An offer to someone no longer approved is dropped from the engine's view (and withdrawn below).
    return DispatchState.build(
        requests=requests, listeners=listeners, offers=[o for o in pending if o.listener_id in known]
    )


def dispatch_tick(ctx: ServiceContext, config: DispatchConfig, holder: str = PROCESS_ID) -> TickResult:
    """Expire offers, drop silent listeners, plan new offers; all in one transaction, if we hold the lease."""
    now = ctx.now()
    listeners_to_poke: set[str] = set()
    members_to_poke: set[str] = set()
    notices: list[dict[str, Any]] = []
    with ctx.uow() as uow:
        s = uow.session
        if not _take_lease(s, now, holder):
            return TickResult(led=False)
        state = load_state(s, now, config)
        result = step(state, now, config)
        members = {r.id: r.member_id for r in state.requests.values()}
        for offer, status in [*((o, "expired") for o in result.expired), *((o, "withdrawn") for o in result.withdrawn)]:
            s.execute(
                update(Offer)
                .where(
                    Offer.request_id == offer.request_id,
                    Offer.listener_id == offer.listener_id,
                    Offer.status == "pending",
                )
                .values(status=status, responded_at=now)
            )
            listeners_to_poke.add(offer.listener_id)
            members_to_poke.add(members[offer.request_id])
        for listener_id, availability in result.state.listeners.items():
            if availability.presence != state.listeners[listener_id].presence:
                s.execute(
                    update(ListenerPresence)
                    .where(ListenerPresence.listener_id == listener_id)
                    .values(state=availability.presence.value, updated_at=now)
                )
                listeners_to_poke.add(listener_id)
        for listener_id in result.dropped_listeners:
            # The member should not talk into the void: tell them, and let them wait or end and ask again.
            active = s.scalars(
                select(Conversation).where(Conversation.listener_id == listener_id, Conversation.status == "active")
            )
            for conversation in active:
                notices.append(add_notice(ctx, s, conversation.id, LISTENER_DROPPED_NOTICE))
        for decision in result.offers:
            s.add(
                Offer(
                    request_id=decision.request_id,
                    listener_id=decision.listener_id,
                    score=decision.score,
                    created_at=now,
                    expires_at=decision.expires_at,
                )
            )
            listeners_to_poke.add(decision.listener_id)
            members_to_poke.add(members[decision.request_id])
    return TickResult(
        True, frozenset(listeners_to_poke), frozenset(members_to_poke), len(result.offers), tuple(notices)
    )


async def poke_users(ctx: ServiceContext, user_ids: set[str] | frozenset[str], what: str) -> None:
    """Tell pages something changed; they re-read their state (the hub only pokes)."""
    if ctx.hub is None:
        return
    for user_id in user_ids:
        await ctx.hub.publish(user_channel(user_id), {"type": "changed", "what": what})


async def run_tick(ctx: ServiceContext, config: DispatchConfig) -> TickResult:
    result = await asyncio.to_thread(dispatch_tick, ctx, config)
    await poke_users(ctx, result.listeners_to_poke, "offers")
    await poke_users(ctx, result.members_to_poke, "request")
    if ctx.hub is not None:
        for event in result.notices:
            await ctx.hub.publish(conversation_channel(event["conversation_id"]), event)
    return result


async def run_dispatcher(
    ctx: ServiceContext,
    config: DispatchConfig,
    interval: float,
    stop: asyncio.Event,
    escalation: EscalationPolicy | None = None,
) -> None:
    """Tick every ``interval`` seconds, or sooner when poked on the hub's dispatch channel. The same loop
    re-notifies and escalates unacknowledged safety alerts."""
    assert ctx.hub is not None
    poke = await ctx.hub.subscribe(DISPATCH_CHANNEL, max_queue=16)
    try:
        while not stop.is_set():
            try:
                result = await run_tick(ctx, config)
                if result.led:
                    await run_escalation(ctx, escalation or EscalationPolicy())
            except Exception:  # noqa: BLE001 - one bad tick must not stop dispatch; the next one retries
                log.exception("dispatch tick failed")
            getter = asyncio.ensure_future(poke.get())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({getter, stopper}, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (getter, stopper):
                waiter.cancel()
    finally:
        poke.close()


async def nudge_dispatcher(ctx: ServiceContext) -> None:
    if ctx.hub is not None:
        await ctx.hub.publish(DISPATCH_CHANNEL, {"type": "tick"})


# --- what the pages show ----------------------------------------------------------------------------------------


def request_view(ctx: ServiceContext, member: User, request_id: str, config: DispatchConfig) -> dict[str, Any]:
    """The waiting room's state: honest status and estimate, or where the conversation is."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        request = s.get(SupportRequest, request_id)
        if request is None or request.member_id != member.id:
            raise NotFound("We couldn't find that request.")
        if request.status == "matched" and request.conversation_id:
            return {
                "status": "matched",
                "conversation_url": f"/conversations/{request.conversation_id}",
                "headline": "Connected. Opening your conversation…",
            }
        if request.status != "waiting":
            return {
                "status": request.status,
                "headline": "You're no longer waiting.",
                "detail": "You can start again whenever you like.",
                "offer_alternatives": True,
            }
        state = load_state(s, now, config)
        offered = s.scalar(select(Offer).where(Offer.request_id == request_id, Offer.status == "pending"))
    estimate = estimate_wait(state, request_id, now, config=config)
    if offered is not None:
        detail = "A listener who has been there is looking at your request now."
    elif estimate.suitable_online:
        detail = (
            f"{estimate.suitable_online} listener{'s' if estimate.suitable_online != 1 else ''} who could "
            f"help {'are' if estimate.suitable_online != 1 else 'is'} online. You're number "
            f"{estimate.position} in line."
        )
    else:
        detail = "We'll keep looking. Listeners come online through the day."
    return {
        "status": "waiting",
        "headline": estimate.headline,
        "detail": detail,
        "offer_alternatives": estimate.offer_alternatives,
        "waited_seconds": int(estimate.waited.total_seconds()),
    }


def console_view(ctx: ServiceContext, listener: User) -> dict[str, Any]:
    """The listener console's state: presence, the pending offer (with the member's own words), conversations."""
    assert ctx.cipher is not None
    now = ctx.now()
    taxonomy = current_taxonomy(ctx)
    with ctx.uow() as uow:
        s = uow.session
        presence = s.get(ListenerPresence, listener.id)
        offer = s.scalar(
            select(Offer)
            .where(Offer.listener_id == listener.id, Offer.status == "pending", Offer.expires_at > now)
            .order_by(Offer.created_at.desc())
        )
        offer_view = None
        if offer is not None:
            request = s.get(SupportRequest, offer.request_id)
            pseudonym = s.scalar(select(MemberProfile.pseudonym).where(MemberProfile.user_id == request.member_id))
            offer_view = {
                "id": offer.id,
                "name": pseudonym,
                "topic": taxonomy.label(request.topic) if request.topic in taxonomy else None,
                "text": ctx.cipher.decrypt(request.text_ciphertext),
                "expires_in_seconds": max(0, int((offer.expires_at - now).total_seconds())),
                "high_risk": request.risk_level in HIGH_RISK_LEVELS,
            }
        rows = s.execute(
            select(Conversation, MemberProfile.pseudonym)
            .join(MemberProfile, MemberProfile.user_id == Conversation.member_id)
            .where(
                Conversation.listener_id == listener.id,
                or_(
                    Conversation.status == "active",
                    and_(Conversation.status == "ended", Conversation.ended_at >= now - timedelta(hours=12)),
                ),
            )
            .order_by(Conversation.started_at.desc())
            .limit(20)
        )
        conversations = [{"id": c.id, "name": name, "status": c.status} for c, name in rows]
    return {"presence": presence.state if presence else "offline", "offer": offer_view, "conversations": conversations}


async def publish_match(ctx: ServiceContext, conversation: Conversation, member_id: str, listener_id: str) -> None:
    await poke_users(ctx, {member_id}, "request")
    await poke_users(ctx, {listener_id}, "offers")
