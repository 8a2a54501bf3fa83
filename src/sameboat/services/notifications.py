"""In-app notices and email, through one outbox table.

A notice is stored in the same transaction as the change it reports (a booking, a check-in date), with the
time it becomes due. The app shows due notices in the member's or listener's inbox; the notification worker
emails them when SMTP is configured. A crash between the two loses nothing: the row is the source of truth.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from sameboat.adapters.mail import Mailer
from sameboat.adapters.storage.models import Notification, User
from sameboat.services.unit_of_work import ServiceContext, TextCipher

log = logging.getLogger(__name__)
MAX_EMAIL_ATTEMPTS = 5


@dataclass(frozen=True)
class NoticeView:
    id: int
    kind: str
    subject: str
    body: str
    link: str
    at: datetime
    read: bool


def queue(
    session: Session,
    cipher: TextCipher,
    *,
    user_id: str,
    kind: str,
    subject: str,
    body: str,
    send_after: datetime,
    link: str = "",
    ics: str | None = None,
    booking_id: str | None = None,
    next_step_id: str | None = None,
    email: bool = True,
) -> Notification:
    """Add a notice inside the caller's transaction (so it exists exactly when the change does).
    ``email=False`` keeps it in the app only (it is marked as needing no email)."""
    notice = Notification(
        user_id=user_id,
        kind=kind,
        subject=subject[:200],
        body_ciphertext=cipher.encrypt(body),
        link=link[:200],
        ics=ics,
        send_after=send_after,
        booking_id=booking_id,
        next_step_id=next_step_id,
        email_attempts=0,
        email_error="",
        emailed_at=None if email else send_after,
        cancelled=False,
    )
    session.add(notice)
    return notice


def cancel_pending(
    session: Session, now: datetime, *, booking_id: str | None = None, next_step_id: str | None = None
) -> None:
    """Withdraw notices not due yet, and due ones not emailed yet (a reminder for a cancelled booking that the
    worker has not sent must not go out after the cancellation)."""
    statement = update(Notification).where(
        or_(Notification.send_after > now, Notification.emailed_at.is_(None)), Notification.cancelled.is_(False)
    )
    if booking_id is not None:
        statement = statement.where(Notification.booking_id == booking_id)
    if next_step_id is not None:
        statement = statement.where(Notification.next_step_id == next_step_id)
    session.execute(statement.values(cancelled=True))


def _due(user_id: str, now: datetime):  # type: ignore[no-untyped-def]
    return select(Notification).where(
        Notification.user_id == user_id, Notification.send_after <= now, Notification.cancelled.is_(False)
    )


def inbox(ctx: ServiceContext, user: User, limit: int = 30) -> list[NoticeView]:
    assert ctx.cipher is not None
    with ctx.uow() as uow:
        rows = uow.session.scalars(
            _due(user.id, ctx.now()).order_by(Notification.send_after.desc(), Notification.id.desc()).limit(limit)
        ).all()
        return [
            NoticeView(
                id=row.id,
                kind=row.kind,
                subject=row.subject,
                body=ctx.cipher.decrypt(row.body_ciphertext),
                link=row.link,
                at=row.send_after,
                read=row.read_at is not None,
            )
            for row in rows
        ]


def unread_count(ctx: ServiceContext, user: User) -> int:
    with ctx.uow() as uow:
        query = _due(user.id, ctx.now()).where(Notification.read_at.is_(None))
        return int(uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def mark_all_read(ctx: ServiceContext, user: User) -> None:
    now = ctx.now()
    with ctx.uow() as uow:
        uow.session.execute(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.send_after <= now, Notification.read_at.is_(None))
            .values(read_at=now)
        )


def send_due_emails(ctx: ServiceContext, mailer: Mailer, base_url: str = "", limit: int = 50) -> int:
    """Email due notices. Each row is claimed with a conditional update first, so two processes running
    this never both send it; a failed send is retried on later runs, up to MAX_EMAIL_ATTEMPTS."""
    assert ctx.cipher is not None
    now = ctx.now()
    with ctx.uow() as uow:
        due = uow.session.execute(
            select(Notification.id, Notification.email_attempts)
            .where(
                Notification.send_after <= now,
                Notification.emailed_at.is_(None),
                Notification.cancelled.is_(False),
                Notification.email_attempts < MAX_EMAIL_ATTEMPTS,
            )
            .order_by(Notification.send_after)
            .limit(limit)
        ).all()
    sent = 0
    for notice_id, attempts in due:
        with ctx.uow() as uow:
            claimed = uow.session.execute(
                update(Notification)
                .where(Notification.id == notice_id, Notification.email_attempts == attempts)
                .where(Notification.emailed_at.is_(None))
                .values(email_attempts=attempts + 1)
            ).rowcount
        if claimed != 1:
            continue
        with ctx.uow() as uow:
            notice = uow.session.get(Notification, notice_id)
            assert notice is not None
            email = uow.session.scalar(select(User.email).where(User.id == notice.user_id))
            subject, body, ics = notice.subject, ctx.cipher.decrypt(notice.body_ciphertext), notice.ics
            link = notice.link
        if link:
            body = f"{body}\n\n{base_url.rstrip('/')}{link}"
        try:
            mailer.send(email or "", subject, body, ics)
        except Exception as exc:  # noqa: BLE001 - any SMTP failure is retried later, never lost
            log.warning("email for notice %s failed: %s", notice_id, exc)
            with ctx.uow() as uow:
                uow.session.execute(
                    update(Notification).where(Notification.id == notice_id).values(email_error=str(exc)[:300])
                )
            continue
        with ctx.uow() as uow:
            uow.session.execute(
                update(Notification).where(Notification.id == notice_id).values(emailed_at=ctx.now(), email_error="")
            )
        sent += 1
    return sent
