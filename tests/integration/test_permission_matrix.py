"""Every role against every protected route, pages and API, read from the app itself."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from sameboat.domain.accounts import Role
from sameboat.domain.permissions import PERMISSIONS, is_allowed
from sameboat.services import accounts
from sameboat.web.app import all_routers
from tests.integration.conftest import csrf_of


def route_permission(route: APIRoute) -> str | None:
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        permission = getattr(dep.call, "permission", None)
        if permission:
            return permission
        pending.extend(dep.dependencies)
    return None


def all_routes() -> list[tuple[str, APIRoute]]:
    return [
        (prefix + route.path, route)
        for prefix, router in all_routers()
        for route in router.routes
        if isinstance(route, APIRoute)
    ]


def protected_routes(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    found = []
    for path, route in all_routes():
        if permission := route_permission(route):
            for method in sorted(route.methods - {"HEAD"}):
                found.append((method, path, permission))
    return found


def test_every_permission_is_used_and_every_mutating_route_is_protected(app) -> None:  # type: ignore[no-untyped-def]
    used = {p for _, _, p in protected_routes(app)}
    assert used == set(PERMISSIONS), f"permissions without a route: {set(PERMISSIONS) - used}"
    public = {
        ("POST", "/signin"),
        ("POST", "/join"),
        ("POST", "/listen"),
        ("POST", "/api/v1/auth/token"),
        ("POST", "/api/v1/members"),
        ("POST", "/api/v1/listener-applications"),
    }
    for path, route in all_routes():
        if route.methods & {"POST", "PUT", "DELETE", "PATCH"}:
            for method in route.methods:
                assert route_permission(route) or (method, path) in public, f"{method} {path} is open"


def fill(path: str, world, role: str) -> str:  # type: ignore[no-untyped-def]
    # Unknown ids are fine: an allowed role then gets 404 (or another 4xx), never 401/403.
    values = {
        "listener_id": world.approved_listener_id,
        "sponsor_id": world.sponsor_id,
        "request_id": "no-such-request",
        "conversation_id": "no-such-conversation",
        "offer_id": "no-such-offer",
        "alert_id": "no-such-alert",
        "report_id": "no-such-report",
        "booking_id": "no-such-booking",
        "step_id": "no-such-step",
        "slug": "no-such-resource",
    }
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


def test_permission_matrix(app, client: TestClient, world, services) -> None:  # type: ignore[no-untyped-def]
    routes = protected_routes(app)
    assert len(routes) >= 25
    failures = []
    for method, path, permission in routes:
        api = path.startswith("/api/")
        for role in [*Role, None]:
            url = fill(path, world, role)
            headers: dict[str, str] = {}
            client.cookies.clear()
            if role is not None:
                user = world.users[role.value]
                kind = "api" if api else "web"
                token = accounts.start_session(services, user.id, kind)
                if api:
                    headers["Authorization"] = f"Bearer {token}"
                else:
                    client.cookies.set("sameboat_session", token)
            kwargs: dict[str, object] = {"headers": headers, "follow_redirects": False}
            if method != "GET":
                kwargs["json" if api else "data"] = {} if api else {"csrf_token": csrf_of(client)}
            status = client.request(method, url, **kwargs).status_code
            if role is None:
                expected_ok = status == (401 if api else 303)
            elif is_allowed(role, permission):
                expected_ok = status not in (401, 403) and status < 500
            else:
                expected_ok = status == 403
            if not expected_ok:
                failures.append(f"{method} {path} as {role and role.value}: {status} ({permission})")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", list(Role))
def test_page_navigation_only_links_to_allowed_pages(app, client, world, services, role: Role) -> None:  # type: ignore[no-untyped-def]
    from sameboat.web.rendering import NAV_FOR_ROLE

    token = accounts.start_session(services, world.users[role.value].id, "web")
    client.cookies.set("sameboat_session", token)
    for href, _ in NAV_FOR_ROLE[role.value]:
        assert client.get(href, follow_redirects=False).status_code == 200, href
