"""Sign-up, sign-in, sessions and passwords."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from sameboat.adapters.storage.models import AccessCode, AuthSession, MemberProfile, Sponsor, User
from sameboat.domain.accounts import (
    AccessCodeState,
    MemberPreferences,
    Role,
    RuleViolation,
    check_access_code_usable,
    check_languages,
    check_password,
    check_pseudonym,
    normalise_access_code,
    normalise_email,
)
from sameboat.services.errors import Conflict, InvalidInput, NotAuthenticated
from sameboat.services.unit_of_work import ServiceContext

SESSION_KINDS = ("web", "api")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str


def _email_taken(session, email: str) -> bool:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(User).where(User.email == email)) > 0


def sign_up_member(
    ctx: ServiceContext,
    *,
    email: str,
    password: str,
    pseudonym: str,
    access_code: str | None,
    languages: list[str] | None = None,
    preferences: MemberPreferences | None = None,
) -> User:
    """Create a member account. Uses one seat of the access code; all or nothing."""
    email = normalise_email(email)
    check_password(password)
    pseudonym = check_pseudonym(pseudonym)
    languages = check_languages(languages or ["en"])
    preferences = preferences or MemberPreferences()
    if not access_code and not ctx.open_signup:
        raise InvalidInput("Please enter the access code your organisation gave you.", field="access_code")
    now = ctx.now()
    password_hash = ctx.hasher.hash(password)
    with ctx.uow() as uow:
        s = uow.session
        if _email_taken(s, email):
            raise Conflict("An account with this email already exists. Try signing in instead.", field="email")
        if s.scalar(select(func.count()).select_from(MemberProfile).where(MemberProfile.pseudonym == pseudonym)):
            raise Conflict("That name is already taken. Please choose another.", field="pseudonym")
        code_row: AccessCode | None = None
        if access_code:
            code = normalise_access_code(access_code)
            code_row = s.scalar(select(AccessCode).where(AccessCode.code == code))
            if code_row is None:
                raise InvalidInput("We couldn't find that access code. Check it and try again.", field="access_code")
            check_access_code_usable(
                AccessCodeState(
                    code_row.code,
                    code_row.expires_at,
                    code_row.seat_limit,
                    code_row.seats_used,
                    code_row.sponsor.active,
                ),
                now,
            )
            # Take a seat atomically, so two people cannot take the last seat at once.
            taken = s.execute(
                update(AccessCode)
                .where(AccessCode.id == code_row.id)
                .where(or_(AccessCode.seat_limit.is_(None), AccessCode.seats_used < AccessCode.seat_limit))
                .values(seats_used=AccessCode.seats_used + 1)
            ).rowcount
            if taken != 1:
                raise RuleViolation(
                    "access_code", "All places for this access code are taken. Ask your organisation for more."
                )
        user = User(
            email=email,
            password_hash=password_hash,
            role=Role.MEMBER.value,
            sponsor_id=code_row.sponsor_id if code_row else None,
            created_at=now,
            password_changed_at=now,
        )
        s.add(user)
        s.flush()
        s.add(
            MemberProfile(
                user_id=user.id,
                pseudonym=pseudonym,
                languages=languages,
                preferences=preferences.as_dict(),
                access_code_id=code_row.id if code_row else None,
            )
        )
        try:
            s.flush()
        except IntegrityError as exc:  # a concurrent sign-up took the email or name first
            raise Conflict("That email or name was just taken. Please choose another.") from exc
    return user


def create_user(
    ctx: ServiceContext,
    *,
    email: str,
    password: str,
    role: Role | str,
    sponsor_id: str | None = None,
    legal_name: str | None = None,
    password_hash: str | None = None,
) -> User:
    """Create a staff, listener or sponsor-admin account (admin and CLI use). Members use sign_up_member."""
    email = normalise_email(email)
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidInput(
            f"Unknown role {role!r}. Choose one of: {', '.join(r.value for r in Role)}.", field="role"
        ) from exc
    if password_hash is None:
        check_password(password)
        password_hash = ctx.hasher.hash(password)
    if role == Role.SPONSOR_ADMIN and not sponsor_id:
        raise InvalidInput("A sponsor admin needs a sponsor.", field="sponsor_id")
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        if _email_taken(s, email):
            raise Conflict("An account with this email already exists.", field="email")
        if sponsor_id and s.get(Sponsor, sponsor_id) is None:
            raise InvalidInput("That sponsor does not exist.", field="sponsor_id")
        user = User(
            email=email,
            password_hash=password_hash,
            role=role.value,
            sponsor_id=sponsor_id,
            legal_name=legal_name,
            created_at=now,
            password_changed_at=now,
        )
        s.add(user)
        s.flush()
    return user


def authenticate(ctx: ServiceContext, email: str, password: str) -> User:
    wrong = NotAuthenticated("That email and password don't match. Please try again.")
    try:
        email = normalise_email(email)
    except RuleViolation:
        raise wrong from None
    with ctx.uow() as uow:
        user = uow.session.scalar(select(User).where(User.email == email))
        if user is None or not user.active or not ctx.hasher.verify(user.password_hash, password):
            raise wrong
        if ctx.hasher.needs_rehash(user.password_hash):
            user.password_hash = ctx.hasher.hash(password)
    return user


def start_session(ctx: ServiceContext, user_id: str, kind: str) -> str:
    """Return a new random token; only its hash is stored."""
    assert kind in SESSION_KINDS
    token = secrets.token_urlsafe(32)
    now = ctx.now()
    days = ctx.session_days if kind == "web" else ctx.api_token_days
    with ctx.uow() as uow:
        uow.session.add(
            AuthSession(
                token_hash=token_hash(token),
                user_id=user_id,
                kind=kind,
                created_at=now,
                expires_at=now + timedelta(days=days),
            )
        )
    return token


def sign_in(ctx: ServiceContext, email: str, password: str, kind: str) -> SignedIn:
    user = authenticate(ctx, email, password)
    return SignedIn(user=user, token=start_session(ctx, user.id, kind))


def user_for_token(ctx: ServiceContext, token: str, kind: str) -> User | None:
    if not token or len(token) > 200:
        return None
    with ctx.uow() as uow:
        row = uow.session.scalar(
            select(AuthSession).where(AuthSession.token_hash == token_hash(token), AuthSession.kind == kind)
        )
        if row is None or row.revoked_at is not None or row.expires_at <= ctx.now() or not row.user.active:
            return None
        user = row.user
        # Load what pages need before the session closes.
        _ = user.member_profile, user.listener_profile, user.sponsor
        return user


def sign_out(ctx: ServiceContext, token: str) -> None:
    with ctx.uow() as uow:
        row = uow.session.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash(token)))
        if row is not None and row.revoked_at is None:
            row.revoked_at = ctx.now()


def change_password(ctx: ServiceContext, user_id: str, current: str, new: str, keep_token: str | None) -> None:
    """Change the password and sign out every other browser and token."""
    check_password(new)
    if current == new:
        raise InvalidInput("Your new password must be different from the current one.", field="new_password")
    new_hash = ctx.hasher.hash(new)
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        user = s.get(User, user_id)
        if user is None or not ctx.hasher.verify(user.password_hash, current):
            raise InvalidInput("Your current password isn't right. Please try again.", field="current_password")
        user.password_hash = new_hash
        user.password_changed_at = now
        others = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        if keep_token:
            others = others.where(AuthSession.token_hash != token_hash(keep_token))
        s.execute(others.values(revoked_at=now))
