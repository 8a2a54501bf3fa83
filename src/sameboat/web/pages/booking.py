"""Booked sessions: a listener's weekly availability, a member booking a time, both parties' bookings, notices."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from itertools import groupby
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from sameboat.adapters.storage.models import User
from sameboat.domain.accounts import RuleViolation
from sameboat.domain.booking import WEEKDAYS, WeeklyWindow, parse_hhmm
from sameboat.services import booking, notifications
from sameboat.services.errors import ServiceError
from sameboat.web import security
from sameboat.web.pages.forms import error_details, optional, text
from sameboat.web.rendering import render

router = APIRouter()
booker = security.page_requires("bookings.make")
party = security.page_requires("bookings.view_own")
availability_editor = security.page_requires("availability.edit_own")
reader = security.page_requires("notifications.read_own")
RANGES_PER_DAY = 2
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/")))


def _config(request: Request) -> booking.BookingConfig:
    return request.app.state.runtime.booking_config


def _failed(request: Request, exc: Exception, title: str) -> Response:
    message, _, status = error_details(exc)
    return render(request, "error.html", {"title": title, "message": message}, status=status)


# --- listener: weekly availability --------------------------------------------------------------------------------


def _availability_page(request: Request, user: User, status: int = 200, **extra: object) -> Response:
    windows, zone_name = booking.availability_of(security.services(request), user.id)
    rows: dict[int, list[WeeklyWindow]] = {d: [] for d in range(7)}
    for window in windows:
        rows[window.weekday].append(window)
    return render(
        request,
        "availability.html",
        {
            "weekdays": list(enumerate(WEEKDAYS)),
            "rows": rows,
            "ranges": range(RANGES_PER_DAY),
            "zone": extra.pop("zone", zone_name),
            "zones": ZONES,
            "slot_minutes": _config(request).rules.slot_minutes,
            **extra,
        },
        status=status,
    )


def _windows_from(data: dict[str, Any]) -> list[WeeklyWindow]:
    windows = []
    for weekday, name in enumerate(WEEKDAYS):
        for index in range(RANGES_PER_DAY):
            start, end = text(data, f"d{weekday}_start_{index}", 5), text(data, f"d{weekday}_end_{index}", 5)
            if not start and not end:
                continue
            if not (start and end):
                raise RuleViolation("windows", f"{name}: give both a start and an end time.")
            windows.append(WeeklyWindow(weekday, parse_hhmm(start, "windows"), parse_hhmm(end, "windows")))
    return windows


@router.get("/listener/availability")
def availability(request: Request, saved: str = "", user: User = Depends(availability_editor)) -> Response:
    return _availability_page(request, user, saved=bool(saved))


@router.post("/listener/availability")
async def save_availability(request: Request, user: User = Depends(availability_editor)) -> Response:
    data = await security.read_form(request)
    zone_name = text(data, "timezone", 64)
    try:
        booking.set_availability(security.services(request), user, zone_name, _windows_from(data), _config(request))
    except (ServiceError, RuleViolation) as exc:
        message, _, status = error_details(exc)
        return _availability_page(request, user, status=status, error=message, zone=zone_name)
    return RedirectResponse("/listener/availability?saved=1", status_code=303)


# --- member: choose a time --------------------------------------------------------------------------------------


def _zone_for(request: Request, user: User, reported: str) -> str:
    """The member's zone: what their browser just reported (kept for emails), else what we know, else UTC."""
    ctx = security.services(request)
    if reported:
        return booking.remember_member_zone(ctx, user, reported[:64])
    return booking.member_zone(ctx, user) or "UTC"


def _days(slots: Iterable[datetime], zone_name: str) -> list[tuple[date, list[tuple[datetime, datetime]]]]:
    zone = booking.zone_of(zone_name)
    local = [(slot, slot.astimezone(zone)) for slot in slots]
    return [(day, list(items)) for day, items in groupby(local, key=lambda pair: pair[1].date())]


#: Days with free times shown at first; the rest behind "Show later times" (a phone screen stays short).
FIRST_DAYS_SHOWN = 7


def _slot_page(
    request: Request,
    user: User,
    listener_id: str,
    zone_name: str,
    status: int = 200,
    show_all: bool = False,
    **extra: object,
) -> Response:
    ctx = security.services(request)
    try:
        slots = booking.open_slots(ctx, user, listener_id, _config(request))
    except ServiceError as exc:
        return _failed(request, exc, "You can't book this listener")
    days = _days(slots, zone_name)
    return render(
        request,
        "book.html",
        {
            "listener_id": listener_id,
            "listener_name": booking.listener_summary(ctx, listener_id),
            "days": days if show_all else days[:FIRST_DAYS_SHOWN],
            "more_days": 0 if show_all else max(0, len(days) - FIRST_DAYS_SHOWN),
            "zone": zone_name,
            "zone_info": booking.zone_of(zone_name),
            "known_zone": booking.member_zone(ctx, user),
            "slot_minutes": _config(request).rules.slot_minutes,
            "notice_hours": _config(request).rules.notice_hours,
            **extra,
        },
        status=status,
    )


@router.get("/book/{listener_id}")
def choose_time(
    request: Request, listener_id: str, tz: str = "", later: str = "", user: User = Depends(booker)
) -> Response:
    return _slot_page(request, user, listener_id[:64], _zone_for(request, user, tz), show_all=bool(later))


def _chosen_start(data: dict[str, Any]) -> datetime:
    raw = text(data, "starts_at", 40)
    try:
        chosen = datetime.fromisoformat(raw)
    except ValueError:
        raise RuleViolation("starts_at", "Please choose one of the times shown.") from None
    return chosen if chosen.tzinfo else chosen.replace(tzinfo=UTC)


@router.post("/book/{listener_id}")
async def make_booking(request: Request, listener_id: str, user: User = Depends(booker)) -> Response:
    data = await security.read_form(request)
    zone_name = _zone_for(request, user, optional(data, "timezone", 64) or "")
    try:
        booking.book(
            security.services(request),
            user,
            listener_id[:64],
            _chosen_start(data),
            text(data, "note", booking.NOTE_MAX),
            _config(request),
        )
    except (ServiceError, RuleViolation) as exc:
        message, _, status = error_details(exc)
        return _slot_page(request, user, listener_id[:64], zone_name, status=status, error=message)
    return RedirectResponse("/bookings?booked=1", status_code=303)


# --- both parties: bookings --------------------------------------------------------------------------------------


@router.get("/bookings")
def my_bookings(request: Request, booked: str = "", changed: str = "", user: User = Depends(party)) -> Response:
    ctx = security.services(request)
    views = booking.bookings_for(ctx, user, _config(request))
    now = ctx.now()
    return render(
        request,
        "bookings.html",
        {
            "upcoming": [v for v in views if v.status == "booked" and v.ends_at > now],
            "past": [v for v in reversed(views) if not (v.status == "booked" and v.ends_at > now)],
            "zone": booking.display_zone(ctx, user),
            "booked": bool(booked),
            "changed": changed,
            "notice_hours": _config(request).rules.notice_hours,
        },
    )


@router.post("/bookings/{booking_id}/cancel")
async def cancel_booking(request: Request, booking_id: str, user: User = Depends(party)) -> Response:
    await security.read_form(request)
    try:
        booking.cancel(security.services(request), user, booking_id[:64], _config(request))
    except ServiceError as exc:
        return _failed(request, exc, "We couldn't cancel that")
    return RedirectResponse("/bookings?changed=cancelled", status_code=303)


@router.post("/bookings/{booking_id}/join")
async def join_session(request: Request, booking_id: str, user: User = Depends(party)) -> Response:
    await security.read_form(request)
    try:
        conversation_id = booking.join(security.services(request), user, booking_id[:64], _config(request))
    except ServiceError as exc:
        return _failed(request, exc, "This session isn't open")
    return RedirectResponse(f"/conversations/{conversation_id}", status_code=303)


@router.get("/bookings/{booking_id}/reschedule")
def reschedule_form(request: Request, booking_id: str, later: str = "", user: User = Depends(booker)) -> Response:
    try:
        held = booking.member_booking(security.services(request), user, booking_id[:64], _config(request))
    except ServiceError as exc:
        return _failed(request, exc, "Nothing to move")
    zone_name = _zone_for(request, user, "")
    return _slot_page(request, user, held.other_id, zone_name, show_all=bool(later), moving=held)


@router.post("/bookings/{booking_id}/reschedule")
async def reschedule(request: Request, booking_id: str, user: User = Depends(booker)) -> Response:
    data = await security.read_form(request)
    try:
        held = booking.member_booking(security.services(request), user, booking_id[:64], _config(request))
    except ServiceError as exc:
        return _failed(request, exc, "Nothing to move")
    try:
        booking.reschedule(security.services(request), user, held.id, _chosen_start(data), _config(request))
    except (ServiceError, RuleViolation) as exc:
        message, _, status = error_details(exc)
        zone_name = _zone_for(request, user, "")
        return _slot_page(request, user, held.other_id, zone_name, status=status, error=message, moving=held)
    return RedirectResponse("/bookings?changed=moved", status_code=303)


# --- notices ------------------------------------------------------------------------------------------------------


@router.get("/notifications")
def notices(request: Request, user: User = Depends(reader)) -> Response:
    ctx = security.services(request)
    items = notifications.inbox(ctx, user)
    notifications.mark_all_read(ctx, user)  # seeing the list is reading it
    return render(request, "notifications.html", {"notices": items})
