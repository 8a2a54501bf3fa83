"""The supervisor console: alerts that cannot be missed, live conversations by risk, reports, concerns."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from sameboat.adapters.storage.models import User
from sameboat.domain.accounts import RuleViolation
from sameboat.services import conversations, safety
from sameboat.services.errors import ServiceError
from sameboat.services.unit_of_work import ServiceContext
from sameboat.web import security
from sameboat.web.pages.forms import error_details, text
from sameboat.web.rendering import render

router = APIRouter()
supervisor = security.page_requires("safety.supervise")
participant = security.page_requires("conversations.take_part")


def _console(request: Request, user: User, status: int = 200, **extra: object) -> Response:
    ctx = security.services(request)
    safety.supervisor_seen(ctx, user, on_duty=True)
    return render(request, "supervise.html", {**safety.console_data(ctx, user), **extra}, status=status)


@router.get("/supervise")
def console(request: Request, user: User = Depends(supervisor)) -> Response:
    return _console(request, user)


@router.get("/supervise/state")
def console_state(request: Request, user: User = Depends(supervisor)) -> JSONResponse:
    ctx = security.services(request)
    safety.supervisor_seen(ctx, user)
    data = safety.console_data(ctx, user)
    return JSONResponse(
        {
            "open_count": data["open_count"],
            "alerts": [a["id"] + a["status"] for a in data["alerts"]],
            "conversations": len(data["conversations"]),
            "reports": len(data["reports"]),
        }
    )


SupervisorAction = Callable[[ServiceContext, dict[str, Any]], object]


async def _act(request: Request, user: User, action: SupervisorAction) -> Response:
    """Run one console action; on success tell every console, on failure show why on the console."""
    data = await security.read_form(request)
    ctx = security.services(request)
    try:
        action(ctx, data)
    except (ServiceError, RuleViolation) as exc:
        message, _, status = error_details(exc)
        return _console(request, user, status=status, error=message)
    if ctx.hub is not None:
        await ctx.hub.publish(safety.SUPERVISORS_CHANNEL, {"type": "changed"})
    return RedirectResponse("/supervise", status_code=303)


@router.post("/supervise/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, alert_id: str, user: User = Depends(supervisor)) -> Response:
    return await _act(request, user, lambda ctx, data: safety.acknowledge_alert(ctx, user, alert_id[:64]))


@router.post("/supervise/alerts/{alert_id}/resolve")
async def resolve(request: Request, alert_id: str, user: User = Depends(supervisor)) -> Response:
    return await _act(
        request, user, lambda ctx, data: safety.resolve_alert(ctx, user, alert_id[:64], text(data, "note", 2000))
    )


@router.post("/supervise/alerts/{alert_id}/note")
async def note(request: Request, alert_id: str, user: User = Depends(supervisor)) -> Response:
    return await _act(
        request, user, lambda ctx, data: safety.add_alert_note(ctx, user, alert_id[:64], text(data, "note", 2000))
    )


@router.post("/supervise/conversations/{conversation_id}/join")
async def join(request: Request, conversation_id: str, user: User = Depends(supervisor)) -> Response:
    await security.read_form(request)
    ctx = security.services(request)
    try:
        event = safety.join_conversation(ctx, user, conversation_id[:64])
    except ServiceError as exc:
        return _console(request, user, status=exc.status, error=exc.detail)
    if ctx.hub is not None:
        await ctx.hub.publish(conversations.conversation_channel(conversation_id[:64]), event)
    return RedirectResponse(f"/conversations/{conversation_id[:64]}", status_code=303)


@router.get("/supervise/conversations/{conversation_id}/transcript")
def transcript(request: Request, conversation_id: str, why: str = "", user: User = Depends(supervisor)) -> Response:
    ctx = security.services(request)
    if not why.strip():
        return render(request, "transcript_reason.html", {"conversation_id": conversation_id[:64]})
    events = safety.transcript_for_supervisor(ctx, user, conversation_id[:64], why.strip())
    return render(request, "transcript.html", {"events": events, "conversation_id": conversation_id[:64]})


@router.post("/supervise/reports/{report_id}/review")
async def review_report(request: Request, report_id: str, user: User = Depends(supervisor)) -> Response:
    return await _act(request, user, lambda ctx, data: safety.review_report(ctx, user, report_id[:64]))


@router.post("/conversations/{conversation_id}/report")
async def report(request: Request, conversation_id: str, user: User = Depends(participant)) -> Response:
    data = await security.read_form(request)
    ctx = security.services(request)
    try:
        safety.report(ctx, user, conversation_id[:64], text(data, "reason", 30), text(data, "details", 2000))
    except (ServiceError, RuleViolation) as exc:
        message, _, status = error_details(exc)
        return render(
            request, "error.html", {"title": "We couldn't send that report", "message": message}, status=status
        )
    if ctx.hub is not None:
        await ctx.hub.publish(safety.SUPERVISORS_CHANNEL, {"type": "changed"})
    return RedirectResponse(f"/conversations/{conversation_id[:64]}?reported=1", status_code=303)


@router.post("/conversations/{conversation_id}/block")
async def block(request: Request, conversation_id: str, user: User = Depends(participant)) -> Response:
    await security.read_form(request)
    ctx = security.services(request)
    safety.block(ctx, user, conversation_id[:64])
    with contextlib.suppress(ServiceError):  # already ended: the block still stands
        await conversations.end_conversation(ctx, conversation_id[:64], user)
    return RedirectResponse(f"/conversations/{conversation_id[:64]}?blocked=1", status_code=303)
