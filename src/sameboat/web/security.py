"""Who is asking, and may they? Cookie sessions for pages, bearer tokens for the API, CSRF for forms.

Permission checks happen here and only here, by consulting the table in ``domain.permissions``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from sameboat.adapters.storage.models import User
from sameboat.domain.permissions import is_allowed
from sameboat.services import accounts
from sameboat.services.errors import Forbidden, NotAuthenticated
from sameboat.services.unit_of_work import ServiceContext

SESSION_COOKIE = "sameboat_session"
CSRF_COOKIE = "sameboat_csrf"
CSRF_FIELD = "csrf_token"
CSRF_SCOPE_KEY = "sameboat.csrf_token"  # where the middleware leaves this browser's token for templates


class SignInRequired(Exception):
    """A page needs a signed-in user; the handler redirects to the sign-in page."""


class CsrfFailed(Exception):
    """A form arrived without the token this browser was given."""


def services(request: Request) -> ServiceContext:
    return request.app.state.runtime.services


def _sign(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def new_csrf_token(secret: str) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(secret, nonce)}"


def csrf_token_is_valid(secret: str, token: str | None) -> bool:
    if not token or "." not in token:
        return False
    nonce, signature = token.rsplit(".", 1)
    return hmac.compare_digest(signature, _sign(secret, nonce))


def page_user(request: Request) -> User | None:
    """The signed-in user of this browser, if any (cached on the request)."""
    if not hasattr(request.state, "user"):
        token = request.cookies.get(SESSION_COOKIE, "")
        request.state.user = accounts.user_for_token(services(request), token, "web") if token else None
    return request.state.user


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def api_user(request: Request) -> User:
    token = bearer_token(request)
    user = accounts.user_for_token(services(request), token, "api") if token else None
    if user is None:
        raise NotAuthenticated("Send a valid token in the Authorization header: 'Bearer <token>'.")
    return user


def _check(user: User, permission: str) -> User:
    if not is_allowed(user.role, permission):
        raise Forbidden("Your account doesn't have access to this.")
    return user


def page_requires(permission: str) -> Callable[[Request], User]:
    def dependency(request: Request) -> User:
        user = page_user(request)
        if user is None:
            raise SignInRequired()
        return _check(user, permission)

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the permission-matrix test
    return dependency


def api_requires(permission: str) -> Callable[[Request], User]:
    def dependency(request: Request) -> User:
        return _check(api_user(request), permission)

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


async def read_form(request: Request) -> dict[str, Any]:
    """Parse a submitted form and check its CSRF token against this browser's cookie."""
    form = await request.form()
    sent = str(form.get(CSRF_FIELD, ""))
    cookie = request.cookies.get(CSRF_COOKIE, "")
    secret = request.app.state.runtime.settings.secret_key
    if not (csrf_token_is_valid(secret, sent) and hmac.compare_digest(sent, cookie)):
        raise CsrfFailed()
    data: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key == CSRF_FIELD or not isinstance(value, str):
            continue
        if key in data:
            data[key] = [*data[key], value] if isinstance(data[key], list) else [data[key], value]
        else:
            data[key] = value
    return data


def form_list(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None or value == "":
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if v]


CallNext = Callable[[Request], Awaitable[Any]]
