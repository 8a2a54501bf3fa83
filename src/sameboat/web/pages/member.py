"""The member's pages: "What's going on?", matches and preferences."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sameboat.adapters.storage.models import User
from sameboat.domain.accounts import AGE_RANGES, GENDERS, MemberPreferences, RuleViolation
from sameboat.services import members, support
from sameboat.services.errors import ServiceError
from sameboat.services.taxonomy import current_taxonomy
from sameboat.web import security
from sameboat.web.pages.forms import error_details, kept_values, languages, optional, optional_bool, text
from sameboat.web.rendering import render

router = APIRouter()
requester = security.page_requires("support.request")
preferences_editor = security.page_requires("member.preferences.edit")


def _home(request: Request, status: int = 200, **extra: object) -> Response:
    taxonomy = current_taxonomy(security.services(request))
    return render(request, "home.html", {"topics": taxonomy.roots(), **extra}, status=status)


@router.get("/home")
def home(request: Request, welcome: str = "", user: User = Depends(requester)) -> Response:
    return _home(request, welcome=bool(welcome))


@router.post("/home")
async def whats_going_on(request: Request, user: User = Depends(requester)) -> Response:
    data = await security.read_form(request)
    ctx = security.services(request)
    try:
        result = support.suggest_listeners(
            ctx, user, text(data, "situation", support.REQUEST_MAX_CHARS * 4), security.form_list(data, "topics")
        )
    except (ServiceError, RuleViolation) as exc:
        message, _, status = error_details(exc)
        return _home(request, error=message, values=kept_values(data), status=status)
    if result.needs_more_detail:
        return _home(request, error=result.message, values=kept_values(data), status=422)
    return render(request, "matches.html", {"result": result, "situation": result.situation})


@router.get("/preferences")
def preferences_form(request: Request, user: User = Depends(preferences_editor)) -> Response:
    return render(
        request, "preferences.html", {"genders": GENDERS, "age_ranges": AGE_RANGES, "profile": user.member_profile}
    )


@router.post("/preferences")
async def save_preferences(request: Request, user: User = Depends(preferences_editor)) -> Response:
    data = await security.read_form(request)
    context: dict[str, object] = {"genders": GENDERS, "age_ranges": AGE_RANGES}
    try:
        profile = members.update_preferences(
            security.services(request),
            user,
            languages(data),
            MemberPreferences(
                listener_gender=optional(data, "listener_gender", 20),
                listener_age_range=optional(data, "listener_age_range", 10),
                listener_veteran=optional_bool(data, "listener_veteran"),
            ),
        )
    except (ServiceError, RuleViolation) as exc:
        message, field, status = error_details(exc)
        return render(
            request,
            "preferences.html",
            {**context, "profile": user.member_profile, "error": message, "error_field": field},
            status=status,
        )
    return render(request, "preferences.html", {**context, "profile": profile, "saved": True})
