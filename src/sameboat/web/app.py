"""The ASGI application: pages under /, the REST API under /api/v1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sameboat import __version__
from sameboat.bootstrap import Runtime, bootstrap
from sameboat.domain.accounts import RuleViolation
from sameboat.services.booking import run_scheduler
from sameboat.services.dispatch import run_dispatcher
from sameboat.services.errors import ServiceError
from sameboat.services.matching import prepare_matching
from sameboat.services.safety import run_orphan_sweeper
from sameboat.settings import Settings, get_settings
from sameboat.web import security
from sameboat.web.collector import run_collector_policy
from sameboat.web.rendering import render

STATIC_DIR = Path(__file__).parent / "static"
# Nothing is loaded from third parties: this page is about sensitive conversations.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)

log = logging.getLogger(__name__)


class CsrfCookieAndSecurityHeaders:
    """Gives every browser a signed CSRF cookie (templates read it from the scope) and sets security headers.

    Plain ASGI rather than @app.middleware so that what it puts in the scope reaches the endpoint.
    """

    def __init__(self, app: ASGIApp, secret: str, secure: bool) -> None:
        self.app, self.secret, self.secure = app, secret, secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = Request(scope).cookies.get(security.CSRF_COOKIE)
        fresh = not security.csrf_token_is_valid(self.secret, token)
        if fresh:
            token = security.new_csrf_token(self.secret)
        scope[security.CSRF_SCOPE_KEY] = token
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if fresh:
                    cookie = f"{security.CSRF_COOKIE}={token}; HttpOnly; Path=/; SameSite=lax"
                    headers.append("set-cookie", cookie + ("; Secure" if self.secure else ""))
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                # The microphone (voice calls) for this site only; never the camera or location.
                headers.setdefault("Permissions-Policy", "microphone=(self), camera=(), geolocation=()")
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def problem(status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = runtime or bootstrap(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub = runtime.services.hub
        if hub is not None:
            await hub.start()
        runtime.risk_queue.start()  # the risk worker process loads its model while the server starts
        # Stories saved under another embedding model are re-embedded, and the taxonomy's words embedded for
        # matching, in the background, off the request path.
        reembedding = asyncio.create_task(asyncio.to_thread(prepare_matching, runtime.services))
        stop_dispatch = asyncio.Event()
        dispatcher = None
        if settings.dispatch_interval_seconds > 0:
            dispatcher = asyncio.create_task(
                run_dispatcher(
                    runtime.services,
                    runtime.dispatch_config,
                    settings.dispatch_interval_seconds,
                    stop_dispatch,
                    runtime.escalation,
                )
            )
        # The same switch turns the booking scheduler off in tests that drive time by hand.
        if settings.dispatch_interval_seconds > 0 and settings.notification_interval_seconds > 0:
            scheduler = asyncio.create_task(
                run_scheduler(
                    runtime.services,
                    runtime.booking_config,
                    runtime.mailer,
                    settings.base_url,
                    settings.notification_interval_seconds,
                    stop_dispatch,
                )
            )
        else:
            scheduler = None
        # Member messages a stopped process never assessed are picked up again (same switch as above).
        sweeper = (
            asyncio.create_task(run_orphan_sweeper(runtime.risk_queue, stop_dispatch))
            if settings.dispatch_interval_seconds > 0
            else None
        )
        # Long-lived objects out of the garbage collector's way (long full collections stalled the chat).
        collector = (
            asyncio.create_task(run_collector_policy(stop_dispatch, freeze_every=settings.gc_freeze_seconds))
            if settings.gc_freeze_seconds > 0
            else None
        )
        try:
            yield
        finally:
            stop_dispatch.set()
            queue_stats = runtime.risk_queue.stats
            # A warning when it fell behind: then the model did not read every message as it came.
            (log.warning if queue_stats.phrases_only or queue_stats.failed else log.info)(
                "%s", runtime.risk_queue.summary()
            )
            background = [task for task in (dispatcher, scheduler, sweeper, collector) if task is not None]
            await asyncio.gather(reembedding, *background, return_exceptions=True)
            if hub is not None:
                await hub.close()
            if runtime.services.writer is not None:
                await asyncio.to_thread(runtime.services.writer.close)

    app = FastAPI(
        lifespan=lifespan,
        title="Sameboat API",
        version=__version__,
        description="Peer support with people who have been in the same boat. Errors are problem+json.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.runtime = runtime

    app.add_middleware(CsrfCookieAndSecurityHeaders, secret=settings.secret_key, secure=settings.secure_cookies)

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        if _is_api(request):
            errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
            return problem(exc.status, exc.title, exc.detail, errors)
        return render(request, "error.html", {"title": exc.title, "message": exc.detail}, status=exc.status)

    @app.exception_handler(RuleViolation)
    async def rule_violation(request: Request, exc: RuleViolation) -> Response:
        return await service_error(request, _as_invalid(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for err in exc.errors():
            location = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            errors.append({"field": ".".join(location) or None, "message": err.get("msg", "invalid")})
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            return problem(400, "Malformed JSON", "The request body is not valid JSON.", errors)
        if _is_api(request):
            return problem(422, "Please check what you sent", "Some fields are missing or not valid.", errors)
        return render(
            request,
            "error.html",
            {"title": "Please check the address", "message": "Part of this address isn't valid."},
            status=422,
        )

    @app.exception_handler(security.SignInRequired)
    async def sign_in_required(request: Request, exc: security.SignInRequired) -> Response:
        return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)

    @app.exception_handler(security.CsrfFailed)
    async def csrf_failed(request: Request, exc: security.CsrfFailed) -> Response:
        return render(
            request,
            "error.html",
            {
                "title": "Please try that again",
                "message": "This form had expired. Go back, reload the page and send it again. Nothing was saved.",
            },
            status=403,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "Something went wrong."
        if _is_api(request):
            title = "Not found" if exc.status_code == 404 else "Request not accepted"
            return problem(exc.status_code, title, detail)
        if exc.status_code == 404:
            return render(
                request,
                "error.html",
                {"title": "We couldn't find that page", "message": "Check the address, or go back home."},
                status=404,
            )
        return render(
            request, "error.html", {"title": "Something went wrong", "message": detail}, status=exc.status_code
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return problem(500, "Internal error", "Something went wrong on our side. Nothing was saved.")
        return render(
            request,
            "error.html",
            {
                "title": "Something went wrong on our side",
                "message": "Nothing was saved. Please try again in a moment.",
            },
            status=500,
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    from sameboat.web import realtime

    app.include_router(realtime.router)
    for prefix, router in all_routers():
        app.include_router(router, prefix=prefix, include_in_schema=bool(prefix))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


def all_routers() -> list[tuple[str, APIRouter]]:
    """Every router with its prefix (also read by the permission-matrix test)."""
    from sameboat.web import api, pages

    return [(api.PREFIX, r) for r in api.ROUTERS] + [("", r) for r in pages.ROUTERS]


def _as_invalid(exc: RuleViolation) -> ServiceError:
    from sameboat.services.errors import InvalidInput

    return InvalidInput(exc.message, field=exc.field)
