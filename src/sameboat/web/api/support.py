"""Matching for members: who has been in the same boat, and why."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from sameboat.adapters.storage.models import User
from sameboat.domain.matching import Timing
from sameboat.services import listeners, matching
from sameboat.web import security
from sameboat.web.api.schemas import MatchQuery
from sameboat.web.pages.talk import ice_servers_response

router = APIRouter(tags=["support"])
requester = security.api_requires("support.request")
party = security.api_requires("conversations.take_part")


@router.post("/matches")
def find_matches(body: MatchQuery, request: Request, user: User = Depends(requester)) -> dict[str, Any]:
    """Rank approved listeners for what the member wrote. Never shows a listener's private data."""
    ctx = security.services(request)
    result = matching.match_for_member(
        ctx,
        user,
        body.text,
        body.tags,
        timing=Timing(body.timing),
        refine={
            "listener_gender": body.listener_gender,
            "listener_age_range": body.listener_age_range,
            "listener_veteran": body.listener_veteran,
        },
    )
    views = listeners.views_by_id(ctx, [m.listener_id for m in result.matches])
    return {
        "matches": [
            {
                "listener": views[m.listener_id].as_public_dict(),
                "explanation": m.explanation,
                "reasons": list(m.reasons),
            }
            for m in result.matches
            if m.listener_id in views
        ],
        "reason": result.reason,
        "needs_more_detail": result.needs_more_detail,
        "prompt": result.prompt,
        "topics": [{"tag": t.tag, "weight": round(t.weight, 3)} for t in result.topics[:3]],
        "topics_inferred": result.topics_inferred,
        "text_truncated": result.text_truncated,
    }


@router.get("/conversations/{conversation_id}/ice-servers")
def call_ice_servers(request: Request, conversation_id: str, user: User = Depends(party)) -> JSONResponse:
    """STUN/TURN servers for a voice call in this conversation, with short-lived TURN credentials (docs/voice.md)."""
    return ice_servers_response(request, user, conversation_id[:64])
