"""Builders for test data, going through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

from sameboat.adapters.passwords import Argon2PasswordHasher
from sameboat.domain.accounts import ListenerStatus, Role
from sameboat.domain.listeners import ListenerProfileDraft
from sameboat.services import accounts, listeners, sponsors
from sameboat.services.unit_of_work import ServiceContext

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@cache
def password_hash() -> str:
    # argon2id is slow on purpose; hash the shared test password once.
    return Argon2PasswordHasher().hash(PASSWORD)


def story(topic: str = "divorce") -> str:
    return (
        f"I went through a {topic} three years ago and for months I couldn't sleep or eat properly. "
        "What helped was talking to someone who had been there and didn't judge me."
    )


def make_sponsor(
    ctx: ServiceContext, *, seat_limit: int | None = None, code: str | None = None, expires_at=None, country: str = "US"
):  # type: ignore[no-untyped-def]
    n = next(_counter)
    sponsor = sponsors.create_sponsor(ctx, name=f"Sponsor {n}", country=country, minutes_budget=1000)
    access = sponsors.create_access_code(
        ctx, sponsor_id=sponsor.id, code=code or f"CODE-{n:04d}", seat_limit=seat_limit, expires_at=expires_at
    )
    return sponsor, access


def make_user(ctx: ServiceContext, role: Role, *, sponsor_id: str | None = None, email: str | None = None):  # type: ignore[no-untyped-def]
    n = next(_counter)
    return accounts.create_user(
        ctx,
        email=email or f"{role.value}{n}@example.org",
        password="",
        role=role,
        sponsor_id=sponsor_id,
        password_hash=password_hash(),
    )


def make_member(ctx: ServiceContext, access_code: str, *, pseudonym: str | None = None, email: str | None = None):  # type: ignore[no-untyped-def]
    n = next(_counter)
    return accounts.sign_up_member(
        ctx,
        email=email or f"member{n}@example.org",
        password=PASSWORD,
        pseudonym=pseudonym or f"Member {n}",
        access_code=access_code,
    )


def make_listener(
    ctx: ServiceContext,
    *,
    name: str | None = None,
    tags: list[str] | None = None,
    status: ListenerStatus = ListenerStatus.APPROVED,
    languages: list[str] | None = None,
    gender: str | None = None,
    veteran: bool | None = None,
):  # type: ignore[no-untyped-def]
    n = next(_counter)
    user = make_user(ctx, Role.LISTENER, email=f"listener{n}@example.org")
    listeners.create_profile(
        ctx,
        user.id,
        ListenerProfileDraft(
            display_name=name or f"Listener {n}",
            bio="Here to listen.",
            story=story(),
            tags=tags or ["divorce"],
            languages=languages or ["en"],
            gender=gender,
            veteran=veteran,
        ),
        status=status,
    )
    return user


@dataclass
class World:
    """A small deployment: one sponsor, staff of every role, a member and two listeners."""

    sponsor_id: str
    other_sponsor_id: str
    access_code: str
    users: dict[str, object]
    approved_listener_id: str
    applicant_listener_id: str


def make_world(ctx: ServiceContext) -> World:
    sponsor, access = make_sponsor(ctx)
    other, _ = make_sponsor(ctx)
    member = make_member(ctx, access.code)
    listener = make_listener(ctx, name="Dana")
    applicant = make_listener(ctx, name="Robin", status=ListenerStatus.APPLICANT, tags=["job-loss"])
    users = {
        "member": member,
        "listener": listener,
        "supervisor": make_user(ctx, Role.SUPERVISOR),
        "admin": make_user(ctx, Role.ADMIN),
        "sponsor_admin": make_user(ctx, Role.SPONSOR_ADMIN, sponsor_id=sponsor.id),
    }
    return World(sponsor.id, other.id, access.code, users, listener.id, applicant.id)
