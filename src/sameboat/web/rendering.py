"""Jinja2 rendering with what every page needs: the user, the CSRF token, crisis resources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from sameboat.domain.taxonomy import Taxonomy
from sameboat.services import notifications
from sameboat.services.safety import crisis_resources
from sameboat.web import security

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _descendants(taxonomy: Taxonomy, tag_id: str) -> list[str]:
    """The tag and everything under it (to open the right sections of a tag picker)."""
    out = [tag_id]
    for child in taxonomy.children_of(tag_id):
        out.extend(_descendants(taxonomy, child.id))
    return out


templates.env.globals["descendants"] = _descendants

# Where each role lands after signing in, and the links in its navigation.
HOME_FOR_ROLE = {
    "member": "/home",
    "listener": "/console",
    "supervisor": "/supervise",
    "admin": "/admin",
    "sponsor_admin": "/sponsor",
}
NAV_FOR_ROLE = {
    "member": [
        ("/home", "Talk"),
        ("/bookings", "Bookings"),
        ("/history", "History"),
        ("/listeners", "Listeners"),
        ("/resources", "Resources"),
        ("/notifications", "Notices"),
        ("/preferences", "Preferences"),
    ],
    "listener": [
        ("/console", "Console"),
        ("/bookings", "Bookings"),
        ("/listener/availability", "Availability"),
        ("/notifications", "Notices"),
        ("/listener/profile", "My profile"),
        ("/listeners", "Listeners"),
        ("/resources", "Resources"),
    ],
    "supervisor": [("/supervise", "Supervise"), ("/listeners", "Listeners")],
    "admin": [
        ("/admin", "Admin"),
        ("/admin/listeners", "Listeners to review"),
        ("/admin/sponsors", "Sponsors"),
        ("/admin/taxonomy", "Experiences"),
        ("/admin/crisis-resources", "Crisis resources"),
        ("/supervise", "Supervise"),
    ],
    "sponsor_admin": [("/sponsor", "My organisation")],
}


def render(request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
    user = security.page_user(request) if hasattr(request.app.state, "runtime") else None
    settings = request.app.state.runtime.settings
    sponsor = user.sponsor if user is not None else None
    crisis = crisis_resources(
        request.app.state.runtime.services,
        sponsor.country if sponsor else None,
        sponsor.id if sponsor else None,
        settings.default_country,
    )
    base = {
        "user": user,
        "unread": notifications.unread_count(request.app.state.runtime.services, user)
        if user is not None and user.role in ("member", "listener")
        else 0,
        "nav": NAV_FOR_ROLE.get(user.role, []) if user else [],
        "csrf_token": request.scope.get(security.CSRF_SCOPE_KEY, ""),
        "crisis": crisis,
        "path": request.url.path,
    }
    base.update(context or {})
    return templates.TemplateResponse(request, template, base, status_code=status)
