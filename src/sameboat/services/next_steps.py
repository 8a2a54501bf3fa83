"""Next steps between sessions: set at the end of a session, checked in on later, shown when the two talk again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sameboat.adapters.storage.models import Conversation, ListenerProfile, MemberProfile, NextStep, User
from sameboat.domain.next_steps import ANSWERS, check_in_time, clean_answer, clean_step_text
from sameboat.services import notifications
from sameboat.services.errors import NotFound
from sameboat.services.unit_of_work import ServiceContext, TextCipher

CHECK_IN_KIND = "next_step_check_in"


@dataclass(frozen=True)
class StepDraft:
    """A checked next step, ready to store (built before any transaction opens)."""

    text: str
    check_in_at: datetime


@dataclass(frozen=True)
class StepView:
    id: str
    text: str
    check_in_at: datetime
    created_at: datetime
    status: str  # open | done | partly | not_yet
    answer: str | None  # "Done", "Partly", "Not yet" once answered
    outcome: str
    listener_id: str
    listener_name: str
    member_name: str
    conversation_id: str | None


def draft(text: str, choice: str, chosen_date: str, now: datetime, timezone: str | None) -> StepDraft | None:
    """None when the member left the step empty (it is optional); RuleViolation when it is not valid."""
    if not text.strip():
        return None
    return StepDraft(clean_step_text(text), check_in_time(choice, chosen_date, now, timezone))


def add(
    ctx: ServiceContext, session: Session, conversation: Conversation, step: StepDraft, listener_name: str
) -> NextStep:
    """Store the step and its check-in notice, in the caller's transaction."""
    assert ctx.cipher is not None
    row = NextStep(
        member_id=conversation.member_id,
        listener_id=conversation.listener_id,
        conversation_id=conversation.id,
        text_ciphertext=ctx.cipher.encrypt(step.text),
        check_in_at=step.check_in_at,
        status="open",
        created_at=ctx.now(),
    )
    session.add(row)
    session.flush()
    # The email says nothing of the step itself: the words stay in Sameboat, behind the sign-in.
    notifications.queue(
        session,
        ctx.cipher,
        user_id=conversation.member_id,
        kind=CHECK_IN_KIND,
        subject="How did your next step go?",
        body=(
            f"When you last talked with {listener_name}, you set yourself a small next step. "
            "How did it go? Whatever happened, it takes a few seconds to say."
        ),
        send_after=step.check_in_at,
        link=f"/next-steps/{row.id}",
        next_step_id=row.id,
    )
    return row


def _view(session: Session, cipher: TextCipher, row: NextStep) -> StepView:
    listener_name = session.scalar(
        select(ListenerProfile.display_name).where(ListenerProfile.user_id == row.listener_id)
    )
    member_name = session.scalar(select(MemberProfile.pseudonym).where(MemberProfile.user_id == row.member_id))
    return StepView(
        id=row.id,
        text=cipher.decrypt(row.text_ciphertext),
        check_in_at=row.check_in_at,
        created_at=row.created_at,
        status=row.status,
        answer=ANSWERS.get(row.status),
        outcome=cipher.decrypt(row.outcome_ciphertext) if row.outcome_ciphertext else "",
        listener_id=row.listener_id,
        listener_name=listener_name or "your listener",
        member_name=member_name or "Member",
        conversation_id=row.conversation_id,
    )


def _own_step(session: Session, member: User, step_id: str) -> NextStep:
    row = session.get(NextStep, step_id)
    if row is None or row.member_id != member.id:
        raise NotFound("We couldn't find that next step.")
    return row


def step_for_member(ctx: ServiceContext, member: User, step_id: str) -> StepView:
    assert ctx.cipher is not None
    with ctx.uow() as uow:
        return _view(uow.session, ctx.cipher, _own_step(uow.session, member, step_id))


def answer(ctx: ServiceContext, member: User, step_id: str, status: str, outcome: str) -> StepView:
    """The member says how it went (and may change their answer later). A check-in not sent yet is withdrawn."""
    status, outcome = clean_answer(status, outcome)
    assert ctx.cipher is not None
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        row = _own_step(s, member, step_id)
        row.status = status
        row.outcome_ciphertext = ctx.cipher.encrypt(outcome) if outcome else None
        row.answered_at = now
        notifications.cancel_pending(s, now, next_step_id=row.id)
        s.flush()
        return _view(s, ctx.cipher, row)


def steps_of_member(ctx: ServiceContext, member: User, limit: int = 20) -> list[StepView]:
    assert ctx.cipher is not None
    with ctx.uow() as uow:
        rows = uow.session.scalars(
            select(NextStep).where(NextStep.member_id == member.id).order_by(NextStep.created_at.desc()).limit(limit)
        ).all()
        return [_view(uow.session, ctx.cipher, r) for r in rows]


def last_between(ctx: ServiceContext, conversation: Conversation) -> StepView | None:
    """The latest step this member set with this listener in an earlier session (shown at the top of the next)."""
    assert ctx.cipher is not None
    with ctx.uow() as uow:
        row = uow.session.scalar(
            select(NextStep)
            .where(
                NextStep.member_id == conversation.member_id,
                NextStep.listener_id == conversation.listener_id,
                NextStep.created_at <= conversation.started_at,
                (NextStep.conversation_id != conversation.id) | NextStep.conversation_id.is_(None),
            )
            .order_by(NextStep.created_at.desc())
            .limit(1)
        )
        return _view(uow.session, ctx.cipher, row) if row is not None else None


def open_steps_for_listener(ctx: ServiceContext, listener: User, member_id: str) -> list[StepView]:
    """Steps this member set with this listener that are not answered yet (never other listeners')."""
    assert ctx.cipher is not None
    with ctx.uow() as uow:
        rows = uow.session.scalars(
            select(NextStep)
            .where(NextStep.listener_id == listener.id, NextStep.member_id == member_id, NextStep.status == "open")
            .order_by(NextStep.created_at.desc())
            .limit(10)
        ).all()
        return [_view(uow.session, ctx.cipher, r) for r in rows]
