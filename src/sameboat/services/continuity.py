"""Coming back: the member's history (and deleting from it), favourites, "talk again with ...", and a
listener's own notes from earlier sessions with the same member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from sameboat.adapters.storage.models import (
    Block,
    Conversation,
    ConversationEvent,
    Favourite,
    Feedback,
    ListenerNote,
    ListenerPresence,
    ListenerProfile,
    NextStep,
    SupportRequest,
    User,
)
from sameboat.domain.accounts import ListenerStatus
from sameboat.services import dispatch
from sameboat.services.conversations import conversation_or_404, members_own_conversation
from sameboat.services.errors import Conflict, Forbidden, NotFound
from sameboat.services.presence import HEARTBEAT_STALE_AFTER
from sameboat.services.unit_of_work import ServiceContext

HISTORY_LIMIT = 100
EARLIER_NOTES_LIMIT = 10
# What a deleted member's intake words become (the column is required; the words are gone).
DELETED_TEXT = "(deleted by the member)"


@dataclass(frozen=True)
class PastConversation:
    id: str
    listener_id: str
    listener_name: str
    started_at: datetime
    ended_at: datetime | None
    minutes: int | None  # None while it is still going on
    active: bool
    gave_feedback: bool
    next_step_id: str | None


@dataclass(frozen=True)
class ListenerChoice:
    """A listener the member may want to talk with again, and whether they can talk right now."""

    id: str
    name: str
    available_now: bool
    favourite: bool


@dataclass(frozen=True)
class EarlierNote:
    conversation_id: str
    date: datetime
    body: str
    concern: bool


def available_now(session: Session, listener_ids: set[str], now: datetime, member_id: str) -> set[str]:
    """Listeners who could take a conversation this minute: approved, online (fresh heartbeat, not on a
    break), with room for one more, and not blocked either way."""
    if not listener_ids:
        return set()
    approved = set(
        session.scalars(
            select(ListenerProfile.user_id).where(
                ListenerProfile.user_id.in_(listener_ids), ListenerProfile.status == ListenerStatus.APPROVED.value
            )
        )
    )
    capacity = dict(
        session.execute(
            select(ListenerProfile.user_id, ListenerProfile.max_concurrent).where(ListenerProfile.user_id.in_(approved))
        ).all()
    )
    busy = dict(
        session.execute(
            select(Conversation.listener_id, func.count())
            .where(Conversation.listener_id.in_(approved), Conversation.status == "active")
            .group_by(Conversation.listener_id)
        ).all()
    )
    blocked = set(
        session.scalars(select(Block.blocked_id).where(Block.blocker_id == member_id, Block.blocked_id.in_(approved)))
    ) | set(session.scalars(select(Block.blocker_id).where(Block.blocked_id == member_id)))
    free = set()
    for row in session.scalars(select(ListenerPresence).where(ListenerPresence.listener_id.in_(approved))):
        online = (
            row.state == "online"
            and row.last_heartbeat_at is not None
            and now - row.last_heartbeat_at <= HEARTBEAT_STALE_AFTER
            and (row.break_until is None or row.break_until <= now)
        )
        has_room = busy.get(row.listener_id, 0) < capacity.get(row.listener_id, 1)
        if online and has_room and row.listener_id not in blocked:
            free.add(row.listener_id)
    return free


def history(ctx: ServiceContext, member: User) -> list[PastConversation]:
    """The member's own conversations, newest first; deleted ones are gone from here."""
    with ctx.uow() as uow:
        s = uow.session
        rows = s.execute(
            select(Conversation, ListenerProfile.display_name, Feedback.conversation_id)
            .join(ListenerProfile, ListenerProfile.user_id == Conversation.listener_id)
            .outerjoin(Feedback, Feedback.conversation_id == Conversation.id)
            .where(Conversation.member_id == member.id, Conversation.member_deleted_at.is_(None))
            .order_by(Conversation.started_at.desc(), Conversation.id)
            .limit(HISTORY_LIMIT)
        ).all()
        ids = [c.id for c, _, _ in rows]
        steps = dict(
            s.execute(select(NextStep.conversation_id, NextStep.id).where(NextStep.conversation_id.in_(ids))).all()
        )
        return [
            PastConversation(
                id=c.id,
                listener_id=c.listener_id,
                listener_name=name,
                started_at=c.started_at,
                ended_at=c.ended_at,
                minutes=c.minutes_charged if c.status == "ended" else None,
                active=c.status == "active",
                gave_feedback=feedback_id is not None,
                next_step_id=steps.get(c.id),
            )
            for c, name, feedback_id in rows
        ]


def listeners_to_talk_again(ctx: ServiceContext, member: User, past: list[PastConversation]) -> list[ListenerChoice]:
    """Favourites first, then everyone else from the history, each once, with whether they're free now."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        favourites = list(
            s.execute(
                select(Favourite.listener_id, ListenerProfile.display_name)
                .join(ListenerProfile, ListenerProfile.user_id == Favourite.listener_id)
                .where(Favourite.member_id == member.id)
                .order_by(Favourite.created_at.desc())
            ).all()
        )
        names = {listener_id: name for listener_id, name in favourites}
        for item in past:
            names.setdefault(item.listener_id, item.listener_name)
        free = available_now(s, set(names), now, member.id)
    favourite_ids = {listener_id for listener_id, _ in favourites}
    return [ListenerChoice(i, n, i in free, i in favourite_ids) for i, n in names.items()]


def remove_favourite(ctx: ServiceContext, member: User, listener_id: str) -> None:
    with ctx.uow() as uow:
        removed = uow.session.execute(
            delete(Favourite).where(Favourite.member_id == member.id, Favourite.listener_id == listener_id)
        ).rowcount
        if removed != 1:
            raise NotFound("That listener isn't in your favourites.")


def own_past_conversation(ctx: ServiceContext, member: User, conversation_id: str) -> PastConversation:
    """One conversation from the member's history (for the delete confirmation)."""
    for item in history(ctx, member):
        if item.id == conversation_id:
            return item
    with ctx.uow() as uow:
        conversation = conversation_or_404(uow.session, conversation_id)
        if conversation.member_id != member.id:
            raise Forbidden("You can only delete your own conversations.")
    raise NotFound("That conversation is no longer in your history.")


def delete_conversation(ctx: ServiceContext, member: User, conversation_id: str) -> None:
    """Wipe the transcript and hide the conversation from the member's history, in one transaction.

    Kept: the conversation row (minutes charged, risk level, times), event rows without their words (so
    sequence numbers, alerts and moderation records still line up), alerts, reports, the felt-heard score,
    next steps, and the listener's private note, which is the listener's own record.
    Wiped: every message body (for the listener too), the member's words at intake and their feedback comment.
    """
    assert ctx.cipher is not None
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        conversation = members_own_conversation(
            s, conversation_id, member, "You can only delete your own conversations."
        )
        if conversation.status == "active":
            raise Conflict("This conversation is still going on. End it first, then you can delete it.")
        # Conditional: a second click, or a second process, finds nothing left to do.
        hidden = s.execute(
            update(Conversation)
            .where(
                Conversation.id == conversation_id,
                Conversation.member_id == member.id,
                Conversation.status == "ended",
                Conversation.member_deleted_at.is_(None),
            )
            .values(member_deleted_at=now)
        ).rowcount
        if hidden != 1:
            raise Conflict("This conversation changed while you were deleting it. Reload and try again.")
        s.execute(
            update(ConversationEvent)
            .where(ConversationEvent.conversation_id == conversation_id)
            .values(body_ciphertext=None)
        )
        if conversation.request_id:
            s.execute(
                update(SupportRequest)
                .where(SupportRequest.id == conversation.request_id)
                .values(text_ciphertext=ctx.cipher.encrypt(DELETED_TEXT))
            )
        s.execute(update(Feedback).where(Feedback.conversation_id == conversation_id).values(comment_ciphertext=None))


def earlier_notes(ctx: ServiceContext, listener: User, conversation: Conversation) -> list[EarlierNote]:
    """This listener's own notes from earlier sessions with the same member. Never another listener's."""
    assert ctx.cipher is not None
    with ctx.uow() as uow:
        rows = uow.session.execute(
            select(ListenerNote, Conversation.started_at)
            .join(Conversation, Conversation.id == ListenerNote.conversation_id)
            .where(
                ListenerNote.listener_id == listener.id,
                Conversation.listener_id == listener.id,
                Conversation.member_id == conversation.member_id,
                Conversation.id != conversation.id,
                Conversation.started_at <= conversation.started_at,
            )
            .order_by(Conversation.started_at.desc())
            .limit(EARLIER_NOTES_LIMIT)
        ).all()
        notes = [
            EarlierNote(note.conversation_id, started, ctx.cipher.decrypt(note.body_ciphertext), note.concern)
            for note, started in rows
        ]
    return [n for n in notes if n.body.strip() or n.concern]


def talk_again_topics(ctx: ServiceContext, member: User, listener_id: str) -> list[str]:
    """The topics of the member's last request that reached this listener, else the listener's first tag,
    so matching has something to go on when the member just presses "Talk again"."""
    with ctx.uow() as uow:
        s = uow.session
        request = s.scalar(
            select(SupportRequest)
            .where(SupportRequest.member_id == member.id, SupportRequest.listener_id == listener_id)
            .order_by(SupportRequest.created_at.desc())
            .limit(1)
        )
        if request is not None and (request.tags or request.topic):
            return list(request.tags) or [request.topic]  # type: ignore[list-item]
        profile = s.get(ListenerProfile, listener_id)
        return list(profile.tags[:1]) if profile is not None else []


def talk_again(ctx: ServiceContext, member: User, listener_id: str) -> tuple[str, SupportRequest | None]:
    """Ask to talk now with a listener from the history. Returns (listener name, request), with no request
    when the listener can't talk right now (the page then says so and offers other ways)."""
    with ctx.uow() as uow:
        s = uow.session
        profile = s.get(ListenerProfile, listener_id)
        known = s.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.member_id == member.id, Conversation.listener_id == listener_id)
        ) or s.get(Favourite, (member.id, listener_id))
        if profile is None or not known or profile.status != ListenerStatus.APPROVED.value:
            raise NotFound("We couldn't find that listener in your history. They may be taking a break.")
        name = profile.display_name
        free = listener_id in available_now(s, {listener_id}, ctx.now(), member.id)
    if not free:
        return name, None
    topics = talk_again_topics(ctx, member, listener_id)
    return name, dispatch.request_support(ctx, member, "", topics, chosen_listener_id=listener_id)
