"""Sponsors, access codes, listener review and taxonomy extension (admins; sponsor admins read their own)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from sameboat.adapters.storage.models import AccessCode, Sponsor, User
from sameboat.services import accounts, listeners, sponsors
from sameboat.services import taxonomy as taxonomy_service
from sameboat.web import security
from sameboat.web.api.schemas import AccessCodeCreate, ListenerStatusChange, SponsorCreate, TagCreate, UserCreate

router = APIRouter(tags=["admin"])
sponsor_manager = security.api_requires("sponsors.manage")
sponsor_viewer = security.api_requires("sponsor.view_own")
reviewer = security.api_requires("listeners.review")
taxonomy_editor = security.api_requires("taxonomy.extend")
user_manager = security.api_requires("users.manage")


def code_body(code: AccessCode) -> dict[str, Any]:
    return {
        "id": code.id,
        "code": code.code,
        "label": code.label,
        "seat_limit": code.seat_limit,
        "seats_used": code.seats_used,
        "expires_at": code.expires_at.isoformat() if code.expires_at else None,
    }


def sponsor_body(sponsor: Sponsor, with_codes: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": sponsor.id,
        "name": sponsor.name,
        "country": sponsor.country,
        "minutes_budget": sponsor.minutes_budget,
        "minutes_used": sponsor.minutes_used,
        "features": sponsor.features,
    }
    if with_codes:
        body["access_codes"] = [code_body(c) for c in sponsor.access_codes]
    return body


@router.get("/sponsors")
def list_sponsors(request: Request, user: User = Depends(sponsor_manager)) -> dict[str, Any]:
    return {"sponsors": [sponsor_body(s) for s in sponsors.list_sponsors(security.services(request))]}


@router.post("/sponsors", status_code=201)
def create_sponsor(body: SponsorCreate, request: Request, user: User = Depends(sponsor_manager)) -> dict[str, Any]:
    sponsor = sponsors.create_sponsor(security.services(request), **body.model_dump())
    return sponsor_body(sponsor, with_codes=False)


@router.get("/sponsors/{sponsor_id}")
def get_sponsor(sponsor_id: str, request: Request, user: User = Depends(sponsor_viewer)) -> dict[str, Any]:
    ctx = security.services(request)
    sponsor = sponsors.sponsor_for_viewer(ctx, user, sponsor_id[:64])
    return {**sponsor_body(sponsor), "members": sponsors.member_count(ctx, sponsor.id)}


@router.post("/sponsors/{sponsor_id}/access-codes", status_code=201)
def create_access_code(
    sponsor_id: str, body: AccessCodeCreate, request: Request, user: User = Depends(sponsor_manager)
) -> dict[str, Any]:
    code = sponsors.create_access_code(security.services(request), sponsor_id=sponsor_id[:64], **body.model_dump())
    return code_body(code)


@router.get("/admin/listeners")
def review_queue(
    request: Request, status: str | None = Query(default=None, max_length=20), user: User = Depends(reviewer)
) -> dict[str, Any]:
    rows = listeners.review_queue(security.services(request), status)
    return {"listeners": [{**view.as_public_dict(), "status": view.status, "email": email} for view, email in rows]}


@router.post("/listeners/{listener_id}/status")
def change_status(
    listener_id: str, body: ListenerStatusChange, request: Request, user: User = Depends(reviewer)
) -> dict[str, Any]:
    view = listeners.set_status(security.services(request), listener_id[:64], body.status)
    return {"id": view.id, "status": view.status}


@router.post("/taxonomy/tags", status_code=201, tags=["taxonomy"])
def add_tag(body: TagCreate, request: Request, user: User = Depends(taxonomy_editor)) -> dict[str, Any]:
    row = taxonomy_service.add_tag(
        security.services(request),
        tag_id=body.id,
        label=body.label,
        parent=body.parent,
        synonyms=body.synonyms,
        created_by=user.id,
    )
    return {"id": row.id, "label": row.label, "parent": row.parent, "synonyms": row.synonyms}


@router.post("/users", status_code=201)
def create_user(body: UserCreate, request: Request, user: User = Depends(user_manager)) -> dict[str, Any]:
    """Create a staff, listener or sponsor-admin account. Members join with an access code instead."""
    if body.role == "member":
        from sameboat.services.errors import InvalidInput

        raise InvalidInput("Members join with an access code (POST /api/v1/members).", field="role")
    created = accounts.create_user(
        security.services(request), email=body.email, password=body.password, role=body.role, sponsor_id=body.sponsor_id
    )
    return {"id": created.id, "email": created.email, "role": created.role, "sponsor_id": created.sponsor_id}
