"""Pages anyone can see: landing, sign-in, joining as a member, applying to listen."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from sameboat.domain.accounts import AGE_RANGES, GENDERS, MemberPreferences, RuleViolation
from sameboat.domain.listeners import ListenerProfileDraft
from sameboat.services import accounts, listeners
from sameboat.services.errors import ServiceError
from sameboat.services.taxonomy import current_taxonomy
from sameboat.web import security
from sameboat.web.pages.forms import error_details, kept_values, languages, optional, optional_bool, text
from sameboat.web.rendering import HOME_FOR_ROLE, render
from sameboat.web.security import form_list

router = APIRouter()


def signed_in_redirect(request: Request, token: str, role: str, next_url: str | None = None) -> Response:
    target = next_url if next_url and next_url.startswith("/") and not next_url.startswith("//") else None
    response = RedirectResponse(target or HOME_FOR_ROLE.get(role, "/"), status_code=303)
    settings = request.app.state.runtime.settings
    response.set_cookie(
        security.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_days * 86400,
        path="/",
    )
    return response


@router.get("/")
def landing(request: Request) -> Response:
    return render(request, "landing.html")


@router.get("/signin")
def signin_form(request: Request, next: str = "") -> Response:
    return render(request, "signin.html", {"next": next})


@router.post("/signin")
async def signin(request: Request) -> Response:
    data = await security.read_form(request)
    try:
        signed = accounts.sign_in(
            security.services(request), text(data, "email", 254), text(data, "password", 256), "web"
        )
    except ServiceError as exc:
        return render(
            request,
            "signin.html",
            {"error": exc.detail, "email": data.get("email", ""), "next": data.get("next", "")},
            status=400,
        )
    return signed_in_redirect(request, signed.token, signed.user.role, str(data.get("next", "")))


def _join_context(request: Request, **extra: object) -> dict[str, object]:
    return {
        "genders": GENDERS,
        "age_ranges": AGE_RANGES,
        "open_signup": request.app.state.runtime.settings.open_signup,
        **extra,
    }


@router.get("/join")
def join_form(request: Request, code: str = "") -> Response:
    return render(request, "join.html", _join_context(request, values={"access_code": code[:40]}))


@router.post("/join")
async def join(request: Request) -> Response:
    data = await security.read_form(request)
    ctx = security.services(request)
    try:
        preferences = MemberPreferences(
            listener_gender=optional(data, "listener_gender", 20),
            listener_age_range=optional(data, "listener_age_range", 10),
            listener_veteran=optional_bool(data, "listener_veteran"),
        )
        user = accounts.sign_up_member(
            ctx,
            email=text(data, "email", 254),
            password=text(data, "password", 256),
            pseudonym=text(data, "pseudonym", 64),
            access_code=optional(data, "access_code", 40),
            languages=languages(data) or ["en"],
            preferences=preferences,
        )
    except (ServiceError, RuleViolation) as exc:
        message, field, status = error_details(exc)
        return render(
            request,
            "join.html",
            _join_context(request, error=message, error_field=field, values=kept_values(data)),
            status=status,
        )
    token = accounts.start_session(ctx, user.id, "web")
    return signed_in_redirect(request, token, user.role, "/home?welcome=1")


@router.get("/listen")
def apply_form(request: Request) -> Response:
    return render(
        request,
        "apply.html",
        {
            "taxonomy": current_taxonomy(security.services(request)),
            "genders": GENDERS,
            "age_ranges": AGE_RANGES,
            "values": {},
        },
    )


def draft_from_form(data: dict[str, Any]) -> ListenerProfileDraft:
    return ListenerProfileDraft(
        display_name=text(data, "display_name", 60),
        bio=text(data, "bio", 400),
        story=text(data, "story", 4000),
        tags=form_list(data, "tags"),
        languages=languages(data),
        gender=optional(data, "gender", 20),
        age_range=optional(data, "age_range", 10),
        veteran=optional_bool(data, "veteran"),
        declined_topics=form_list(data, "declined_topics"),
        timezone=text(data, "timezone", 64) or "UTC",
    )


@router.post("/listen")
async def apply(request: Request) -> Response:
    data = await security.read_form(request)
    ctx = security.services(request)
    try:
        user = listeners.apply_as_listener(
            ctx, email=text(data, "email", 254), password=text(data, "password", 256), draft=draft_from_form(data)
        )
    except (ServiceError, RuleViolation) as exc:
        message, field, status = error_details(exc)
        return render(
            request,
            "apply.html",
            {
                "taxonomy": current_taxonomy(ctx),
                "genders": GENDERS,
                "age_ranges": AGE_RANGES,
                "error": message,
                "error_field": field,
                "values": kept_values(data),
            },
            status=status,
        )
    token = accounts.start_session(ctx, user.id, "web")
    return signed_in_redirect(request, token, user.role, "/listener/profile?applied=1")
