"""Sponsors (organisations that give their people access) and their access codes."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from sameboat.adapters.storage.models import AccessCode, Sponsor, User
from sameboat.domain.accounts import SPONSOR_FEATURES, Role, normalise_access_code
from sameboat.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from sameboat.services.unit_of_work import ServiceContext

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud and typed


def generate_code(prefix: str = "") -> str:
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{prefix}{body[:4]}-{body[4:]}"


def create_sponsor(
    ctx: ServiceContext,
    *,
    name: str,
    country: str = "US",
    minutes_budget: int | None = None,
    features: list[str] | None = None,
) -> Sponsor:
    name = " ".join(name.split())
    if not 2 <= len(name) <= 120:
        raise InvalidInput("Give the organisation a name of 2 to 120 characters.", field="name")
    country = country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise InvalidInput("Country must be a two-letter code such as US, CA, GB, IE or AU.", field="country")
    if minutes_budget is not None and minutes_budget < 0:
        raise InvalidInput("The minutes budget cannot be negative.", field="minutes_budget")
    features = list(dict.fromkeys(features if features is not None else ["chat"]))
    unknown = [f for f in features if f not in SPONSOR_FEATURES]
    if unknown:
        raise InvalidInput(
            f"Unknown feature {unknown[0]!r}; choose from {', '.join(SPONSOR_FEATURES)}.", field="features"
        )
    with ctx.uow() as uow:
        if uow.session.scalar(select(Sponsor).where(Sponsor.name == name)):
            raise Conflict("A sponsor with this name already exists.", field="name")
        sponsor = Sponsor(
            name=name, country=country, minutes_budget=minutes_budget, features=features, created_at=ctx.now()
        )
        uow.session.add(sponsor)
        uow.session.flush()
    return sponsor


def create_access_code(
    ctx: ServiceContext,
    *,
    sponsor_id: str,
    code: str | None = None,
    label: str = "",
    expires_at: datetime | None = None,
    seat_limit: int | None = None,
) -> AccessCode:
    code = normalise_access_code(code) if code else generate_code()
    if seat_limit is not None and seat_limit < 1:
        raise InvalidInput("A seat limit must be at least 1 (leave it empty for no limit).", field="seat_limit")
    if expires_at is not None and expires_at <= ctx.now():
        raise InvalidInput("The expiry date must be in the future.", field="expires_at")
    if len(label) > 120:
        raise InvalidInput("Keep the label under 120 characters.", field="label")
    with ctx.uow() as uow:
        s = uow.session
        if s.get(Sponsor, sponsor_id) is None:
            raise NotFound("That sponsor does not exist.", field="sponsor_id")
        if s.scalar(select(AccessCode).where(AccessCode.code == code)):
            raise Conflict("That access code is already in use. Choose another.", field="code")
        row = AccessCode(
            sponsor_id=sponsor_id,
            code=code,
            label=label.strip(),
            expires_at=expires_at,
            seat_limit=seat_limit,
            created_at=ctx.now(),
        )
        s.add(row)
        s.flush()
    return row


def list_sponsors(ctx: ServiceContext) -> list[Sponsor]:
    with ctx.uow() as uow:
        return list(
            uow.session.scalars(select(Sponsor).options(selectinload(Sponsor.access_codes)).order_by(Sponsor.name))
        )


def sponsor_for_viewer(ctx: ServiceContext, viewer: User, sponsor_id: str) -> Sponsor:
    """Admins see any sponsor; a sponsor admin sees only their own."""
    if viewer.role == Role.SPONSOR_ADMIN and viewer.sponsor_id != sponsor_id:
        raise Forbidden("You can only see your own organisation.")
    with ctx.uow() as uow:
        sponsor = uow.session.scalar(
            select(Sponsor).options(selectinload(Sponsor.access_codes)).where(Sponsor.id == sponsor_id)
        )
        if sponsor is None:
            raise NotFound("That sponsor does not exist.")
        return sponsor


def member_count(ctx: ServiceContext, sponsor_id: str) -> int:
    from sqlalchemy import func

    with ctx.uow() as uow:
        return (
            uow.session.scalar(
                select(func.count())
                .select_from(User)
                .where(User.sponsor_id == sponsor_id, User.role == Role.MEMBER.value)
            )
            or 0
        )
