"""REST API under /api/v1. Bearer tokens; errors are problem+json."""

from fastapi import APIRouter

from sameboat.web.api import admin, auth, directory

router = APIRouter()
for module in (auth, directory, admin):
    router.include_router(module.router)
