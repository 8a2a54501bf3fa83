"""REST API under /api/v1. Bearer tokens; errors are problem+json."""

from sameboat.web.api import admin, auth, directory

PREFIX = "/api/v1"
ROUTERS = [auth.router, directory.router, admin.router]
