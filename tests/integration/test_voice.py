"""Voice call signalling over the conversation socket (and across two nodes through Redis), call events and
minutes, and TURN credentials the coturn REST-API way."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from sameboat.adapters.storage.models import Conversation, ConversationEvent, Sponsor
from sameboat.bootstrap import bootstrap
from sameboat.domain.accounts import Role
from sameboat.services import accounts, safety
from sameboat.settings import Settings
from sameboat.web.app import create_app
from tests.conftest import TEST_SECRET, run_async
from tests.e2e.conftest import free_port
from tests.factories import make_member, make_sponsor, make_user
from tests.integration.test_conversations import connect, receive_until
from tests.integration.test_multinode import live_conversation, shared_postgres, start_node  # noqa: F401 - a fixture

websockets = pytest.importorskip("websockets.asyncio.client")

OFFER_SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}


def call(action: str, call_id: str = "call-0001", **extra: object) -> dict[str, object]:
    return {"type": "call", "action": action, "call_id": call_id, **extra}


def next_call_frame(ws) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The next call frame or call event, skipping typing, receipts and other events."""
    while True:
        frame = ws.receive_json()
        if frame["type"] == "call" or (frame["type"] == "event" and frame["kind"].startswith(("call", "listen"))):
            return frame
        if frame["type"] == "error":
            return frame


@pytest.fixture
def chat(chat_with_sponsor):  # type: ignore[no-untyped-def]
    return chat_with_sponsor


def test_a_call_is_signalled_between_the_two_parties_and_recorded(client, chat, services) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens, _ = chat
    with (
        connect(client, conversation_id, tokens["member"]) as m,
        connect(client, conversation_id, tokens["listener"]) as li,
    ):
        m.receive_json(), li.receive_json()  # "joined"
        m.send_json(call("invite"))
        assert next_call_frame(li) == {
            "type": "call",
            "action": "invite",
            "call_id": "call-0001",
            "from": "member",
            "to": "listener",
        }
        li.send_json(call("accept"))
        started = [next_call_frame(m), next_call_frame(li)]
        for event in started:
            assert event["kind"] == "call_started" and event["from"] == "listener"
            assert event["client_id"] == "call-0001:start" and "Nothing is recorded" in event["body"]
        # Offer, answer and ICE candidates go to the other side only, rebuilt field by field.
        m.send_json(call("offer", sdp=OFFER_SDP, extra="dropped"))
        offer = next_call_frame(li)
        assert offer == {
            "type": "call",
            "action": "offer",
            "call_id": "call-0001",
            "from": "member",
            "to": "listener",
            "sdp": OFFER_SDP,
        }
        li.send_json(call("answer", sdp=OFFER_SDP))
        assert next_call_frame(m)["action"] == "answer"
        li.send_json(call("ice", candidate=CANDIDATE))
        assert next_call_frame(m)["candidate"] == CANDIDATE
        m.send_json(call("mute", muted=True))
        assert next_call_frame(li)["muted"] is True
        # Nothing comes back to the sender: the next thing the member sees is the listener's hang-up.
        li.send_json(call("hangup"))
        ended = next_call_frame(m)
        assert ended["kind"] == "call_ended" and ended["from"] == "listener"
        assert ended["body"] == "Voice call ended after 1 minute."
        assert next_call_frame(li)["kind"] == "call_ended"
        # The call is over: more signalling for it is refused with a clear error.
        m.send_json(call("ice", candidate=CANDIDATE))
        error = receive_until(m, "error")
        assert error["code"] == "no_call" and error["call_id"] == "call-0001" and error["call"] is True
    with services.uow() as uow:
        kinds = list(uow.session.scalars(select(ConversationEvent.kind).order_by(ConversationEvent.seq)))
    assert kinds == ["joined", "call_started", "call_ended"]  # only the start and the end are stored


def test_bad_call_frames_get_clear_errors_and_store_nothing(client, chat, services) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens, _ = chat
    cases = [
        ({"type": "call", "action": "invite"}, "bad_call"),  # no call_id
        (call("invite", call_id="x"), "bad_call"),  # too short
        (call("invite", call_id="has spaces in it"), "bad_call"),
        (call("teleport"), "bad_call"),
        (call("listen"), "not_allowed"),  # supervisors only
        (call("offer", sdp=OFFER_SDP), "no_call"),  # no call is going on
        (call("offer", sdp="hello"), "bad_call"),
        (call("offer", sdp="v=0" + "a" * 12_100), "bad_call"),  # under the frame limit, over the SDP limit
        (call("offer", sdp=OFFER_SDP, to="member"), "bad_call"),  # not to yourself
        (call("ice", candidate="nope"), "bad_call"),
        (call("ice", candidate={**CANDIDATE, "sdpMLineIndex": "zero"}), "bad_call"),
        (call("ice", candidate={**CANDIDATE, "candidate": "c" * 1001}), "bad_call"),
        (call("mute", muted="yes"), "bad_call"),
        (call("hangup"), "no_call"),
    ]
    with connect(client, conversation_id, tokens["member"]) as m:
        m.receive_json()
        for frame, code in cases:
            m.send_json(frame)
            error = m.receive_json()
            assert error["type"] == "error" and error["code"] == code, (frame, error)
            assert error["message"]
        m.send_text(json.dumps(call("offer", sdp="v=0" + "a" * 17_000)))
        assert m.receive_json()["code"] == "too_large"
        # One call at a time, and an answer only once.
        m.send_json(call("accept"))
        assert receive_until(m, "event")["kind"] == "call_started"
        m.send_json(call("invite", call_id="call-0002"))
        assert receive_until(m, "error")["code"] == "call_busy"
        m.send_json(call("accept", call_id="call-0002"))
        assert receive_until(m, "error")["code"] == "call_busy"
        m.send_json(call("accept"))
        assert receive_until(m, "error")["code"] == "no_call"  # the same person answering twice
        m.send_json(call("hangup", call_id="call-0002"))
        assert receive_until(m, "error")["code"] == "no_call"
    with services.uow() as uow:
        kinds = list(uow.session.scalars(select(ConversationEvent.kind).order_by(ConversationEvent.seq)))
    assert kinds == ["joined", "call_started"]


def test_only_parties_signal_and_a_supervisor_listens_in_announced(client, chat, services) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens, sponsor = chat
    _, code = make_sponsor(services)
    stranger = make_member(services, code.code)
    supervisor = make_user(services, Role.SUPERVISOR)
    supervisor_token = accounts.start_session(services, supervisor.id, "api")
    for token in (accounts.start_session(services, stranger.id, "api"), supervisor_token):
        with pytest.raises(WebSocketDisconnect) as info, connect(client, conversation_id, token) as ws:
            ws.receive_json()
        assert info.value.code == 4403  # not a party (the supervisor hasn't joined)
    safety.report(services, member, conversation_id, "other", "please look")
    joined = safety.join_conversation(services, supervisor, conversation_id)
    assert joined["kind"] == "joined"
    with (
        connect(client, conversation_id, tokens["member"]) as m,
        connect(client, conversation_id, tokens["listener"]) as li,
        connect(client, conversation_id, supervisor_token) as sv,
    ):
        for ws in (m, li, sv):
            while ws.receive_json()["kind"] != "joined":
                pass
        sv.send_json(call("listen"))
        assert receive_until(sv, "error")["code"] == "no_call"
        sv.send_json(call("invite"))
        error = receive_until(sv, "error")
        assert error["code"] == "not_allowed" and "listen" in error["message"]
        m.send_json(call("invite"))
        assert next_call_frame(li)["action"] == "invite"
        li.send_json(call("accept"))
        for ws in (m, li, sv):
            assert next_call_frame(ws)["kind"] == "call_started"
        m.send_json(call("offer", to="supervisor", sdp=OFFER_SDP))
        assert receive_until(m, "error")["code"] == "not_allowed"  # nobody is listening yet
        sv.send_json(call("listen"))
        for ws in (m, li, sv):  # announced to both parties before any audio can go to the supervisor
            notice = next_call_frame(ws)
            assert notice["kind"] == "listen_started" and "supervisor is now listening" in notice["body"]
        m.send_json(call("offer", to="supervisor", sdp=OFFER_SDP))
        assert next_call_frame(sv)["from"] == "member"
        sv.send_json(call("answer", to="member", sdp=OFFER_SDP))
        assert next_call_frame(m)["action"] == "answer"
        sv.send_json(call("offer", to="member", sdp=OFFER_SDP))
        assert receive_until(sv, "error")["code"] == "not_allowed"  # a supervisor never sends audio
        sv.send_json(call("unlisten"))
        for ws in (m, li, sv):
            assert next_call_frame(ws)["kind"] == "listen_ended"
        # The offer addressed to the supervisor went to the supervisor only: the listener saw none of it.
        li.send_json({"type": "ping"})
        assert li.receive_json() == {"type": "pong"}


def test_ending_the_conversation_ends_the_call_and_charges_its_minutes(client, chat, services, clock) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens, sponsor = chat
    with (
        connect(client, conversation_id, tokens["member"]) as m,
        connect(client, conversation_id, tokens["listener"]) as li,
    ):
        m.receive_json(), li.receive_json()
        clock.advance(minutes=2)
        m.send_json(call("accept"))
        assert next_call_frame(li)["kind"] == "call_started"
        clock.advance(minutes=7, seconds=10)
        m.send_json({"type": "end"})
        # The call's end is stored before the conversation's; the socket replays the gap in order.
        kinds = []
        while "ended" not in kinds:
            kinds.append(receive_until(li, "event")["kind"])
        assert kinds == ["call_ended", "ended"]
    with services.uow() as uow:
        events = list(uow.session.scalars(select(ConversationEvent).order_by(ConversationEvent.seq)))
        conversation = uow.session.get(Conversation, conversation_id)
        used = uow.session.get(Sponsor, sponsor.id).minutes_used
    call_ended = next(e for e in events if e.kind == "call_ended")
    assert services.cipher.decrypt(call_ended.body_ciphertext) == "Voice call ended after 8 minutes."
    assert conversation.minutes_charged == 10  # the whole conversation, call included (9 min 10 s rounded up)
    assert used == 10


def test_turn_credentials_are_short_lived_and_only_for_parties(database_url, chat_with_sponsor, clock) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens, _ = chat_with_sponsor
    secret = "coturn-shared-secret-for-tests"
    settings = Settings(
        database_url=database_url,
        environment="test",
        secret_key=TEST_SECRET,
        stun_urls="stun:turn.example.org:3478",
        turn_urls="turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349?transport=tcp",
        turn_secret=secret,
        turn_ttl_seconds=3600,
        turn_relay_only=True,
    )
    runtime = bootstrap(settings, clock=clock)
    try:
        with TestClient(create_app(settings, runtime)) as c:
            url = f"/api/v1/conversations/{conversation_id}/ice-servers"
            response = c.get(url, headers={"Authorization": f"Bearer {tokens['member']}"})
            assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
            body = response.json()
            stun, turn = body["ice_servers"]
            assert stun == {"urls": ["stun:turn.example.org:3478"]}
            assert body["ice_transport_policy"] == "relay"  # neither side learns the other's address
            assert turn["urls"] == [
                "turn:turn.example.org:3478?transport=udp",
                "turns:turn.example.org:5349?transport=tcp",
            ]
            expiry = int(clock.now.timestamp()) + 3600
            assert turn["username"] == f"{expiry}:{member.id}" and body["expires"] == expiry
            # Checked the way coturn checks it (use-auth-secret): base64(HMAC-SHA1(static-auth-secret, username)).
            expected = base64.b64encode(hmac.new(secret.encode(), turn["username"].encode(), hashlib.sha1).digest())
            assert turn["credential"] == expected.decode()
            listener_turn = c.get(url, headers={"Authorization": f"Bearer {tokens['listener']}"}).json()
            assert listener_turn["ice_servers"][1]["username"] == f"{expiry}:{listener.id}"
            # Strangers get nothing; nor does anyone once the conversation has ended.
            _, code = make_sponsor(runtime.services)
            stranger = make_member(runtime.services, code.code)
            stranger_token = accounts.start_session(runtime.services, stranger.id, "api")
            assert c.get(url, headers={"Authorization": f"Bearer {stranger_token}"}).status_code == 403
            assert c.get(url).status_code == 401
            with c.websocket_connect(f"/ws/conversations/{conversation_id}?token={tokens['listener']}") as ws:
                ws.receive_json()
                ws.send_json({"type": "end"})
                receive_until(ws, "event")
            assert c.get(url, headers={"Authorization": f"Bearer {tokens['member']}"}).status_code == 409
    finally:
        runtime.close()


def test_no_ice_servers_by_default_and_turn_needs_its_secret(client, chat) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens, _ = chat
    response = client.get(
        f"/api/v1/conversations/{conversation_id}/ice-servers", headers={"Authorization": f"Bearer {tokens['member']}"}
    )
    assert response.json()["ice_servers"] == []  # loopback and LAN need none
    assert response.json()["ice_transport_policy"] == "all"
    with pytest.raises(ValueError, match="SAMEBOAT_TURN_SECRET"):
        Settings(turn_urls="turn:turn.example.org:3478")
    with pytest.raises(ValueError, match="SAMEBOAT_TURN_URLS"):
        Settings(turn_relay_only=True)


@pytest.fixture
def two_nodes(shared_postgres, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811 - the imported fixture
    """A live conversation in PostgreSQL and two `sameboat serve` processes sharing it and Redis."""
    runtime, member, listener, conversation_id = live_conversation(shared_postgres)
    ctx = runtime.services
    tokens = (accounts.start_session(ctx, member.id, "api"), accounts.start_session(ctx, listener.id, "api"))
    ports = (free_port(), free_port())
    nodes = [start_node(shared_postgres, port, tmp_path / f"node{n}.log") for n, port in enumerate(ports)]
    try:
        yield conversation_id, tokens, ports, ctx
    finally:
        for node in nodes:
            node.terminate()
            node.wait(timeout=10)
        runtime.close()


def test_signalling_crosses_nodes_through_redis(two_nodes) -> None:  # type: ignore[no-untyped-def]
    """Member on one node, listener on the other: every call frame and call event goes through Redis."""
    conversation_id, (member_token, listener_token), (port_a, port_b), ctx = two_nodes

    async def receive(ws, wanted):  # type: ignore[no-untyped-def]
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if wanted(frame):
                return frame

    def host(n: int) -> str:
        return f"candidate:{n} 1 udp 1 ::1 {n} typ host"

    def is_call(action):  # type: ignore[no-untyped-def]
        return lambda f: f["type"] == "call" and f["action"] == action

    def is_event(kind):  # type: ignore[no-untyped-def]
        return lambda f: f["type"] == "event" and f["kind"] == kind

    async def scenario() -> None:
        path = f"/ws/conversations/{conversation_id}?token="
        async with (
            websockets.connect(f"ws://127.0.0.1:{port_a}{path}{member_token}") as m,
            websockets.connect(f"ws://127.0.0.1:{port_b}{path}{listener_token}") as li,
        ):
            await receive(m, is_event("joined"))
            await receive(li, is_event("joined"))
            # Redis SUBSCRIBE is asynchronous: poke until the other node hears us, as a browser's retry would.
            deadline = time.monotonic() + 30
            while True:
                await m.send(json.dumps(call("invite")))
                try:
                    invite = json.loads(await asyncio.wait_for(li.recv(), 1))
                    break
                except TimeoutError:
                    assert time.monotonic() < deadline, "the invite never crossed over"
            assert invite == {
                "type": "call",
                "action": "invite",
                "call_id": "call-0001",
                "from": "member",
                "to": "listener",
            }
            await li.send(json.dumps(call("accept")))
            assert (await receive(m, is_event("call_started")))["from"] == "listener"
            await m.send(json.dumps(call("offer", sdp=OFFER_SDP)))
            assert (await receive(li, is_call("offer")))["sdp"] == OFFER_SDP
            await li.send(json.dumps(call("answer", sdp=OFFER_SDP)))
            await receive(m, is_call("answer"))
            for n in range(5):
                await li.send(json.dumps(call("ice", candidate={**CANDIDATE, "candidate": host(n)})))
                await m.send(json.dumps(call("ice", candidate=CANDIDATE)))
            got = [(await receive(m, is_call("ice")))["candidate"]["candidate"] for _ in range(5)]
            assert got == [host(n) for n in range(5)]
            for _ in range(5):
                assert (await receive(li, is_call("ice")))["candidate"] == CANDIDATE
            await m.send(json.dumps(call("hangup")))
            assert (await receive(li, is_event("call_ended")))["from"] == "member"

    run_async(scenario, timeout=120)
    with ctx.uow() as uow:
        kinds = list(
            uow.session.scalars(
                select(ConversationEvent.kind)
                .where(ConversationEvent.conversation_id == conversation_id)
                .order_by(ConversationEvent.seq)
            )
        )
    assert kinds == ["joined", "call_started", "call_ended"]


def test_a_listener_in_a_conversation_stays_present(client, chat, services, clock) -> None:  # type: ignore[no-untyped-def]
    """On a long call the listener is on the conversation page, not the console: its socket keeps them present."""
    from sameboat.adapters.storage.models import ListenerPresence
    from sameboat.services import presence

    conversation_id, member, listener, tokens, _ = chat
    presence.set_state(services, listener, "online")
    clock.advance(minutes=5)  # the console's last heartbeat is long stale
    with connect(client, conversation_id, tokens["listener"]) as li:
        li.receive_json()
        for _ in range(100):
            with services.uow() as uow:
                seen = uow.session.get(ListenerPresence, listener.id).last_heartbeat_at
            if seen is not None and seen.replace(tzinfo=None) == clock.now.replace(tzinfo=None):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"no heartbeat from the conversation socket (last {seen})")
        assert presence.presence_of(services, listener).effective == "online"
