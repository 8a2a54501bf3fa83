"""Server-rendered pages. Parse, authorise, call a service, render."""

from fastapi import APIRouter

from sameboat.web.pages import account, admin, directory, listener, member, public

router = APIRouter(include_in_schema=False)
for module in (public, account, member, directory, listener, admin):
    router.include_router(module.router)
