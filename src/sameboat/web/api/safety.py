"""The audit log (admins): export every record and check the hash chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from sameboat.adapters.storage.models import User
from sameboat.services import safety
from sameboat.web import security

router = APIRouter(tags=["safety"])
auditor = security.api_requires("audit.export")


@router.get("/audit")
def export_audit(request: Request, user: User = Depends(auditor)) -> dict[str, Any]:
    records, broken = safety.audit_export(security.services(request), user)
    return {"records": records, "intact": not broken, "broken_at": broken}
