"""WebSockets. Conversations: resume from a sequence number, then live; acks only after commit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from sameboat.adapters.storage.models import User
from sameboat.domain.permissions import is_allowed
from sameboat.services import accounts, calls, conversations, presence, safety
from sameboat.services.errors import ServiceError
from sameboat.services.ports import OVERFLOW, Subscription
from sameboat.web import security

try:  # Starlette >= 1.0 raises this when sending to a client that has already gone
    from starlette.websockets import WebSocketDisconnected
except ImportError:  # pragma: no cover - older Starlette raises WebSocketDisconnect there
    WebSocketDisconnected = WebSocketDisconnect  # type: ignore[assignment,misc]

router = APIRouter()
# A client that leaves while its message is being stored is ordinary, not an error: the message is committed, only
# its ack can't be sent (the client resends it on reconnect and gets the original back).
GONE = (WebSocketDisconnect, WebSocketDisconnected)

# Close codes (4000-4999 are ours). A client reconnects with ?after=<last seq> on 4008 and 1012.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_SLOW_CONSUMER = 4008
MAX_FRAME_BYTES = 16 * 1024
# Per connection: a burst of 10 messages, then 2 per second. Enough for anyone typing; stops floods.
RATE_BURST, RATE_PER_SECOND = 10.0, 2.0
# Call signalling comes in short bursts (an offer, then a dozen ICE candidates), then almost nothing.
CALL_RATE_BURST, CALL_RATE_PER_SECOND = 40.0, 5.0
SUBSCRIBER_QUEUE = 256
PRESENCE_EVERY_SECONDS = 10.0  # well inside presence.HEARTBEAT_STALE_AFTER (30 s)


class TokenBucket:
    def __init__(self, burst: float, per_second: float) -> None:
        self.capacity, self.rate = burst, per_second
        self.tokens, self.updated = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _same_origin(ws: WebSocket) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:  # not a browser
        return True
    return urlsplit(origin).netloc == ws.headers.get("host")


async def socket_user(ws: WebSocket) -> User | None:
    """A browser's session cookie (same origin only), or an API token in ?token= for programs."""
    ctx = security.services(ws)  # type: ignore[arg-type]
    token = ws.query_params.get("token")
    if token:
        return await asyncio.to_thread(accounts.user_for_token, ctx, token, "api")
    cookie = ws.cookies.get(security.SESSION_COOKIE)
    if cookie and _same_origin(ws):
        return await asyncio.to_thread(accounts.user_for_token, ctx, cookie, "web")
    return None


class SocketSender:
    """Serialises sends from the reader and the pusher tasks."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self._lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._lock:
            await self.ws.send_text(json.dumps(message, separators=(",", ":")))

    async def error(self, code: str, message: str, **extra: Any) -> None:
        await self.send({"type": "error", "code": code, "message": message, **extra})


def _parse_after(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0


@router.websocket("/ws/conversations/{conversation_id}")
async def conversation_socket(ws: WebSocket, conversation_id: str) -> None:
    ctx = security.services(ws)  # type: ignore[arg-type]
    user = await socket_user(ws)
    if user is None:
        await ws.close(code=CLOSE_UNAUTHENTICATED, reason="sign in again")
        return
    try:
        me = await asyncio.to_thread(conversations.participant, ctx, conversation_id[:64], user)
    except ServiceError as exc:
        await ws.close(code=CLOSE_NOT_FOUND if exc.status == 404 else CLOSE_FORBIDDEN, reason=exc.detail[:120])
        return
    await ws.accept()
    sender = SocketSender(ws)
    # Subscribe first, then replay from the database: anything published meanwhile is in the queue, and
    # anything already sent is skipped by its sequence number. No gap, no duplicate.
    assert ctx.hub is not None
    subscription = await ctx.hub.subscribe(conversations.conversation_channel(me.conversation_id), SUBSCRIBER_QUEUE)
    state = {"last_sent": _parse_after(ws.query_params.get("after"))}

    async def replay() -> None:
        missed = await asyncio.to_thread(conversations.events_after, ctx, me.conversation_id, user, state["last_sent"])
        for event in missed:
            await sender.send(event)
            state["last_sent"] = event["seq"]

    async def push_live() -> None:
        while True:
            message = await subscription.get()
            if message is OVERFLOW or message.get("type") == "overflow":
                await ws.close(code=CLOSE_SLOW_CONSUMER, reason="reconnect and resume")
                return
            if message.get("type") != "event":
                # Typing, receipts and call signalling are about the other person; never echo someone's own back
                # to them, and call frames addressed to one role (an offer to the supervisor) go to that role only.
                if me.role not in (message.get("from"), message.get("by")) and message.get("to") in (None, me.role):
                    await sender.send(message)
                continue
            seq = message["seq"]
            if seq <= state["last_sent"]:
                continue
            if seq > state["last_sent"] + 1:
                await replay()  # a poke was lost or reordered: the database has the rest
                continue
            await sender.send(conversations.redact_for(message, me.role, user.id))
            state["last_sent"] = seq

    async def read_frames() -> None:
        bucket = TokenBucket(RATE_BURST, RATE_PER_SECOND)
        call_bucket = TokenBucket(CALL_RATE_BURST, CALL_RATE_PER_SECOND)
        while True:
            raw = await ws.receive_text()
            if len(raw) > MAX_FRAME_BYTES:
                await sender.error("too_large", f"Frames can be up to {MAX_FRAME_BYTES} bytes.")
                continue
            try:
                frame = json.loads(raw)
                kind = frame["type"]
            except (ValueError, KeyError, TypeError):
                await sender.error("bad_frame", "Send JSON objects with a 'type'.")
                continue
            try:
                if kind == "send":
                    if not bucket.take():
                        await sender.error(
                            "rate_limited",
                            "You're sending very fast. Wait a moment and try again.",
                            client_id=frame.get("client_id"),
                        )
                        continue
                    event = await conversations.send_message(
                        ctx, me.conversation_id, user, frame.get("client_id", ""), frame.get("body", "")
                    )
                    ack = {"type": "ack", "client_id": event["client_id"], "seq": event["seq"], "at": event["at"]}
                    if event.get("hidden"):
                        ack.update(hidden=True, warning=event.get("warning", ""))
                    await sender.send(ack)
                elif kind == "typing":
                    await conversations.typing(ctx, me.conversation_id, me.role)
                elif kind in ("delivered", "read"):
                    await conversations.receipt(ctx, me.conversation_id, user, int(frame.get("seq", 0)), kind, me.role)
                elif kind == "end":
                    await conversations.end_conversation(ctx, me.conversation_id, user)
                elif kind == "ping":
                    await sender.send({"type": "pong"})
                elif kind == "call":
                    if not call_bucket.take():
                        await sender.error(
                            "rate_limited", "Too many call frames; slow down.", call_id=frame.get("call_id")
                        )
                        continue
                    try:
                        await calls.handle(ctx, me.conversation_id, user.id, me.role, frame)
                    except calls.CallError as exc:
                        call_id = frame.get("call_id") if isinstance(frame.get("call_id"), str) else None
                        await sender.error(exc.field or "bad_call", exc.detail, call_id=call_id, call=True)
                else:
                    await sender.error("bad_frame", f"Unknown frame type {kind!r}.")
            except ServiceError as exc:
                await sender.error(exc.field or "rejected", exc.detail, client_id=frame.get("client_id"))
            except (TypeError, ValueError):
                await sender.error("bad_frame", "That frame has a field of the wrong type.")

    async def keep_present() -> None:
        # A listener in a conversation (a long voice call above all) is on this page, not the console: an open
        # conversation socket keeps their presence fresh, so the member isn't told "your listener dropped".
        while True:
            with contextlib.suppress(Exception):
                await ctx.write(presence.heartbeat_writer(user.id, ctx.now()))
            await asyncio.sleep(PRESENCE_EVERY_SECONDS)

    tasks: list[asyncio.Task[None]] = []
    try:
        await replay()
        tasks = [asyncio.create_task(push_live()), asyncio.create_task(read_frames())]
        if me.role == "listener":
            tasks.append(asyncio.create_task(keep_present()))
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, GONE):
                raise exc
    except GONE:
        pass
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        subscription.close()


@router.websocket("/ws/me")
async def personal_socket(ws: WebSocket) -> None:
    """Pokes for this person's pages (new offer, request matched), and listeners' heartbeats."""
    ctx = security.services(ws)  # type: ignore[arg-type]
    user = await socket_user(ws)
    if user is None:
        await ws.close(code=CLOSE_UNAUTHENTICATED, reason="sign in again")
        return
    await ws.accept()
    sender = SocketSender(ws)
    assert ctx.hub is not None
    is_listener = user.role == "listener"
    is_staff = is_allowed(user.role, "safety.supervise")
    subscriptions = [await ctx.hub.subscribe(conversations.user_channel(user.id), max_queue=32)]
    if is_staff:
        subscriptions.append(await ctx.hub.subscribe(safety.SUPERVISORS_CHANNEL, max_queue=32))

    async def push(subscription: Subscription) -> None:
        while True:
            message = await subscription.get()
            if message is OVERFLOW or message.get("type") == "overflow":
                await ws.close(code=CLOSE_SLOW_CONSUMER, reason="reconnect")
                return
            await sender.send(message)

    async def read() -> None:
        while True:
            raw = await ws.receive_text()
            # Any frame counts as a heartbeat: the console is open and connected.
            if is_listener and len(raw) < 200:
                await ctx.write(presence.heartbeat_writer(user.id, ctx.now()))
            elif is_staff and len(raw) < 200:
                await asyncio.to_thread(safety.supervisor_seen, ctx, user)
            await sender.send({"type": "pong"})

    tasks = [*(asyncio.create_task(push(sub)) for sub in subscriptions), asyncio.create_task(read())]
    try:
        if is_listener:
            await ctx.write(presence.heartbeat_writer(user.id, ctx.now()))
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        for subscription in subscriptions:
            subscription.close()
