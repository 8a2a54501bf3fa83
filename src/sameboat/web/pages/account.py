"""Signing out and changing a password."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from sameboat.adapters.storage.models import User
from sameboat.domain.accounts import RuleViolation
from sameboat.services import accounts
from sameboat.services.errors import ServiceError
from sameboat.web import security
from sameboat.web.pages.forms import error_details, text
from sameboat.web.rendering import render

router = APIRouter()
account_user = security.page_requires("account.manage")


@router.post("/signout")
async def signout(request: Request, user: User = Depends(account_user)) -> Response:
    await security.read_form(request)
    accounts.sign_out(security.services(request), request.cookies.get(security.SESSION_COOKIE, ""))
    response = RedirectResponse("/?signed_out=1", status_code=303)
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response


@router.get("/account/password")
def password_form(request: Request, user: User = Depends(account_user)) -> Response:
    return render(request, "password.html")


@router.post("/account/password")
async def change_password(request: Request, user: User = Depends(account_user)) -> Response:
    data = await security.read_form(request)
    try:
        accounts.change_password(
            security.services(request),
            user.id,
            text(data, "current_password", 256),
            text(data, "new_password", 256),
            request.cookies.get(security.SESSION_COOKIE),
        )
    except (ServiceError, RuleViolation) as exc:
        message, field, status = error_details(exc)
        return render(request, "password.html", {"error": message, "error_field": field}, status=status)
    return render(request, "password.html", {"saved": True})
