"""Voice calls: Sameboat relays only the signalling; the audio goes peer to peer (or through the operator's TURN).

A call lives inside a conversation. Its start and end, and a supervisor listening in, are stored as conversation
events (numbered and committed like messages, so both sides and the transcript agree); the rest of the signalling
(invite, offer, answer, ICE candidates, mute) is ephemeral and goes through the hub only. Nothing is recorded.
See docs/voice.md.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sameboat.adapters.storage.models import ConversationEvent, SupportRequest
from sameboat.services import conversations
from sameboat.services.errors import Conflict, Forbidden, InvalidInput
from sameboat.services.unit_of_work import ServiceContext

CALL_STARTED, CALL_ENDED = "call_started", "call_ended"
LISTEN_STARTED, LISTEN_ENDED = "listen_started", "listen_ended"
CALL_KINDS = (CALL_STARTED, CALL_ENDED, LISTEN_STARTED, LISTEN_ENDED)
CALL_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
MAX_SDP_CHARS = 12_000  # an audio-only offer is 2-6 KB; the socket's frame limit (16 KiB) caps it anyway
MAX_CANDIDATE_CHARS = 1_000
PARTIES = ("member", "listener")
# Which role may send which action. A supervisor only listens: they never offer or send audio.
ALLOWED: dict[str, tuple[str, ...]] = {
    "invite": PARTIES,
    "cancel": PARTIES,
    "decline": PARTIES,
    "accept": PARTIES,
    "offer": PARTIES,
    "answer": (*PARTIES, "supervisor"),
    "ice": (*PARTIES, "supervisor"),
    "mute": PARTIES,
    "hangup": PARTIES,
    "listen": ("supervisor",),
    "unlisten": ("supervisor",),
}
STORED_ACTIONS = {"accept", "hangup", "listen", "unlisten"}
UNLISTEN_NOTICE = "The supervisor has stopped listening to the call."
LISTEN_NOTICE = "A Sameboat supervisor is now listening to this call, to support you both. Nothing is recorded."


class CallError(InvalidInput):
    """A signalling frame that can't be relayed; ``field`` is the error code the client gets."""


@dataclass(frozen=True)
class CallState:
    active: bool  # the conversation is still going
    call_id: str | None  # the open call, if any
    started_at: datetime | None
    listening: bool  # a supervisor is listening to the open call


def _call_id_of(event_client_id: str | None) -> str | None:
    return event_client_id.split(":", 1)[0] if event_client_id else None


def state_in(session: Session, conversation_id: str, before_seq: int | None = None) -> CallState:
    """The call state from the stored events (optionally as it was before event ``before_seq``)."""
    conversation = conversations.conversation_or_404(session, conversation_id)
    query = (
        select(ConversationEvent.kind, ConversationEvent.client_id, ConversationEvent.created_at)
        .where(ConversationEvent.conversation_id == conversation_id, ConversationEvent.kind.in_(CALL_KINDS))
        .order_by(ConversationEvent.seq.desc())
        .limit(50)
    )
    if before_seq is not None:
        query = query.where(ConversationEvent.seq < before_seq)
    listening: bool | None = None
    for kind, client_id, created_at in session.execute(query):
        if kind in (LISTEN_STARTED, LISTEN_ENDED):
            if listening is None:  # the newest listen event decides, if it belongs to the open call
                listening = kind == LISTEN_STARTED
            continue
        if kind == CALL_STARTED:
            return CallState(conversation.status == "active", _call_id_of(client_id), created_at, bool(listening))
        break  # call_ended: no open call
    return CallState(conversation.status == "active", None, None, False)


def current(ctx: ServiceContext, conversation_id: str) -> CallState:
    with ctx.uow() as uow:
        return state_in(uow.session, conversation_id)


def requested_mode(ctx: ServiceContext, conversation_id: str) -> str:
    """'voice' when the member asked to talk by voice, else 'chat'."""
    with ctx.uow() as uow:
        conversation = conversations.conversation_or_404(uow.session, conversation_id)
        if conversation.request_id is None:
            return "chat"
        mode = uow.session.scalar(select(SupportRequest.mode).where(SupportRequest.id == conversation.request_id))
        return "voice" if mode == "voice" else "chat"


# --- frames --------------------------------------------------------------------------------------------------


def _candidate(raw: object) -> dict[str, Any] | None:
    """An ICE candidate as RTCIceCandidateInit, rebuilt field by field (nothing else is relayed)."""
    if raw is None:  # end of candidates
        return None
    if not isinstance(raw, dict):
        raise CallError("An ICE candidate must be an object.", field="bad_call")
    text = raw.get("candidate", "")
    mid = raw.get("sdpMid")
    index = raw.get("sdpMLineIndex")
    fragment = raw.get("usernameFragment")
    if not isinstance(text, str) or len(text) > MAX_CANDIDATE_CHARS:
        raise CallError(f"An ICE candidate is a string of up to {MAX_CANDIDATE_CHARS} characters.", field="bad_call")
    if mid is not None and (not isinstance(mid, str) or len(mid) > 64):
        raise CallError("sdpMid must be a short string.", field="bad_call")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 64):
        raise CallError("sdpMLineIndex must be a small number.", field="bad_call")
    if fragment is not None and (not isinstance(fragment, str) or len(fragment) > 256):
        raise CallError("usernameFragment must be a short string.", field="bad_call")
    return {"candidate": text, "sdpMid": mid, "sdpMLineIndex": index, "usernameFragment": fragment}


def check_frame(frame: dict[str, Any], role: str) -> dict[str, Any]:
    """Validate a call frame from ``role`` and return the clean frame to relay (``from`` set by us)."""
    action = frame.get("action")
    if not isinstance(action, str) or action not in ALLOWED:
        raise CallError(f"Unknown call action {str(action)[:20]!r}.", field="bad_call")
    if role not in ALLOWED[action]:
        raise CallError(
            "Supervisors can listen to a call, not take part in it." if role == "supervisor" else "Not allowed.",
            field="not_allowed",
        )
    call_id = frame.get("call_id")
    if not isinstance(call_id, str) or not CALL_ID.match(call_id):
        raise CallError("Each call frame needs a call_id of 8 to 40 letters, digits, '-' or '_'.", field="bad_call")
    clean: dict[str, Any] = {"type": "call", "action": action, "call_id": call_id, "from": role}
    if action in ("invite", "cancel", "decline", "mute"):  # between the two parties only
        clean["to"] = "listener" if role == "member" else "member"
    if action in ("offer", "answer", "ice"):
        to = frame.get("to")
        if to is None and role in PARTIES:
            to = "listener" if role == "member" else "member"
        # Audio goes between the parties, and from each party to a listening supervisor; never from a supervisor.
        allowed = {"member": ("listener", "supervisor"), "listener": ("member", "supervisor")}.get(role, PARTIES)
        if to not in allowed:
            raise CallError("'to' must be the other person in this call.", field="bad_call")
        clean["to"] = to
    if action in ("offer", "answer"):
        sdp = frame.get("sdp")
        if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > MAX_SDP_CHARS:
            raise CallError(f"'sdp' must be a session description of up to {MAX_SDP_CHARS} characters.", "bad_call")
        clean["sdp"] = sdp
    elif action == "ice":
        clean["candidate"] = _candidate(frame.get("candidate"))
    elif action == "mute":
        muted = frame.get("muted")
        if not isinstance(muted, bool):
            raise CallError("'muted' must be true or false.", field="bad_call")
        clean["muted"] = muted
    elif action in ("decline", "hangup") and isinstance(frame.get("reason"), str):
        # A short, known reason only (shown to the other side as our own words, never as free text).
        reason = frame["reason"]
        if reason in ("busy", "failed", "no_microphone", "left", "no_answer"):
            clean["reason"] = reason
    return clean


def check_live(state: CallState, frame: dict[str, Any]) -> None:
    """Ephemeral frames make sense only in the right state; say clearly when they don't."""
    if not state.active:
        raise CallError("This conversation has ended.", field="ended")
    action, call_id = frame["action"], frame["call_id"]
    if action == "invite" and state.call_id is not None:
        raise CallError("A call is already going on in this conversation.", field="call_busy")
    if action in ("offer", "answer", "ice"):
        if state.call_id != call_id:
            raise CallError("That call isn't going on any more.", field="no_call")
        if "supervisor" in (frame["from"], frame.get("to")) and not state.listening:
            raise CallError("No supervisor is listening to this call.", field="not_allowed")


# --- stored actions ------------------------------------------------------------------------------------------


def _minutes_between(start: datetime | None, end: datetime) -> int:
    if start is None:
        return 0
    if start.tzinfo is None and end.tzinfo is not None:
        end = end.replace(tzinfo=None)
    return max(1, -(-int((end - start).total_seconds()) // 60))


def ended_body(minutes: int) -> str:
    return f"Voice call ended after {minutes} minute{'s' if minutes != 1 else ''}."


def close_open_call(
    ctx: ServiceContext, session: Session, conversation_id: str, role: str, sender_id: str | None
) -> None:
    """When a conversation ends, its call ends too (in the same transaction), so no call outlives its minutes."""
    state = state_in(session, conversation_id)
    if state.call_id is not None:
        conversations.append_event(
            ctx,
            session,
            conversation_id,
            kind=CALL_ENDED,
            sender_id=sender_id,
            role=role,
            body=ended_body(_minutes_between(state.started_at, ctx.now())),
            client_id=f"{state.call_id}:end",
        )


def store(ctx: ServiceContext, conversation_id: str, user_id: str, frame: dict[str, Any]) -> dict[str, Any]:
    """Store a call's start (accept), end (hangup) or a supervisor listening in; returns the event to publish.

    The event takes its sequence number first (which locks the conversation row on PostgreSQL and takes the
    single writer on SQLite), then the state before it is checked: two people answering or hanging up at once
    can't both succeed.
    """
    action, call_id = frame["action"], frame["call_id"]
    kind, body, suffix = {
        "accept": (CALL_STARTED, "Voice call started. Nothing is recorded.", "start"),
        "hangup": (CALL_ENDED, "", "end"),
        # A supervisor may listen, stop and listen again: each of those gets its own key.
        "listen": (LISTEN_STARTED, LISTEN_NOTICE, "listen-" + secrets.token_hex(4)),
        "unlisten": (LISTEN_ENDED, UNLISTEN_NOTICE, "unlisten-" + secrets.token_hex(4)),
    }[action]
    try:
        return _store(ctx, conversation_id, user_id, frame, kind, body, f"{call_id}:{suffix}"[:64])
    except IntegrityError as exc:  # the same person answering or hanging up the same call twice
        raise Conflict("That call has already been answered or ended.", field="no_call") from exc


def _store(
    ctx: ServiceContext, conversation_id: str, user_id: str, frame: dict[str, Any], kind: str, body: str, key: str
) -> dict[str, Any]:
    action, call_id, role = frame["action"], frame["call_id"], frame["from"]
    with ctx.uow() as uow:
        s = uow.session
        if action == "hangup":  # how long the call lasted goes into the notice (checked again below)
            body = ended_body(_minutes_between(state_in(s, conversation_id).started_at, ctx.now()))
        event = conversations.append_event(
            ctx, s, conversation_id, kind=kind, sender_id=user_id, role=role, body=body, client_id=key
        )
        before = state_in(s, conversation_id, before_seq=event["seq"])
        if action == "accept" and before.call_id is not None:
            raise Conflict("A call is already going on in this conversation.", field="call_busy")
        if action != "accept" and before.call_id != call_id:
            raise Conflict("That call isn't going on any more.", field="no_call")
        if action == "listen" and before.listening:
            raise Conflict("A supervisor is already listening to this call.", field="call_busy")
        if action == "unlisten" and not before.listening:
            raise Conflict("No supervisor is listening to this call.", field="no_call")
        if frame.get("reason"):
            event["reason"] = frame["reason"]
        return event


async def handle(ctx: ServiceContext, conversation_id: str, user_id: str, role: str, raw: dict[str, Any]) -> None:
    """One call frame from a party's socket: validate, then store-and-publish or just publish."""
    frame = check_frame(raw, role)
    if frame["action"] in STORED_ACTIONS:
        try:
            event = await asyncio.to_thread(store, ctx, conversation_id, user_id, frame)
        except Conflict as exc:  # ours carry a code; the conversation's own "has ended" doesn't
            raise CallError(exc.detail, field=exc.field or "ended") from exc
        message: dict[str, Any] = event
    else:
        check_live(await asyncio.to_thread(current, ctx, conversation_id), frame)
        message = frame
    if ctx.hub is not None:
        await ctx.hub.publish(conversations.conversation_channel(conversation_id), message)


# --- TURN credentials ----------------------------------------------------------------------------------------


def turn_credential(secret: str, username: str) -> str:
    """coturn's REST-API password: base64(HMAC-SHA1(static-auth-secret, username))."""
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


def ice_servers(
    ctx: ServiceContext,
    user_id: str,
    conversation_id: str,
    *,
    stun_urls: str,
    turn_urls: str,
    turn_secret: str | None,
    ttl_seconds: int,
    relay_only: bool = False,
) -> dict[str, Any]:
    """The RTCIceServer list for a party of an active conversation, with short-lived TURN credentials."""
    with ctx.uow() as uow:
        conversation = conversations.conversation_or_404(uow.session, conversation_id)
        if user_id not in (conversation.member_id, conversation.listener_id, conversation.supervisor_id):
            raise Forbidden("This conversation isn't yours.")
        if conversation.status != "active":
            raise Conflict("This conversation has ended.")
    servers: list[dict[str, Any]] = []
    stun = [u.strip() for u in stun_urls.split(",") if u.strip()]
    turn = [u.strip() for u in turn_urls.split(",") if u.strip()]
    if stun:
        servers.append({"urls": stun})
    expires = int(ctx.now().timestamp()) + ttl_seconds
    if turn and turn_secret:
        username = f"{expires}:{user_id}"
        servers.append({"urls": turn, "username": username, "credential": turn_credential(turn_secret, username)})
    policy = "relay" if relay_only and turn else "all"  # RTCConfiguration.iceTransportPolicy
    return {"ice_servers": servers, "ice_transport_policy": policy, "ttl": ttl_seconds, "expires": expires}
