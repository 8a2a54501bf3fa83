"""Talking: the member's waiting room, the conversation page, feedback; the listener console."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from sameboat.adapters.storage.models import User
from sameboat.domain.accounts import RuleViolation
from sameboat.services import aftercare, booking, calls, conversations, dispatch, next_steps, presence
from sameboat.services.errors import NotFound, ServiceError
from sameboat.web import security
from sameboat.web.pages import continuity as continuity_pages
from sameboat.web.pages.forms import error_details, optional, text
from sameboat.web.rendering import render

router = APIRouter()
requester = security.page_requires("support.request")
participant = security.page_requires("conversations.take_part")
console_user = security.page_requires("listener.console")


def _config(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.runtime.dispatch_config


@router.post("/talk")
async def talk_now(request: Request, user: User = Depends(requester)) -> Response:
    data = await security.read_form(request)
    ctx = security.services(request)
    try:
        support_request = dispatch.request_support(
            ctx,
            user,
            text(data, "situation", 20_000),
            security.form_list(data, "topics"),
            chosen_listener_id=optional(data, "listener_id", 64),
            mode=text(data, "mode", 10),
        )
    except (ServiceError, RuleViolation) as exc:
        message, _, status = error_details(exc)
        return render(request, "error.html", {"title": "We couldn't start that", "message": message}, status=status)
    await dispatch.nudge_dispatcher(ctx)
    return RedirectResponse(f"/talk/{support_request.id}", status_code=303)


@router.get("/talk/{request_id}")
def waiting_room(request: Request, request_id: str, user: User = Depends(requester)) -> Response:
    state = dispatch.request_view(security.services(request), user, request_id[:64], _config(request))
    if state.get("conversation_url"):
        return RedirectResponse(state["conversation_url"], status_code=303)
    return render(request, "waiting.html", {"request_id": request_id, "state": state})


@router.get("/talk/{request_id}/state")
def waiting_state(request: Request, request_id: str, user: User = Depends(requester)) -> JSONResponse:
    return JSONResponse(dispatch.request_view(security.services(request), user, request_id[:64], _config(request)))


@router.post("/talk/{request_id}/cancel")
async def stop_waiting(request: Request, request_id: str, user: User = Depends(requester)) -> Response:
    await security.read_form(request)
    ctx = security.services(request)
    withdrawn = dispatch.cancel_request(ctx, user, request_id[:64])
    await dispatch.poke_users(ctx, withdrawn, "offers")
    return RedirectResponse("/home?stopped=1", status_code=303)


@router.get("/conversations/{conversation_id}")
def conversation_page(
    request: Request, conversation_id: str, note_saved: str = "", user: User = Depends(participant)
) -> Response:
    ctx = security.services(request)
    me = conversations.participant(ctx, conversation_id[:64], user)
    other = conversations.other_name(ctx, me)
    conversation = conversations.summary(ctx, me)
    context: dict[str, object] = {
        "conversation": conversation,
        "role": me.role,
        "other_name": other,
        "note_saved": bool(note_saved),
        "mode": calls.requested_mode(ctx, me.conversation_id),
    }
    if me.role == "listener":
        context["note"], context["concern"] = aftercare.note_for(ctx, user, me.conversation_id)
    if conversation.member_deleted_at is not None:  # the member deleted it: no transcript for anyone here
        if me.role != "listener":
            raise NotFound("That conversation is no longer in your history.")
        return render(request, "conversation_deleted.html", context)
    context.update(continuity_pages.conversation_extras(ctx, user, me, conversation))
    if me.role == "supervisor":
        context["other_name"] = "Member and listener"
    return render(request, "conversation.html", context)


@router.get("/conversations/{conversation_id}/call/ice-servers")
def call_ice_servers(request: Request, conversation_id: str, user: User = Depends(participant)) -> JSONResponse:
    """STUN/TURN servers for a voice call, with TURN credentials that expire (parties of the conversation only)."""
    return ice_servers_response(request, user, conversation_id[:64])


def ice_servers_response(request: Request, user: User, conversation_id: str) -> JSONResponse:
    settings = request.app.state.runtime.settings
    servers = calls.ice_servers(
        security.services(request),
        user.id,
        conversation_id,
        stun_urls=settings.stun_urls,
        turn_urls=settings.turn_urls,
        turn_secret=settings.turn_secret,
        ttl_seconds=settings.turn_ttl_seconds,
        relay_only=settings.turn_relay_only,
    )
    # Credentials: never cached by the browser or a proxy.
    return JSONResponse(servers, headers={"Cache-Control": "no-store"})


@router.get("/conversations/{conversation_id}/feedback")
def feedback_form(request: Request, conversation_id: str, user: User = Depends(participant)) -> Response:
    ctx = security.services(request)
    me = conversations.participant(ctx, conversation_id[:64], user)
    if me.role != "member":
        return RedirectResponse(f"/conversations/{me.conversation_id}", status_code=303)
    if conversations.summary(ctx, me).member_deleted_at is not None:
        raise NotFound("That conversation is no longer in your history.")
    return render(
        request,
        "feedback.html",
        {"conversation_id": me.conversation_id, "listener_name": conversations.other_name(ctx, me)},
    )


@router.post("/conversations/{conversation_id}/feedback")
async def give_feedback(request: Request, conversation_id: str, user: User = Depends(participant)) -> Response:
    data = await security.read_form(request)
    ctx = security.services(request)
    me = conversations.participant(ctx, conversation_id[:64], user)
    context = {"conversation_id": me.conversation_id, "listener_name": conversations.other_name(ctx, me)}
    try:
        felt = text(data, "felt_heard", 2)
        profile = user.member_profile
        chosen_date = text(data, "check_in_date", 20)
        step = next_steps.draft(
            text(data, "step", 400),
            "date" if chosen_date else text(data, "check_in", 10),  # a date typed in is the clearest choice
            chosen_date,
            ctx.now(),
            profile.timezone if profile else None,
        )
        aftercare.give_feedback(
            ctx,
            user,
            me.conversation_id,
            felt_heard=int(felt) if felt.isdigit() else 0,
            would_talk_again=text(data, "again", 5) == "yes",
            comment=text(data, "comment", 2000),
            next_step=step,
        )
    except (ServiceError, RuleViolation) as exc:
        message, field, status = error_details(exc)
        values = {k: v for k, v in data.items() if k in ("step", "check_in", "check_in_date", "comment")}
        return render(
            request,
            "feedback.html",
            {**context, "error": message, "error_field": field, "values": values},
            status=status,
        )
    return render(request, "feedback.html", {**context, "saved": True, "step": step})


@router.post("/conversations/{conversation_id}/notes")
async def save_notes(request: Request, conversation_id: str, user: User = Depends(console_user)) -> Response:
    data = await security.read_form(request)
    aftercare.save_note(
        security.services(request),
        user,
        conversation_id[:64],
        text(data, "body", 4000),
        concern=text(data, "concern", 5) == "yes",
    )
    return RedirectResponse(f"/conversations/{conversation_id[:64]}?note_saved=1", status_code=303)


@router.get("/console")
def console(request: Request, user: User = Depends(console_user)) -> Response:
    ctx = security.services(request)
    state = dispatch.console_view(ctx, user)
    upcoming = [
        b
        for b in booking.bookings_for(ctx, user, request.app.state.runtime.booking_config, past_days=0)
        if b.status == "booked"
    ][:3]
    return render(
        request,
        "console.html",
        {
            "presence": presence.presence_of(ctx, user),
            "conversations": state["conversations"],
            "next_bookings": upcoming,
            "zone": booking.display_zone(ctx, user),
        },
    )


@router.get("/console/state")
def console_state(request: Request, user: User = Depends(console_user)) -> JSONResponse:
    return JSONResponse(dispatch.console_view(security.services(request), user))


@router.post("/console/presence")
async def set_presence(request: Request, user: User = Depends(console_user)) -> Response:
    data = await security.read_form(request)
    ctx = security.services(request)
    presence.set_state(ctx, user, text(data, "state", 10))
    await dispatch.nudge_dispatcher(ctx)
    return RedirectResponse("/console", status_code=303)


@router.post("/console/offers/{offer_id}/accept")
async def accept(request: Request, offer_id: str, user: User = Depends(console_user)) -> Response:
    await security.read_form(request)
    ctx = security.services(request)
    try:
        conversation, member_id = dispatch.accept_offer(ctx, user, offer_id[:64])
    except ServiceError as exc:
        return render(
            request,
            "error.html",
            {"title": "This conversation isn't available", "message": exc.detail},
            status=exc.status,
        )
    await dispatch.publish_match(ctx, conversation, member_id, user.id)
    return RedirectResponse(f"/conversations/{conversation.id}", status_code=303)


@router.post("/console/offers/{offer_id}/decline")
async def decline(request: Request, offer_id: str, user: User = Depends(console_user)) -> Response:
    await security.read_form(request)
    ctx = security.services(request)
    dispatch.decline_offer(ctx, user, offer_id[:64])
    await dispatch.nudge_dispatcher(ctx)
    return RedirectResponse("/console", status_code=303)
