"""The listener directory and profile pages (approved listeners only for members)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sameboat.adapters.storage.models import User
from sameboat.domain.accounts import AGE_RANGES, GENDERS
from sameboat.services import listeners
from sameboat.services.listeners import DirectoryFilters
from sameboat.services.taxonomy import current_taxonomy
from sameboat.web import security
from sameboat.web.rendering import render

router = APIRouter()
browser = security.page_requires("listeners.browse")


def _veteran(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


@router.get("/listeners")
def directory(
    request: Request,
    tag: str = "",
    language: str = "",
    gender: str = "",
    age_range: str = "",
    veteran: str = "",
    q: str = "",
    user: User = Depends(browser),
) -> Response:
    ctx = security.services(request)
    taxonomy = current_taxonomy(ctx)
    filters = DirectoryFilters(
        tag=tag if tag in taxonomy else None,
        language=language.strip().lower()[:3] or None,
        gender=gender if gender in GENDERS else None,
        age_range=age_range if age_range in AGE_RANGES else None,
        veteran=_veteran(veteran),
        text=q.strip()[:100] or None,
    )
    found = listeners.browse(ctx, filters)
    return render(
        request,
        "directory.html",
        {
            "listeners": found,
            "filters": filters,
            "veteran": veteran,
            "taxonomy": taxonomy,
            "genders": GENDERS,
            "age_ranges": AGE_RANGES,
        },
    )


@router.get("/listeners/{listener_id}")
def profile(request: Request, listener_id: str, user: User = Depends(browser)) -> Response:
    view = listeners.profile_for_viewer(security.services(request), user, listener_id[:64])
    return render(request, "listener.html", {"listener": view})
