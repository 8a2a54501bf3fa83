"""The member's pages: "What's going on?", matches and preferences."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sameboat.adapters.storage.models import User
from sameboat.domain.accounts import AGE_RANGES, GENDERS, MemberPreferences, RuleViolation
from sameboat.domain.matching import MAX_REQUEST_CHARS, Timing
from sameboat.services import listeners, matching, members
from sameboat.services.errors import ServiceError
from sameboat.services.taxonomy import current_taxonomy
from sameboat.web import security
from sameboat.web.pages.forms import error_details, kept_values, languages, optional, optional_bool, text
from sameboat.web.rendering import render

router = APIRouter()
requester = security.page_requires("support.request")
preferences_editor = security.page_requires("member.preferences.edit")
# Text beyond what matching reads is cut, not refused; this bound only stops absurd posts.
SITUATION_FORM_MAX = MAX_REQUEST_CHARS * 5


def _home(request: Request, status: int = 200, **extra: object) -> Response:
    taxonomy = current_taxonomy(security.services(request))
    return render(request, "home.html", {"topics": taxonomy.roots(), **extra}, status=status)


@router.get("/home")
def home(request: Request, welcome: str = "", user: User = Depends(requester)) -> Response:
    return _home(request, welcome=bool(welcome))


def _refinements(data: dict[str, Any]) -> dict[str, object]:
    gender = optional(data, "listener_gender", 20)
    age = optional(data, "listener_age_range", 10)
    return {
        "listener_gender": gender if gender in GENDERS else None,
        "listener_age_range": age if age in AGE_RANGES else None,
        "listener_veteran": optional_bool(data, "listener_veteran"),
    }


@router.post("/home")
async def whats_going_on(request: Request, user: User = Depends(requester)) -> Response:
    data = await security.read_form(request)
    ctx = security.services(request)
    try:
        situation = text(data, "situation", SITUATION_FORM_MAX)
        topics = security.form_list(data, "topics")
        refine = _refinements(data)
    except RuleViolation as exc:
        message, _, status = error_details(exc)
        return _home(request, error=message, values=kept_values(data), status=status)
    if not situation.strip() and not topics:
        return _home(
            request,
            error="Tell us a little about what's going on, or pick a topic.",
            values=kept_values(data),
            status=422,
        )
    # Show everyone who has been there (online first); talking now only goes to who is online.
    mode = "voice" if text(data, "mode", 10) == "voice" else "chat"
    result = matching.match_for_member(ctx, user, situation, topics, refine=refine, timing=Timing.LATER, mode=mode)
    if result.needs_more_detail and not topics:
        return _home(request, error=result.prompt, values=kept_values(data), status=422)
    views = listeners.views_by_id(ctx, [m.listener_id for m in result.matches])
    taxonomy = current_taxonomy(ctx)
    return render(
        request,
        "matches.html",
        {
            "result": result,
            "cards": [(m, views[m.listener_id]) for m in result.matches if m.listener_id in views],
            "situation": situation,
            "topics": topics,
            "mode": mode,
            "refine": refine,
            "genders": GENDERS,
            "age_ranges": AGE_RANGES,
            "topic_labels": [(t.tag, taxonomy.label(t.tag)) for t in result.topics[:3] if t.tag in taxonomy],
        },
    )


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
