"""Errors a use case can end with. The web layer turns them into problem+json or a friendly page."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    title = "Something is not right"

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(ServiceError):
    status = 422
    title = "Please check what you entered"


class NotAuthenticated(ServiceError):
    status = 401
    title = "Please sign in"


class Forbidden(ServiceError):
    status = 403
    title = "Not allowed"


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    title = "Already exists"
