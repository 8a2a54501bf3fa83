"""Live chat over real WebSockets: committed before acknowledged, resumable, never duplicated."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from sameboat.adapters.storage.models import ConversationEvent
from sameboat.services import accounts
from tests.factories import make_member, make_sponsor


@pytest.fixture
def chat(chat_with_sponsor):  # type: ignore[no-untyped-def]
    return chat_with_sponsor[:4]


def connect(client, conversation_id: str, token: str, after: int = 0):  # type: ignore[no-untyped-def]
    return client.websocket_connect(f"/ws/conversations/{conversation_id}?token={token}&after={after}")


def receive_until(ws, wanted_type: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    while True:
        frame = ws.receive_json()
        if frame["type"] == wanted_type:
            return frame


def test_messages_flow_both_ways_with_acks_and_receipts(client, chat, services) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens = chat
    with (
        connect(client, conversation_id, tokens["member"]) as m,
        connect(client, conversation_id, tokens["listener"]) as li,
    ):
        joined = m.receive_json()
        assert joined["kind"] == "joined" and joined["seq"] == 1 and joined["name"] == "Dana"
        assert li.receive_json()["seq"] == 1
        m.send_json({"type": "send", "client_id": "c1", "body": "Hi, thanks for being here"})
        ack = receive_until(m, "ack")
        assert ack == {"type": "ack", "client_id": "c1", "seq": 2, "at": ack["at"]}
        event = receive_until(li, "event")
        assert event["seq"] == 2 and event["body"] == "Hi, thanks for being here" and event["name"] == "Quiet Harbor"
        assert "@" not in str(event)  # the listener never sees an email
        li.send_json({"type": "typing"})
        assert receive_until(m, "typing") == {"type": "typing", "from": "listener"}
        li.send_json({"type": "read", "seq": 2})
        assert receive_until(m, "receipt") == {"type": "receipt", "kind": "read", "seq": 2, "by": "listener"}
        li.send_json({"type": "send", "client_id": "l1", "body": "I'm glad you reached out."})
        assert receive_until(li, "ack")["seq"] == 3
        assert receive_until(m, "event")["body"] == "I'm glad you reached out."
    with services.uow() as uow:
        stored = list(uow.session.scalars(select(ConversationEvent).order_by(ConversationEvent.seq)))
    assert [e.seq for e in stored] == [1, 2, 3]
    assert b"thanks for being here" not in stored[1].body_ciphertext  # encrypted at rest


def test_resend_is_stored_once_and_resume_has_no_gap(client, chat, services) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens = chat
    with connect(client, conversation_id, tokens["member"]) as m:
        for n in range(5):
            m.send_json({"type": "send", "client_id": f"m{n}", "body": f"message {n}"})
            receive_until(m, "ack")
        m.send_json({"type": "send", "client_id": "m3", "body": "message 3"})  # a retry after a lost ack
        assert receive_until(m, "ack")["seq"] == 5
    # The listener was away; it resumes after seq 3 and gets exactly 4, 5, 6.
    with connect(client, conversation_id, tokens["listener"], after=3) as li:
        seqs = [li.receive_json()["seq"] for _ in range(3)]
        assert seqs == [4, 5, 6]
        li.send_json({"type": "ping"})
        assert li.receive_json() == {"type": "pong"}  # nothing else was queued: no duplicates
    with services.uow() as uow:
        count = len(list(uow.session.scalars(select(ConversationEvent.seq))))
    assert count == 6


def test_bad_frames_get_clear_errors_and_store_nothing(client, chat, services) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens = chat
    with connect(client, conversation_id, tokens["member"]) as m:
        m.receive_json()
        m.send_text("not json")
        assert m.receive_json()["code"] == "bad_frame"
        m.send_json({"type": "send", "client_id": "e", "body": "   "})
        assert m.receive_json()["code"] == "body"
        m.send_json({"type": "send", "client_id": "big", "body": "x" * 4001})
        error = m.receive_json()
        assert error["code"] == "body" and "4000" in error["message"]
        m.send_json({"type": "send", "body": "no id"})
        assert m.receive_json()["code"] == "client_id"
        m.send_json({"type": "teleport"})
        assert m.receive_json()["code"] == "bad_frame"
        m.send_text("x" * 20000)
        assert m.receive_json()["code"] == "too_large"
    with services.uow() as uow:
        assert len(list(uow.session.scalars(select(ConversationEvent.seq)))) == 1  # only "joined"


def test_flood_is_rate_limited(client, chat) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens = chat
    with connect(client, conversation_id, tokens["member"]) as m:
        m.receive_json()
        codes = []
        for n in range(30):
            m.send_json({"type": "send", "client_id": f"f{n}", "body": "spam"})
        for _ in range(30):
            frame = m.receive_json()
            codes.append(frame.get("code", frame["type"]))
        assert "rate_limited" in codes and codes.count("ack") >= 10


def test_strangers_and_bad_tokens_are_refused(client, chat, services) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens = chat
    _, code = make_sponsor(services)
    stranger = make_member(services, code.code)
    stranger_token = accounts.start_session(services, stranger.id, "api")
    for token, path, expected in [
        ("nonsense", conversation_id, 4401),
        (stranger_token, conversation_id, 4403),
        (tokens["member"], "no-such-conversation", 4404),
    ]:
        with pytest.raises(WebSocketDisconnect) as info, connect(client, path, token) as ws:
            ws.receive_json()
        assert info.value.code == expected


def test_either_side_ends_and_nothing_more_is_stored(client, chat, services) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens = chat
    with (
        connect(client, conversation_id, tokens["member"]) as m,
        connect(client, conversation_id, tokens["listener"]) as li,
    ):
        li.send_json({"type": "end"})
        ended = receive_until(m, "event")
        while ended["kind"] != "ended":
            ended = receive_until(m, "event")
        assert ended["from"] == "listener"
        m.send_json({"type": "send", "client_id": "late", "body": "are you there?"})
        error = receive_until(m, "error")
        assert "ended" in error["message"]
