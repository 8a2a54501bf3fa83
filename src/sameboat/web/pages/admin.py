"""Admin pages (sponsors, access codes, listener review, taxonomy) and the sponsor admin's own page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from sameboat.adapters.storage.models import User
from sameboat.domain.accounts import LISTENER_TRANSITIONS, SPONSOR_FEATURES, ListenerStatus, RuleViolation
from sameboat.services import listeners, sponsors
from sameboat.services import taxonomy as taxonomy_service
from sameboat.services.errors import ServiceError
from sameboat.services.taxonomy import current_taxonomy
from sameboat.web import security
from sameboat.web.pages.forms import error_details, kept_values, optional, optional_date, optional_int, text
from sameboat.web.rendering import render

router = APIRouter()
sponsor_manager = security.page_requires("sponsors.manage")
reviewer = security.page_requires("listeners.review")
taxonomy_editor = security.page_requires("taxonomy.extend")
sponsor_viewer = security.page_requires("sponsor.view_own")


@router.get("/admin")
def dashboard(request: Request, user: User = Depends(sponsor_manager)) -> Response:
    ctx = security.services(request)
    queue = listeners.review_queue(ctx, ListenerStatus.APPLICANT.value)
    return render(request, "admin/dashboard.html", {"applicants": len(queue), "sponsors": sponsors.list_sponsors(ctx)})


def _sponsors_page(request: Request, status: int = 200, **extra: object) -> Response:
    ctx = security.services(request)
    return render(
        request,
        "admin/sponsors.html",
        {"sponsors": sponsors.list_sponsors(ctx), "features": SPONSOR_FEATURES, **extra},
        status=status,
    )


@router.get("/admin/sponsors")
def sponsors_page(request: Request, user: User = Depends(sponsor_manager)) -> Response:
    return _sponsors_page(request)


@router.post("/admin/sponsors")
async def create_sponsor(request: Request, user: User = Depends(sponsor_manager)) -> Response:
    data = await security.read_form(request)
    try:
        sponsors.create_sponsor(
            security.services(request),
            name=text(data, "name", 200),
            country=text(data, "country", 10) or "US",
            minutes_budget=optional_int(data, "minutes_budget"),
            features=security.form_list(data, "features"),
        )
    except (ServiceError, RuleViolation) as exc:
        message, field, status = error_details(exc)
        return _sponsors_page(request, status=status, error=message, error_field=field, values=kept_values(data))
    return RedirectResponse("/admin/sponsors?created=1", status_code=303)


@router.get("/admin/sponsors/{sponsor_id}")
def sponsor_page(request: Request, sponsor_id: str, user: User = Depends(sponsor_manager)) -> Response:
    ctx = security.services(request)
    sponsor = sponsors.sponsor_for_viewer(ctx, user, sponsor_id[:64])
    return render(
        request,
        "sponsor.html",
        {"sponsor": sponsor, "members": sponsors.member_count(ctx, sponsor.id), "can_manage": True, "values": {}},
    )


@router.post("/admin/sponsors/{sponsor_id}/codes")
async def create_code(request: Request, sponsor_id: str, user: User = Depends(sponsor_manager)) -> Response:
    data = await security.read_form(request)
    ctx = security.services(request)
    try:
        sponsors.create_access_code(
            ctx,
            sponsor_id=sponsor_id[:64],
            code=optional(data, "code", 40),
            label=text(data, "label", 200),
            expires_at=optional_date(data, "expires_on"),
            seat_limit=optional_int(data, "seat_limit"),
        )
    except (ServiceError, RuleViolation) as exc:
        message, field, status = error_details(exc)
        sponsor = sponsors.sponsor_for_viewer(ctx, user, sponsor_id[:64])
        return render(
            request,
            "sponsor.html",
            {
                "sponsor": sponsor,
                "members": sponsors.member_count(ctx, sponsor.id),
                "can_manage": True,
                "error": message,
                "error_field": field,
                "values": kept_values(data),
            },
            status=status,
        )
    return RedirectResponse(f"/admin/sponsors/{sponsor_id}?created=1", status_code=303)


@router.get("/admin/listeners")
def review(request: Request, status: str = "applicant", user: User = Depends(reviewer)) -> Response:
    ctx = security.services(request)
    chosen = status if status in {s.value for s in ListenerStatus} else ListenerStatus.APPLICANT.value
    return render(
        request,
        "admin/listeners.html",
        {
            "rows": listeners.review_queue(ctx, chosen),
            "status": chosen,
            "statuses": [s.value for s in ListenerStatus],
            "transitions": {s.value: {t.value for t in targets} for s, targets in LISTENER_TRANSITIONS.items()},
        },
    )


@router.post("/admin/listeners/{listener_id}/status")
async def change_status(request: Request, listener_id: str, user: User = Depends(reviewer)) -> Response:
    data = await security.read_form(request)
    view = listeners.set_status(security.services(request), listener_id[:64], text(data, "status", 20))
    back = text(data, "back", 20) or view.status
    return RedirectResponse(f"/admin/listeners?status={back}&updated={view.display_name}", status_code=303)


@router.get("/admin/taxonomy")
def taxonomy_page(request: Request, user: User = Depends(taxonomy_editor)) -> Response:
    return render(request, "admin/taxonomy.html", {"taxonomy": current_taxonomy(security.services(request))})


@router.post("/admin/taxonomy")
async def add_tag(request: Request, user: User = Depends(taxonomy_editor)) -> Response:
    data = await security.read_form(request)
    ctx = security.services(request)
    try:
        taxonomy_service.add_tag(
            ctx,
            tag_id=text(data, "id", 80),
            label=text(data, "label", 100),
            parent=optional(data, "parent", 80),
            synonyms=text(data, "synonyms", 1000).split(","),
            created_by=user.id,
        )
    except (ServiceError, RuleViolation) as exc:
        message, field, status = error_details(exc)
        return render(
            request,
            "admin/taxonomy.html",
            {"taxonomy": current_taxonomy(ctx), "error": message, "error_field": field, "values": kept_values(data)},
            status=status,
        )
    return RedirectResponse("/admin/taxonomy?added=1", status_code=303)


@router.get("/sponsor")
def own_sponsor(request: Request, user: User = Depends(sponsor_viewer)) -> Response:
    ctx = security.services(request)
    if user.sponsor_id is None:
        return RedirectResponse("/admin/sponsors", status_code=303)
    sponsor = sponsors.sponsor_for_viewer(ctx, user, user.sponsor_id)
    return render(
        request,
        "sponsor.html",
        {"sponsor": sponsor, "members": sponsors.member_count(ctx, sponsor.id), "can_manage": False, "values": {}},
    )


resources_editor = security.page_requires("crisis_resources.edit")


def _resources_page(request: Request, status: int = 200, **extra: object) -> Response:
    from sameboat.domain.safety.resources import all_crisis_resources

    ctx = security.services(request)
    return render(
        request,
        "admin/crisis_resources.html",
        {"shipped": all_crisis_resources(), "sponsors": sponsors.list_sponsors(ctx), **extra},
        status=status,
    )


@router.get("/admin/crisis-resources")
def crisis_resources_page(request: Request, user: User = Depends(resources_editor)) -> Response:
    return _resources_page(request)


@router.post("/admin/crisis-resources")
async def save_crisis_resources(request: Request, user: User = Depends(resources_editor)) -> Response:
    import yaml

    from sameboat.services import safety

    data = await security.read_form(request)
    ctx = security.services(request)
    try:
        try:
            parsed = yaml.safe_load(text(data, "resources", 10_000)) or []
        except yaml.YAMLError:
            raise RuleViolation("resources", "The services list isn't valid YAML. Check the indentation.") from None
        safety.save_crisis_resources(
            ctx,
            user,
            country=text(data, "country", 2),
            sponsor_id=optional(data, "sponsor_id", 64),
            data={
                "name": text(data, "name", 80) or text(data, "country", 2),
                "headline": text(data, "headline", 120),
                "emergency": text(data, "emergency", 40),
                "resources": parsed,
            },
        )
    except (ServiceError, RuleViolation) as exc:
        message, field, status = error_details(exc)
        return _resources_page(request, status=status, error=message, values=kept_values(data))
    return RedirectResponse("/admin/crisis-resources?saved=1", status_code=303)
