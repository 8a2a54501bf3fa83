"""Conversations: every event is committed with its sequence number before anyone is told about it.

The storage part of each use case is synchronous (one transaction); the async wrappers run it in a worker
thread and publish to the hub only after the commit. Clients resume from the last sequence number they saw.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sameboat.adapters.storage.models import (
    Conversation,
    ConversationEvent,
    ListenerProfile,
    MemberProfile,
    Sponsor,
    User,
)
from sameboat.domain.resources import shipped_library
from sameboat.domain.safety.moderation import SENDER_MESSAGES, Category, moderate
from sameboat.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from sameboat.services.unit_of_work import ServiceContext, WriteOp

MAX_MESSAGE_CHARS = 4000
CLIENT_ID_MAX = 64
REPLAY_LIMIT = 1000
# Warn the member when their sponsor has fewer minutes than this left.
LOW_BUDGET_MINUTES = 60


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def user_channel(user_id: str) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True)
class Participant:
    """Who is asking, in this conversation. Names only: never an email."""

    conversation_id: str
    user_id: str
    role: str  # member | listener
    active: bool
    last_seq: int


def _role_in(conversation: Conversation, user: User) -> str:
    if user.id == conversation.member_id:
        return "member"
    if user.id == conversation.listener_id:
        return "listener"
    if conversation.supervisor_id is not None and user.id == conversation.supervisor_id:
        return "supervisor"
    raise Forbidden("This conversation isn't yours.")


def redact_for(event: dict[str, Any], role: str, user_id: str) -> dict[str, Any]:
    """The event as this person may see it. Events for someone else keep their number (so clients can tell a
    gap from a private event) but lose their content."""
    if event.get("type") != "event" or visible_to(event, role, user_id):
        return event
    return {
        "type": "event",
        "conversation_id": event["conversation_id"],
        "seq": event["seq"],
        "kind": "private",
        "at": event["at"],
    }


def visible_to(event: dict[str, Any], role: str, user_id: str) -> bool:
    """Who sees an event: its audience, and a hidden (moderated) message only its sender."""
    if event.get("hidden"):
        return event.get("sender_id") == user_id
    audience = event.get("audience", "all")
    return audience == "all" or audience == role or (role == "supervisor" and audience == "staff")


def conversation_or_404(session: Session, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("We couldn't find that conversation.")
    return conversation


def members_own_conversation(session: Session, conversation_id: str, member: User, refusal: str) -> Conversation:
    """A conversation of this member's that is still in their history: Forbidden (``refusal``) if it is someone
    else's, NotFound if they deleted it."""
    conversation = conversation_or_404(session, conversation_id)
    if conversation.member_id != member.id:
        raise Forbidden(refusal)
    if conversation.member_deleted_at is not None:
        raise NotFound("That conversation is no longer in your history.")
    return conversation


def other_party(conversation: Conversation, user: User) -> str:
    """The member's listener, or the listener's member; Forbidden for anyone else."""
    if user.id == conversation.member_id:
        return conversation.listener_id
    if user.id == conversation.listener_id:
        return conversation.member_id
    raise Forbidden("This conversation isn't yours.")


def active_conversations(session: Session, listener_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.listener_id == listener_id, Conversation.status == "active")
        )
        or 0
    )


def participant(ctx: ServiceContext, conversation_id: str, user: User) -> Participant:
    with ctx.uow() as uow:
        conversation = conversation_or_404(uow.session, conversation_id)
        role = _role_in(conversation, user)
        return Participant(conversation.id, user.id, role, conversation.status == "active", conversation.last_seq)


def other_name(ctx: ServiceContext, me: Participant) -> str:
    with ctx.uow() as uow:
        conversation = uow.session.get(Conversation, me.conversation_id)
        if me.role == "member":
            return _name_of(uow.session, conversation.listener_id, "listener")
        return _name_of(uow.session, conversation.member_id, "member")


def summary(ctx: ServiceContext, me: Participant) -> Conversation:
    with ctx.uow() as uow:
        return uow.session.get(Conversation, me.conversation_id)


# The chat path (a message, a receipt, the sender's name) runs for every line typed, so its statements are built
# once, as Core statements on the tables: building and ORM-compiling them per call cost several times more CPU
# than running them (docs/realtime.md, "What the server spends per message").
_conversations = Conversation.__table__
_events = ConversationEvent.__table__
_members, _listeners = MemberProfile.__table__, ListenerProfile.__table__
_MEMBER_NAME = select(_members.c.pseudonym).where(_members.c.user_id == bindparam("user_id"))
_LISTENER_NAME = select(_listeners.c.display_name).where(_listeners.c.user_id == bindparam("user_id"))


def _name_of(session: Session, user_id: str | None, role: str) -> str:
    if user_id is None:
        return "Sameboat"
    if role == "supervisor":
        return "Sameboat supervisor"
    if role == "member":
        return session.scalar(_MEMBER_NAME, {"user_id": user_id}) or "Member"
    return session.scalar(_LISTENER_NAME, {"user_id": user_id}) or "Listener"


def _event_view(ctx: ServiceContext, event: ConversationEvent, name: str) -> dict[str, Any]:
    body = ctx.cipher.decrypt(event.body_ciphertext) if (ctx.cipher and event.body_ciphertext) else None
    view = {
        "type": "event",
        "conversation_id": event.conversation_id,
        "seq": event.seq,
        "kind": event.kind,
        "from": event.sender_role,
        "sender_id": event.sender_id,
        "name": name,
        "body": body,
        "client_id": event.client_id,
        "at": event.created_at.isoformat(),
        "audience": event.audience,
        "hidden": event.hidden,
    }
    if event.kind == "resource":
        view["resource"] = _resource_card(body)
    return view


def _resource_card(slug: str | None) -> dict[str, object] | None:
    """A shared resource's link card (its body is the slug; None once the member deleted the conversation)."""
    resource = shipped_library().get(slug) if slug else None
    return resource.card() if resource is not None else None


def _append(
    ctx: ServiceContext,
    session: Session,
    conversation_id: str,
    *,
    kind: str,
    sender_id: str | None,
    role: str,
    body: str | None = None,
    client_id: str | None = None,
    allow_ended: bool = False,
    audience: str = "all",
    moderation: tuple[str, ...] = (),
) -> ConversationEvent:
    """Take the next sequence number and add the event, in the caller's transaction."""
    query = update(Conversation).where(Conversation.id == conversation_id)
    if not allow_ended:
        query = query.where(Conversation.status == "active")
    seq = session.execute(
        query.values(last_seq=Conversation.last_seq + 1).returning(Conversation.last_seq)
    ).scalar_one_or_none()
    if seq is None:
        raise Conflict("This conversation has ended.")
    assert ctx.cipher is not None
    event = ConversationEvent(
        conversation_id=conversation_id,
        seq=seq,
        kind=kind,
        sender_id=sender_id,
        sender_role=role,
        client_id=client_id,
        body_ciphertext=ctx.cipher.encrypt(body) if body is not None else None,
        created_at=ctx.now(),
        audience=audience,
        hidden=bool(moderation),
        moderation=list(moderation),
    )
    session.add(event)
    session.flush()
    return event


def open_conversation(
    ctx: ServiceContext, session: Session, *, member_id: str, listener_id: str, request_id: str | None
) -> Conversation:
    """Create a conversation with its first event, in the caller's transaction (used when an offer is won)."""
    conversation = Conversation(
        member_id=member_id, listener_id=listener_id, request_id=request_id, started_at=ctx.now()
    )
    session.add(conversation)
    session.flush()
    _append(ctx, session, conversation.id, kind="joined", sender_id=listener_id, role="listener")
    warning = budget_notice(session, member_id)
    if warning:
        add_notice(ctx, session, conversation.id, warning)
    return conversation


def append_event(
    ctx: ServiceContext,
    session: Session,
    conversation_id: str,
    *,
    kind: str,
    sender_id: str | None,
    role: str,
    body: str | None,
    audience: str = "all",
    allow_ended: bool = False,
    client_id: str | None = None,
) -> dict[str, Any]:
    """Add an event in the caller's transaction and return its view (for safety notices, supervisors, calls)."""
    event = _append(
        ctx,
        session,
        conversation_id,
        kind=kind,
        sender_id=sender_id,
        role=role,
        body=body,
        audience=audience,
        allow_ended=allow_ended,
        client_id=client_id,
    )
    return _event_view(ctx, event, _name_of(session, sender_id, role))


def staff_events(ctx: ServiceContext, conversation_id: str) -> list[dict[str, Any]]:
    """Every event with its content, hidden ones included, and why they were hidden (for supervisors)."""
    with ctx.uow() as uow:
        s = uow.session
        conversation = s.get(Conversation, conversation_id)
        names = {
            conversation.member_id: _name_of(s, conversation.member_id, "member"),
            conversation.listener_id: _name_of(s, conversation.listener_id, "listener"),
        }
        rows = s.scalars(
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == conversation_id)
            .order_by(ConversationEvent.seq)
        )
        return [
            {
                **_event_view(ctx, e, names.get(e.sender_id or "", "Sameboat")),
                "moderation": e.moderation,
                "risk_level": e.risk_level,
            }
            for e in rows
        ]


def check_message(body: str, client_id: str) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("A message can't be empty.", field="body")
    if len(body) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"Messages can be up to {MAX_MESSAGE_CHARS} characters. Try splitting it.", field="body")
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= CLIENT_ID_MAX:
        raise InvalidInput("Each message needs a client_id of 1 to 64 characters.", field="client_id")
    return body.strip()


# Takes the next number only if the conversation is active and the sender takes part in it.
_TAKE_MESSAGE_SEQ = (
    update(_conversations)
    .where(
        _conversations.c.id == bindparam("conversation_id"),
        _conversations.c.status == "active",
        or_(
            _conversations.c.member_id == bindparam("sender_id"),
            _conversations.c.listener_id == bindparam("sender_id"),
            _conversations.c.supervisor_id == bindparam("sender_id"),
        ),
    )
    .values(last_seq=_conversations.c.last_seq + 1)
    .returning(_conversations.c.last_seq, _conversations.c.member_id, _conversations.c.listener_id)
)
_INSERT_EVENT = insert(_events)
_EXISTING_MESSAGE = select(ConversationEvent).where(
    ConversationEvent.conversation_id == bindparam("conversation_id"),
    ConversationEvent.sender_id == bindparam("sender_id"),
    ConversationEvent.client_id == bindparam("client_id"),
)


def store_message(
    ctx: ServiceContext, conversation_id: str, sender: User, client_id: str, body: str
) -> tuple[dict[str, Any], bool]:
    """Commit a message (once, however often it is resent). Returns (event, newly_created)."""
    return ctx.transact(message_writer(ctx, conversation_id, sender, client_id, body))


class _NotTaken(Exception):
    """The conversation gave no number: it ended, is unknown, or the sender is not in it."""


def message_writer(
    ctx: ServiceContext, conversation_id: str, sender: User, client_id: str, body: str
) -> WriteOp[tuple[dict[str, Any], bool]]:
    """Check the message now (bad input never queues), and return the work that stores it in a transaction.

    One UPDATE ... RETURNING takes the next sequence number, one INSERT stores the message. A resent client_id
    breaks the unique constraint: what it did rolls back (its number included) and the stored original is
    returned instead.
    """
    body = check_message(body, client_id)
    # Contact details, off-platform moves and the like are kept for review but never delivered.
    moderation = [c.value for c in moderate(body).categories]
    assert ctx.cipher is not None
    ciphertext = ctx.cipher.encrypt(body)  # before the transaction, which then holds the write lock for less
    keys = {"conversation_id": conversation_id, "sender_id": sender.id, "client_id": client_id}

    def write(s: Session) -> tuple[dict[str, Any], bool]:
        # Inside the SQLite writer's batch a resend may only undo itself: a savepoint of its own. In a
        # transaction of its own (PostgreSQL) a savepoint would cost two round trips a message; a resend
        # rolls the whole (then useless) transaction back instead.
        batched = s.in_nested_transaction()
        try:
            with s.begin_nested() if batched else contextlib.nullcontext():
                taken = s.execute(_TAKE_MESSAGE_SEQ, keys).first()
                if taken is None:
                    raise _NotTaken
                seq, member_id, listener_id = taken
                role = "member" if sender.id == member_id else "listener" if sender.id == listener_id else "supervisor"
                now = ctx.now()
                s.execute(
                    _INSERT_EVENT,
                    {
                        **keys,
                        "seq": seq,
                        "kind": "message",
                        "sender_role": role,
                        "body_ciphertext": ciphertext,
                        "created_at": now,
                        "audience": "all",
                        "hidden": bool(moderation),
                        "moderation": moderation,
                    },
                )
        except _NotTaken:  # say which (or return a resent original)
            return _stored_or_refused(ctx, s, conversation_id, sender, keys), False
        except IntegrityError:
            # Stored already (a resend, or the same client_id on two sockets at once): return the original.
            if not batched:
                s.rollback()
            existing = s.scalar(_EXISTING_MESSAGE, keys)
            if existing is None:
                raise Conflict("This message was sent twice at the same moment; please refresh.") from None
            name = _name_of(s, sender.id, existing.sender_role)
            return _with_warning(_event_view(ctx, existing, name), existing), False
        view = {
            "type": "event",
            "conversation_id": conversation_id,
            "seq": seq,
            "kind": "message",
            "from": role,
            "sender_id": sender.id,
            "name": _name_of(s, sender.id, role),
            "body": body,
            "client_id": client_id,
            "at": now.isoformat(),
            "audience": "all",
            "hidden": bool(moderation),
        }
        if moderation:
            view["warning"] = SENDER_MESSAGES[Category(moderation[0])]
        return view, True

    return write


def _stored_or_refused(
    ctx: ServiceContext, s: Session, conversation_id: str, sender: User, keys: dict[str, str]
) -> dict[str, Any]:
    conversation = conversation_or_404(s, conversation_id)
    role = _role_in(conversation, sender)
    existing = s.scalar(_EXISTING_MESSAGE, keys)
    if existing is not None:  # resent after the end: it was stored before, so acknowledge it again
        return _with_warning(_event_view(ctx, existing, _name_of(s, sender.id, role)), existing)
    raise Conflict("This conversation has ended.")


def _with_warning(view: dict[str, Any], event: ConversationEvent) -> dict[str, Any]:
    if event.hidden and event.moderation:
        view["warning"] = SENDER_MESSAGES[Category(event.moderation[0])]
    return view


def events_after(
    ctx: ServiceContext, conversation_id: str, user: User, after_seq: int, limit: int = REPLAY_LIMIT
) -> list[dict[str, Any]]:
    """The events a (re)connecting client missed, in order."""
    with ctx.uow() as uow:
        s = uow.session
        conversation = conversation_or_404(s, conversation_id)
        role = _role_in(conversation, user)
        names = {
            conversation.member_id: _name_of(s, conversation.member_id, "member"),
            conversation.listener_id: _name_of(s, conversation.listener_id, "listener"),
        }
        if conversation.supervisor_id:
            names[conversation.supervisor_id] = _name_of(s, conversation.supervisor_id, "supervisor")
        rows = s.scalars(
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == conversation_id, ConversationEvent.seq > after_seq)
            .order_by(ConversationEvent.seq)
            .limit(limit)
        )
        return [redact_for(_event_view(ctx, e, names.get(e.sender_id or "", "Sameboat")), role, user.id) for e in rows]


def stored_view(ctx: ServiceContext, session: Session, event: ConversationEvent) -> dict[str, Any]:
    """An event as it was published (for work that picks stored events up again, e.g. risk assessment)."""
    return _event_view(ctx, event, _name_of(session, event.sender_id, event.sender_role))


def end(ctx: ServiceContext, conversation_id: str, user: User) -> dict[str, Any]:
    with ctx.uow() as uow:
        s = uow.session
        conversation = conversation_or_404(s, conversation_id)
        role = _role_in(conversation, user)
        if conversation.status != "active":
            raise Conflict("This conversation has already ended.")
        event = close(ctx, s, conversation, ended_by=role, sender_id=user.id)
        return _event_view(ctx, event, _name_of(s, user.id, role))


def close(
    ctx: ServiceContext,
    session: Session,
    conversation: Conversation,
    *,
    ended_by: str,
    sender_id: str | None,
    charge: bool = True,
) -> ConversationEvent:
    """End a conversation in the caller's transaction and charge its minutes to the member's sponsor."""
    from sameboat.services import calls  # calls builds on this module

    role = ended_by if ended_by in ("member", "listener", "supervisor") else "sameboat"
    # A voice call ends with its conversation: its minutes are inside the conversation's, charged below.
    # Only the "ended" event is published; sockets see the gap before it and replay the call's end.
    calls.close_open_call(ctx, session, conversation.id, role, sender_id)
    event = _append(ctx, session, conversation.id, kind="ended", sender_id=sender_id, role=role)
    now = ctx.now()
    minutes = _minutes(conversation.started_at, now) if charge else 0
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(status="ended", ended_at=now, ended_by=ended_by, minutes_charged=minutes)
    )
    # Session minutes count against the member's sponsor's budget.
    sponsor_id = session.scalar(select(User.sponsor_id).where(User.id == conversation.member_id))
    if sponsor_id and minutes:
        session.execute(
            update(Sponsor).where(Sponsor.id == sponsor_id).values(minutes_used=Sponsor.minutes_used + minutes)
        )
    return event


def add_notice(ctx: ServiceContext, session: Session, conversation_id: str, text: str) -> dict[str, Any]:
    """A message from Sameboat itself into the conversation (stored and numbered like any event)."""
    event = _append(ctx, session, conversation_id, kind="notice", sender_id=None, role="sameboat", body=text)
    return _event_view(ctx, event, "Sameboat")


def budget_notice(session: Session, member_id: str) -> str | None:
    """Warn the member when their organisation's minutes are nearly used up (never block a conversation)."""
    sponsor = session.scalar(select(Sponsor).join(User, User.sponsor_id == Sponsor.id).where(User.id == member_id))
    if sponsor is None or sponsor.minutes_budget is None:
        return None
    left = sponsor.minutes_budget - sponsor.minutes_used
    if left > LOW_BUDGET_MINUTES:
        return None
    if left <= 0:
        return (
            "Your organisation's included minutes are used up. This conversation can go on; "
            "ask your organisation about more time for later."
        )
    return f"Your organisation has about {left} minutes of conversation time left this period."


def _minutes(started: datetime, ended: datetime) -> int:
    return max(1, -(-int((ended - started).total_seconds()) // 60))


def _mark_seen_statement(role: str, kind: str) -> Any:
    column = _conversations.c[f"{role}_last_{kind}_seq"]
    capped = case((bindparam("seq") < _conversations.c.last_seq, bindparam("seq")), else_=_conversations.c.last_seq)
    return (
        update(_conversations)
        .where(
            _conversations.c.id == bindparam("conversation_id"),
            _conversations.c[f"{role}_id"] == bindparam("user_id"),
            column < capped,
        )
        .values({column: capped})
        .returning(column)
    )


# The chat page sends a "read" receipt for every message it shows, so a receipt is one prebuilt UPDATE too.
_MARK_SEEN = {
    (role, kind): _mark_seen_statement(role, kind) for role in ("member", "listener") for kind in ("delivered", "read")
}


def mark_seen(ctx: ServiceContext, conversation_id: str, user: User, seq: int, kind: str) -> int | None:
    """Record that the user's client has received ("delivered") or shown ("read") events up to seq.
    Returns the stored number (capped at the last event), or None if nothing moved forward."""
    return ctx.transact(receipt_writer(conversation_id, user, seq, kind))


def receipt_writer(conversation_id: str, user: User, seq: int, kind: str) -> WriteOp[int | None]:
    if kind not in ("delivered", "read") or seq < 0:
        raise InvalidInput("Receipts are 'delivered' or 'read' with a sequence number.", field="kind")
    # Capped at the last event in SQL; capped here too so that any number fits a 64-bit column.
    params = {"conversation_id": conversation_id, "user_id": user.id, "seq": min(seq, 2**62)}
    roles = ("listener", "member") if user.role == "listener" else ("member", "listener")

    def write(s: Session) -> int | None:
        for role in roles:
            stored = s.execute(_MARK_SEEN[role, kind], params).scalar()
            if stored is not None:
                return int(stored)
        # Nothing moved: an unknown conversation, someone else's, a supervisor's, or already marked.
        _role_in(conversation_or_404(s, conversation_id), user)
        return None

    return write


# --- async wrappers: store first (in a worker thread), then tell the hub -----------------------------------


async def send_message(
    ctx: ServiceContext, conversation_id: str, sender: User, client_id: str, body: str
) -> dict[str, Any]:
    event, created = await ctx.write(message_writer(ctx, conversation_id, sender, client_id, body))
    if created and ctx.hub is not None:
        await ctx.hub.publish(conversation_channel(conversation_id), event)
    if created and event["from"] == "member" and ctx.on_member_message is not None:
        # Risk assessment runs after the message is acknowledged and delivered: it never slows the chat.
        ctx.background(ctx.on_member_message(conversation_id, event))
    return event


async def end_conversation(ctx: ServiceContext, conversation_id: str, user: User) -> dict[str, Any]:
    event = await asyncio.to_thread(end, ctx, conversation_id, user)
    if ctx.hub is not None:
        await ctx.hub.publish(conversation_channel(conversation_id), event)
    return event


async def receipt(ctx: ServiceContext, conversation_id: str, user: User, seq: int, kind: str, role: str) -> None:
    stored = await ctx.write(receipt_writer(conversation_id, user, seq, kind))
    if stored is not None and ctx.hub is not None:
        await ctx.hub.publish(
            conversation_channel(conversation_id), {"type": "receipt", "kind": kind, "seq": stored, "by": role}
        )


def store_resource_share(ctx: ServiceContext, conversation_id: str, listener: User, slug: str) -> dict[str, Any]:
    """A listener shares a library resource: an event of kind ``resource`` whose body is the slug."""
    slug = slug.strip() if isinstance(slug, str) else ""
    with ctx.uow() as uow:
        s = uow.session
        conversation = conversation_or_404(s, conversation_id)
        if _role_in(conversation, listener) != "listener":
            raise Forbidden("Only the listener in this conversation can share a resource here.")
        if not slug or shipped_library().get(slug) is None:
            raise InvalidInput("We don't have that resource. Choose one from the list.", field="slug")
        if conversation.status != "active":
            raise Conflict("This conversation has ended.")
        return append_event(ctx, s, conversation_id, kind="resource", sender_id=listener.id, role="listener", body=slug)


async def share_resource(ctx: ServiceContext, conversation_id: str, listener: User, slug: str) -> dict[str, Any]:
    event = await asyncio.to_thread(store_resource_share, ctx, conversation_id, listener, slug)
    if ctx.hub is not None:
        await ctx.hub.publish(conversation_channel(conversation_id), event)
    return event


async def typing(ctx: ServiceContext, conversation_id: str, role: str) -> None:
    """Typing is ephemeral: not stored, best-effort."""
    if ctx.hub is not None:
        await ctx.hub.publish(conversation_channel(conversation_id), {"type": "typing", "from": role})
