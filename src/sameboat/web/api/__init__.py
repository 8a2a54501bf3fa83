"""REST API under /api/v1. Bearer tokens; errors are problem+json."""

from sameboat.web.api import admin, auth, directory, safety, support

PREFIX = "/api/v1"
ROUTERS = [auth.router, directory.router, support.router, admin.router, safety.router]
