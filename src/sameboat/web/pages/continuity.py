"""Coming back and keeping going: the member's history, next steps, and the resource library."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from jinja2 import pass_context

from sameboat.adapters.storage.models import Conversation, User
from sameboat.domain.accounts import RuleViolation
from sameboat.domain.next_steps import ANSWERS, OUTCOME_MAX, zone
from sameboat.domain.resources import KINDS, shipped_library
from sameboat.services import continuity, conversations, dispatch, next_steps
from sameboat.services.conversations import Participant
from sameboat.services.errors import NotFound, ServiceError
from sameboat.services.taxonomy import current_taxonomy
from sameboat.services.unit_of_work import ServiceContext
from sameboat.web import security
from sameboat.web.markdown import to_html
from sameboat.web.pages.forms import error_details, text
from sameboat.web.rendering import render, templates

router = APIRouter()
history_owner = security.page_requires("history.own")
step_owner = security.page_requires("next_steps.own")
reader = security.page_requires("resources.browse")
sharer = security.page_requires("resources.share")


@pass_context
def local_day(context: Any, moment: datetime, fmt: str = "%-d %b %Y") -> str:
    """A date in the signed-in person's own time zone (UTC until they have one)."""
    user = context.get("user")
    profile = (user.member_profile or user.listener_profile) if user is not None else None
    return moment.astimezone(zone(getattr(profile, "timezone", None))).strftime(fmt)


templates.env.filters["day"] = local_day


# --- history -------------------------------------------------------------------------------------------------


@router.get("/history")
def history_page(request: Request, user: User = Depends(history_owner)) -> Response:
    ctx = security.services(request)
    past = continuity.history(ctx, user)
    return render(
        request,
        "history.html",
        {
            "past": past,
            "choices": continuity.listeners_to_talk_again(ctx, user, past),
            "steps": [s for s in next_steps.steps_of_member(ctx, user) if s.status == "open"],
            "deleted": request.query_params.get("deleted") == "1",
            "unfavourited": request.query_params.get("unfavourited") == "1",
        },
    )


@router.get("/history/{conversation_id}/delete")
def confirm_delete(request: Request, conversation_id: str, user: User = Depends(history_owner)) -> Response:
    item = continuity.own_past_conversation(security.services(request), user, conversation_id[:64])
    return render(request, "history_delete.html", {"item": item})


@router.post("/history/{conversation_id}/delete")
async def delete_conversation(request: Request, conversation_id: str, user: User = Depends(history_owner)) -> Response:
    await security.read_form(request)
    continuity.delete_conversation(security.services(request), user, conversation_id[:64])
    return RedirectResponse("/history?deleted=1", status_code=303)


@router.post("/history/favourites/{listener_id}/remove")
async def remove_favourite(request: Request, listener_id: str, user: User = Depends(history_owner)) -> Response:
    await security.read_form(request)
    continuity.remove_favourite(security.services(request), user, listener_id[:64])
    return RedirectResponse("/history?unfavourited=1", status_code=303)


@router.post("/history/talk-again/{listener_id}")
async def talk_again(request: Request, listener_id: str, user: User = Depends(history_owner)) -> Response:
    await security.read_form(request)
    ctx = security.services(request)
    try:
        name, support_request = continuity.talk_again(ctx, user, listener_id[:64])
    except (ServiceError, RuleViolation) as exc:
        message, _, status = error_details(exc)
        return render(request, "error.html", {"title": "We couldn't start that", "message": message}, status=status)
    if support_request is None:
        return render(request, "talk_again_unavailable.html", {"listener_id": listener_id[:64], "name": name})
    await dispatch.nudge_dispatcher(ctx)
    return RedirectResponse(f"/talk/{support_request.id}", status_code=303)


# --- next steps ----------------------------------------------------------------------------------------------


def _step_page(request: Request, step: next_steps.StepView, status: int = 200, **extra: Any) -> Response:
    context = {"step": step, "answers": ANSWERS, "outcome_max": OUTCOME_MAX, **extra}
    return render(request, "next_step.html", context, status=status)


@router.get("/next-steps/{step_id}")
def next_step_page(request: Request, step_id: str, user: User = Depends(step_owner)) -> Response:
    return _step_page(request, next_steps.step_for_member(security.services(request), user, step_id[:64]))


@router.post("/next-steps/{step_id}")
async def answer_next_step(request: Request, step_id: str, user: User = Depends(step_owner)) -> Response:
    data = await security.read_form(request)
    ctx = security.services(request)
    step = next_steps.step_for_member(ctx, user, step_id[:64])
    try:
        saved = next_steps.answer(
            ctx, user, step.id, text(data, "status", 10), text(data, "outcome", OUTCOME_MAX + 1000)
        )
    except (ServiceError, RuleViolation) as exc:
        message, field, status = error_details(exc)
        return _step_page(request, step, status, error=message, error_field=field, values=data)
    return _step_page(request, saved, saved=True)


# --- resource library ----------------------------------------------------------------------------------------


@router.get("/resources")
def resources_page(request: Request, topic: str = "", kind: str = "", user: User = Depends(reader)) -> Response:
    taxonomy = current_taxonomy(security.services(request))
    library = shipped_library()
    # Topic chips are the broad areas that have something in the library.
    areas = []
    for tag in library.topics():
        root = ([*reversed(taxonomy.ancestors(tag))] or [tag])[0] if tag in taxonomy else None
        if root and root not in areas:
            areas.append(root)
    items = list(library.resources)
    error = None
    topic, kind = topic[:60], kind[:20]
    if topic and topic not in taxonomy:
        error = "We don't know that topic. Choose one from the list."
    elif topic:
        items = library.about(topic, taxonomy)
    if kind and kind not in KINDS:
        error = "Choose articles or exercises."
    elif kind:
        items = [r for r in items if r.kind == kind]
    return render(
        request,
        "resources.html",
        {
            "items": items,
            "areas": [(a, taxonomy.label(a)) for a in areas],
            "topic": topic if topic in taxonomy else "",
            "topic_label": taxonomy.label(topic) if topic in taxonomy else "",
            "kind": kind if kind in KINDS else "",
            "label": lambda t: taxonomy.label(t) if t in taxonomy else t,
            "error": error,
        },
        status=422 if error else 200,
    )


@router.get("/resources/{slug}")
def resource_page(request: Request, slug: str, user: User = Depends(reader)) -> Response:
    resource = shipped_library().get(slug[:80])
    if resource is None:
        raise NotFound("We couldn't find that resource. It may have been renamed; try the library.")
    taxonomy = current_taxonomy(security.services(request))
    return render(
        request,
        "resource.html",
        {
            "resource": resource,
            "body": to_html(resource.body),
            "tags": [(t, taxonomy.label(t)) for t in resource.tags if t in taxonomy],
        },
    )


@router.post("/conversations/{conversation_id}/resources")
async def share_resource(request: Request, conversation_id: str, user: User = Depends(sharer)) -> Response:
    """The conversation page's "Share a resource" control. Script sends ask for JSON; plain forms redirect."""
    data = await security.read_form(request)
    ctx = security.services(request)
    wants_json = request.headers.get("x-requested-with") == "fetch"
    try:
        event = await conversations.share_resource(ctx, conversation_id[:64], user, text(data, "slug", 100))
    except (ServiceError, RuleViolation) as exc:
        message, field, status = error_details(exc)
        if wants_json:
            body = {"type": "about:blank", "title": "Not shared", "status": status, "detail": message}
            return JSONResponse(body, status_code=status, media_type="application/problem+json")
        return render(request, "error.html", {"title": "We couldn't share that", "message": message}, status=status)
    if wants_json:
        return JSONResponse({"seq": event["seq"], "resource": event["resource"]})
    return RedirectResponse(f"/conversations/{conversation_id[:64]}", status_code=303)


# --- what the conversation page adds -------------------------------------------------------------------------


def conversation_extras(ctx: ServiceContext, user: User, me: Participant, conversation: Conversation) -> dict[str, Any]:
    """The last next step between the two (both see it), and for the listener their own earlier notes, the
    member's open steps with them, and the resources they can share."""
    if me.role not in ("member", "listener"):
        return {}
    extras: dict[str, Any] = {"last_step": next_steps.last_between(ctx, conversation)}
    if me.role == "listener":
        extras["earlier_notes"] = continuity.earlier_notes(ctx, user, conversation)
        extras["open_steps"] = [
            s
            for s in next_steps.open_steps_for_listener(ctx, user, conversation.member_id)
            if extras["last_step"] is None or s.id != extras["last_step"].id
        ]
        extras["shareable"] = shipped_library().resources
    return extras
