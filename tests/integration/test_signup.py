"""Joining with an access code, and every way it can go wrong without writing anything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sameboat.adapters.storage.models import AccessCode, MemberProfile, User
from sameboat.domain.accounts import RuleViolation
from sameboat.services import accounts
from sameboat.services.errors import Conflict, InvalidInput, NotAuthenticated
from tests.factories import PASSWORD, make_member, make_sponsor


def counts(services) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with services.uow() as uow:
        users = uow.session.scalar(select(func.count()).select_from(User))
        members = uow.session.scalar(select(func.count()).select_from(MemberProfile))
    return users, members


def seats_used(services, code: str) -> int:  # type: ignore[no-untyped-def]
    with services.uow() as uow:
        return uow.session.scalar(select(AccessCode.seats_used).where(AccessCode.code == code))


def test_member_joins_with_code_and_signs_in(services) -> None:  # type: ignore[no-untyped-def]
    sponsor, code = make_sponsor(services)
    user = accounts.sign_up_member(
        services, email="  Sam@Example.org ", password=PASSWORD, pseudonym="Quiet Harbor", access_code=code.code.lower()
    )
    assert user.email == "sam@example.org" and user.sponsor_id == sponsor.id
    assert seats_used(services, code.code) == 1
    signed = accounts.sign_in(services, "sam@example.org", PASSWORD, "web")
    assert accounts.user_for_token(services, signed.token, "web").id == user.id
    # A web session is not an API token.
    assert accounts.user_for_token(services, signed.token, "api") is None


@pytest.mark.parametrize(
    "case",
    [
        "unknown",
        "expired",
        "full",
        "duplicate_email",
        "duplicate_name",
        "no_code",
        "bad_password",
        "bad_pseudonym",
        "bad_email",
    ],
)
def test_bad_sign_up_writes_nothing(services, clock, case: str) -> None:  # type: ignore[no-untyped-def]
    _, code = make_sponsor(services, seat_limit=1)
    _, expiring = make_sponsor(services, expires_at=clock() + timedelta(days=1))
    make_member(services, code.code, pseudonym="Taken Name", email="taken@example.org")  # uses the only seat
    _, open_code = make_sponsor(services)
    before = counts(services)
    kwargs = dict(email="new@example.org", password=PASSWORD, pseudonym="New Person", access_code=open_code.code)
    expected: type[Exception] = InvalidInput
    if case == "unknown":
        kwargs["access_code"] = "NOPE-0000"
    elif case == "expired":
        clock.advance(days=2)
        kwargs["access_code"] = expiring.code
        expected = RuleViolation
    elif case == "full":
        kwargs["access_code"] = code.code
        expected = RuleViolation
    elif case == "duplicate_email":
        kwargs["email"] = "TAKEN@example.org"
        expected = Conflict
    elif case == "duplicate_name":
        kwargs["pseudonym"] = "Taken Name"
        expected = Conflict
    elif case == "no_code":
        kwargs["access_code"] = None
    elif case == "bad_password":
        kwargs["password"] = "short"
        expected = RuleViolation
    elif case == "bad_pseudonym":
        kwargs["pseudonym"] = "x" * 80
        expected = RuleViolation
    elif case == "bad_email":
        kwargs["email"] = "not-an-email"
        expected = RuleViolation
    with pytest.raises(expected) as info:
        accounts.sign_up_member(services, **kwargs)
    assert str(info.value)  # says why
    assert counts(services) == before
    assert seats_used(services, open_code.code) == 0
    assert seats_used(services, code.code) == 1


def test_open_signup_needs_no_code(services) -> None:  # type: ignore[no-untyped-def]
    services.open_signup = True
    user = accounts.sign_up_member(
        services, email="open@example.org", password=PASSWORD, pseudonym="Open Door", access_code=None
    )
    assert user.sponsor_id is None


def test_wrong_password_and_sign_out(services) -> None:  # type: ignore[no-untyped-def]
    _, code = make_sponsor(services)
    member = make_member(services, code.code)
    with pytest.raises(NotAuthenticated):
        accounts.sign_in(services, member.email, "wrong password!", "web")
    token = accounts.sign_in(services, member.email, PASSWORD, "api").token
    accounts.sign_out(services, token)
    assert accounts.user_for_token(services, token, "api") is None


def test_sessions_expire(services, clock) -> None:  # type: ignore[no-untyped-def]
    _, code = make_sponsor(services)
    member = make_member(services, code.code)
    token = accounts.sign_in(services, member.email, PASSWORD, "web").token
    clock.advance(days=services.session_days + 1)
    assert accounts.user_for_token(services, token, "web") is None


def test_password_change_signs_out_other_sessions(services) -> None:  # type: ignore[no-untyped-def]
    _, code = make_sponsor(services)
    member = make_member(services, code.code)
    keep = accounts.sign_in(services, member.email, PASSWORD, "web").token
    other = accounts.sign_in(services, member.email, PASSWORD, "api").token
    with pytest.raises(InvalidInput):
        accounts.change_password(services, member.id, "wrong current", "a brand new password", keep)
    accounts.change_password(services, member.id, PASSWORD, "a brand new password", keep)
    assert accounts.user_for_token(services, keep, "web") is not None
    assert accounts.user_for_token(services, other, "api") is None
    accounts.sign_in(services, member.email, "a brand new password", "web")
