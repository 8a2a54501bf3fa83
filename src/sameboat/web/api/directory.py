"""The listener directory, listener profiles and the taxonomy."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from sameboat.adapters.storage.models import User
from sameboat.domain.listeners import ListenerProfileDraft
from sameboat.services import listeners
from sameboat.services.listeners import DirectoryFilters
from sameboat.services.taxonomy import current_taxonomy
from sameboat.web import security
from sameboat.web.api.schemas import AgeRange, Gender, ListenerProfileBody

router = APIRouter(tags=["listeners"])
browser = security.api_requires("listeners.browse")
own_editor = security.api_requires("listener.profile.edit_own")


@router.get("/listeners")
def list_listeners(
    request: Request,
    tag: str | None = Query(default=None, max_length=60),
    language: str | None = Query(default=None, max_length=3),
    gender: Gender | None = None,
    age_range: AgeRange | None = None,
    veteran: bool | None = None,
    q: str | None = Query(default=None, max_length=100),
    user: User = Depends(browser),
) -> dict[str, Any]:
    found = listeners.browse(security.services(request), DirectoryFilters(tag, language, gender, age_range, veteran, q))
    return {"count": len(found), "listeners": [view.as_public_dict() for view in found]}


@router.get("/listeners/{listener_id}")
def get_listener(listener_id: str, request: Request, user: User = Depends(browser)) -> dict[str, Any]:
    return listeners.profile_for_viewer(security.services(request), user, listener_id[:64]).as_public_dict()


@router.put("/listeners/{listener_id}/profile")
def update_profile(
    listener_id: str, body: ListenerProfileBody, request: Request, user: User = Depends(own_editor)
) -> dict[str, Any]:
    view = listeners.update_own_profile(
        security.services(request), user, listener_id[:64], ListenerProfileDraft(**body.model_dump())
    )
    return view.as_public_dict()


@router.get("/taxonomy", tags=["taxonomy"])
def taxonomy(request: Request, format: Literal["flat"] = "flat") -> dict[str, Any]:
    tax = current_taxonomy(security.services(request))
    return {
        "tags": [
            {"id": t.id, "label": t.label, "parent": t.parent, "synonyms": list(t.synonyms)} for t in tax.tags.values()
        ]
    }
