"""Tokens, the signed-in account, member sign-up and listener applications."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from sameboat.adapters.storage.models import User
from sameboat.domain.accounts import MemberPreferences
from sameboat.domain.listeners import ListenerProfileDraft
from sameboat.domain.permissions import permissions_for
from sameboat.services import accounts, listeners, members
from sameboat.web import security
from sameboat.web.api.schemas import (
    ListenerApplication,
    MemberPreferencesUpdate,
    MemberSignUp,
    PasswordChange,
    TokenRequest,
    TokenResponse,
)

router = APIRouter(tags=["accounts"])
account_user = security.api_requires("account.manage")
preferences_editor = security.api_requires("member.preferences.edit")


def me_body(user: User) -> dict[str, Any]:
    """The caller's own account. Their own email is theirs to see."""
    body: dict[str, Any] = {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "sponsor_id": user.sponsor_id,
        "permissions": permissions_for(user.role),
    }
    if user.member_profile is not None:
        body["member"] = {
            "pseudonym": user.member_profile.pseudonym,
            "languages": user.member_profile.languages,
            "preferences": user.member_profile.preferences,
        }
    if user.listener_profile is not None:
        body["listener"] = {"display_name": user.listener_profile.display_name, "status": user.listener_profile.status}
    return body


@router.post("/auth/token", response_model=TokenResponse)
def create_token(body: TokenRequest, request: Request) -> TokenResponse:
    ctx = security.services(request)
    signed = accounts.sign_in(ctx, body.email, body.password, "api")
    return TokenResponse(token=signed.token, role=signed.user.role, expires_in_days=ctx.api_token_days)


@router.delete("/auth/token", status_code=204)
def revoke_token(request: Request, user: User = Depends(account_user)) -> Response:
    accounts.sign_out(security.services(request), security.bearer_token(request))
    return Response(status_code=204)


@router.get("/me")
def me(user: User = Depends(account_user)) -> dict[str, Any]:
    return me_body(user)


@router.put("/me/preferences")
def update_preferences(
    body: MemberPreferencesUpdate, request: Request, user: User = Depends(preferences_editor)
) -> dict[str, Any]:
    profile = members.update_preferences(
        security.services(request), user, body.languages, MemberPreferences(**body.preferences.model_dump())
    )
    return {"languages": profile.languages, "preferences": profile.preferences}


@router.post("/me/password", status_code=204)
def change_password(body: PasswordChange, request: Request, user: User = Depends(account_user)) -> Response:
    accounts.change_password(
        security.services(request), user.id, body.current_password, body.new_password, security.bearer_token(request)
    )
    return Response(status_code=204)


@router.post("/members", status_code=201)
def sign_up_member(body: MemberSignUp, request: Request) -> dict[str, Any]:
    ctx = security.services(request)
    user = accounts.sign_up_member(
        ctx,
        email=body.email,
        password=body.password,
        pseudonym=body.pseudonym,
        access_code=body.access_code,
        languages=body.languages,
        preferences=MemberPreferences(**body.preferences.model_dump()),
    )
    return {"id": user.id, "role": user.role, "pseudonym": body.pseudonym.strip()}


@router.post("/listener-applications", status_code=201)
def apply_as_listener(body: ListenerApplication, request: Request) -> dict[str, Any]:
    fields = body.model_dump(exclude={"email", "password"})
    user = listeners.apply_as_listener(
        security.services(request), email=body.email, password=body.password, draft=ListenerProfileDraft(**fields)
    )
    return {"id": user.id, "role": user.role, "status": "applicant"}
