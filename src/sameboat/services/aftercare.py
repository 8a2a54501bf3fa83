"""After a conversation: "Did you feel heard?", favourites, and the listener's private notes."""

from __future__ import annotations

from sqlalchemy import select

from sameboat.adapters.storage.models import Favourite, Feedback, ListenerNote, ListenerProfile, User
from sameboat.services import next_steps
from sameboat.services.conversations import conversation_or_404, members_own_conversation
from sameboat.services.errors import Conflict, Forbidden, InvalidInput
from sameboat.services.unit_of_work import ServiceContext

COMMENT_MAX = 2000
NOTE_MAX = 4000


def give_feedback(
    ctx: ServiceContext,
    member: User,
    conversation_id: str,
    *,
    felt_heard: int,
    would_talk_again: bool,
    comment: str = "",
    next_step: next_steps.StepDraft | None = None,
) -> Feedback:
    if not isinstance(felt_heard, int) or not 1 <= felt_heard <= 5:
        raise InvalidInput("Choose how heard you felt, from 1 to 5.", field="felt_heard")
    comment = comment.strip()
    if len(comment) > COMMENT_MAX:
        raise InvalidInput(f"Keep your comment under {COMMENT_MAX} characters.", field="comment")
    assert ctx.cipher is not None
    with ctx.uow() as uow:
        s = uow.session
        conversation = members_own_conversation(
            s, conversation_id, member, "Only the member in a conversation can say how it went."
        )
        if conversation.status != "ended":
            raise Conflict("You can give feedback once the conversation has ended.")
        if s.get(Feedback, conversation_id) is not None:
            raise Conflict("Thank you, you've already told us how this conversation went.")
        feedback = Feedback(
            conversation_id=conversation_id,
            member_id=member.id,
            listener_id=conversation.listener_id,
            felt_heard=felt_heard,
            would_talk_again=would_talk_again,
            comment_ciphertext=ctx.cipher.encrypt(comment) if comment else None,
            created_at=ctx.now(),
        )
        s.add(feedback)
        favourite = s.get(Favourite, (member.id, conversation.listener_id))
        if would_talk_again and favourite is None:
            s.add(Favourite(member_id=member.id, listener_id=conversation.listener_id, created_at=ctx.now()))
        if next_step is not None:  # same transaction: feedback and step are stored together or not at all
            name = s.scalar(
                select(ListenerProfile.display_name).where(ListenerProfile.user_id == conversation.listener_id)
            )
            next_steps.add(ctx, s, conversation, next_step, name or "your listener")
        s.flush()
        return feedback


def save_note(ctx: ServiceContext, listener: User, conversation_id: str, body: str, concern: bool) -> None:
    body = body.strip()
    if len(body) > NOTE_MAX:
        raise InvalidInput(f"Notes can be up to {NOTE_MAX} characters.", field="body")
    assert ctx.cipher is not None
    with ctx.uow() as uow:
        s = uow.session
        conversation = conversation_or_404(s, conversation_id)
        if conversation.listener_id != listener.id:
            raise Forbidden("You can only write notes on your own conversations.")
        note = s.get(ListenerNote, conversation_id)
        if note is None:
            note = ListenerNote(conversation_id=conversation_id, listener_id=listener.id, body_ciphertext=b"")
            s.add(note)
        note.body_ciphertext = ctx.cipher.encrypt(body)
        note.concern = concern
        note.updated_at = ctx.now()


def note_for(ctx: ServiceContext, listener: User, conversation_id: str) -> tuple[str, bool]:
    assert ctx.cipher is not None
    with ctx.uow() as uow:
        s = uow.session
        conversation = conversation_or_404(s, conversation_id)
        if conversation.listener_id != listener.id:
            raise Forbidden("You can only read notes on your own conversations.")
        note = s.scalar(select(ListenerNote).where(ListenerNote.conversation_id == conversation_id))
        return (ctx.cipher.decrypt(note.body_ciphertext), note.concern) if note else ("", False)


def favourites_of(ctx: ServiceContext, member_id: str) -> set[str]:
    with ctx.uow() as uow:
        return set(uow.session.scalars(select(Favourite.listener_id).where(Favourite.member_id == member_id)))
