"""A listener's own profile editor."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sameboat.adapters.storage.models import User
from sameboat.domain.accounts import AGE_RANGES, GENDERS, RuleViolation
from sameboat.services import listeners
from sameboat.services.errors import ServiceError
from sameboat.services.taxonomy import current_taxonomy
from sameboat.web import security
from sameboat.web.pages.forms import error_details, kept_values
from sameboat.web.pages.public import draft_from_form
from sameboat.web.rendering import render

router = APIRouter()
editor = security.page_requires("listener.profile.edit_own")


def _editor(request: Request, user: User, status: int = 200, **extra: object) -> Response:
    ctx = security.services(request)
    view = listeners.own_profile(ctx, user)
    values = extra.pop("values", None) or (view_values(view) if view else {})
    return render(
        request,
        "profile_editor.html",
        {
            "profile": view,
            "values": values,
            "taxonomy": current_taxonomy(ctx),
            "genders": GENDERS,
            "age_ranges": AGE_RANGES,
            **extra,
        },
        status=status,
    )


def view_values(view: listeners.ListenerView) -> dict[str, object]:
    return {
        "display_name": view.display_name,
        "bio": view.bio,
        "story": view.story,
        "tags": [t for t, _ in view.tags],
        "languages": " ".join(view.languages),
        "gender": view.gender or "",
        "age_range": view.age_range or "",
        "veteran": {True: "yes", False: "no"}.get(view.veteran, ""),
        "declined_topics": view.declined_topics,
        "timezone": view.timezone,
    }


@router.get("/listener/profile")
def edit_profile(request: Request, applied: str = "", user: User = Depends(editor)) -> Response:
    return _editor(request, user, applied=bool(applied))


@router.post("/listener/profile")
async def save_profile(request: Request, user: User = Depends(editor)) -> Response:
    data = await security.read_form(request)
    try:
        listeners.update_own_profile(security.services(request), user, user.id, draft_from_form(data))
    except (ServiceError, RuleViolation) as exc:
        message, field, status = error_details(exc)
        return _editor(request, user, status=status, error=message, error_field=field, values=kept_values(data))
    return _editor(request, user, saved=True)
