"""Two `sameboat serve` processes sharing PostgreSQL and Redis: chat across nodes, survive a node dying."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from sameboat.adapters.storage.database import upgrade
from sameboat.adapters.storage.models import ConversationEvent
from sameboat.bootstrap import bootstrap
from sameboat.services import accounts
from sameboat.services.conversations import open_conversation
from sameboat.settings import Settings
from tests.conftest import POSTGRES_ADMIN_URL, TEST_SECRET, missing_service, run_async
from tests.e2e.conftest import free_port
from tests.factories import make_listener, make_member, make_sponsor
from tests.integration.test_hubs import REDIS_URL, redis_available

websockets = pytest.importorskip("websockets.asyncio.client")


@pytest.fixture
def shared_postgres():  # type: ignore[no-untyped-def]
    name = f"sameboat_multinode_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # noqa: BLE001
        missing_service("PostgreSQL at " + POSTGRES_ADMIN_URL)
    if not redis_available():
        missing_service(f"Redis at {REDIS_URL}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def start_node(url: str, port: int, log: Path) -> subprocess.Popen:  # type: ignore[type-arg]
    env = {
        **os.environ,
        "SAMEBOAT_DATABASE_URL": url,
        "SAMEBOAT_REDIS_URL": REDIS_URL,
        "SAMEBOAT_SECRET_KEY": TEST_SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "sameboat.cli", "serve", "--port", str(port), "--no-upgrade"],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(log.read_text())


def live_conversation(url: str):  # type: ignore[no-untyped-def]
    """Bootstrap on ``url`` and open a conversation: (runtime, member, listener, conversation id)."""
    runtime = bootstrap(Settings(database_url=url, secret_key=TEST_SECRET, environment="test"))
    ctx = runtime.services
    _, code = make_sponsor(ctx)
    member = make_member(ctx, code.code)
    listener = make_listener(ctx)
    with ctx.uow() as uow:
        conversation_id = open_conversation(
            ctx, uow.session, member_id=member.id, listener_id=listener.id, request_id=None
        ).id
    return runtime, member, listener, conversation_id


class Client:
    """A chat client that remembers what was acknowledged and what it saw, and resumes after a drop."""

    def __init__(self, name: str, token: str, conversation_id: str) -> None:
        self.name, self.token, self.conversation_id = name, token, conversation_id
        self.last_seq = 0
        self.seen: dict[int, dict] = {}  # type: ignore[type-arg]
        self.acked: dict[str, int] = {}
        self.ws = None

    async def connect(self, port: int) -> None:
        self.ws = await websockets.connect(
            f"ws://127.0.0.1:{port}/ws/conversations/{self.conversation_id}?token={self.token}&after={self.last_seq}"
        )

    async def send(self, client_id: str, body: str) -> None:
        await self.ws.send(json.dumps({"type": "send", "client_id": client_id, "body": body}))

    async def pump(self, until, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not until():
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.1, deadline - time.monotonic())))
            if frame["type"] == "event":
                assert frame["seq"] not in self.seen, f"{self.name} got seq {frame['seq']} twice"
                assert frame["seq"] == self.last_seq + 1, f"{self.name} saw a gap before {frame['seq']}"
                self.seen[frame["seq"]] = frame
                self.last_seq = frame["seq"]
            elif frame["type"] == "ack":
                self.acked[frame["client_id"]] = frame["seq"]


def test_two_nodes_share_a_conversation_and_survive_a_node_dying(shared_postgres, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, member, listener, conversation_id = live_conversation(shared_postgres)
    ctx = runtime.services
    member_client = Client("member", accounts.start_session(ctx, member.id, "api"), conversation_id)
    listener_client = Client("listener", accounts.start_session(ctx, listener.id, "api"), conversation_id)
    port_a, port_b = free_port(), free_port()
    node_a = start_node(shared_postgres, port_a, tmp_path / "a.log")
    node_b = start_node(shared_postgres, port_b, tmp_path / "b.log")

    async def scenario() -> None:
        await member_client.connect(port_a)
        await listener_client.connect(port_b)
        await member_client.pump(lambda: member_client.last_seq >= 1)
        await listener_client.pump(lambda: listener_client.last_seq >= 1)
        # Across nodes: each side's messages reach the other through Redis.
        for n in range(5):
            await member_client.send(f"m{n}", f"member says {n}")
            await listener_client.send(f"l{n}", f"listener says {n}")
        await member_client.pump(lambda: len(member_client.acked) == 5 and member_client.last_seq >= 11)
        await listener_client.pump(lambda: len(listener_client.acked) == 5 and listener_client.last_seq >= 11)
        # The listener sends more, then its node dies before everything is acknowledged.
        for n in range(5, 10):
            await listener_client.send(f"l{n}", f"listener says {n}")
        await listener_client.pump(lambda: len(listener_client.acked) >= 7)
        node_b.send_signal(signal.SIGKILL)
        node_b.wait(timeout=10)
        with pytest.raises(Exception):  # noqa: B017,PT011 - the connection is gone, however it surfaces
            await listener_client.pump(lambda: False, timeout=3)
        for n in range(5, 8):
            await member_client.send(f"m{n}", f"member says {n} while the listener is away")
        await member_client.pump(lambda: len(member_client.acked) == 8)
        # The listener reconnects to the surviving node, resumes, and resends whatever was not acknowledged.
        await listener_client.connect(port_a)
        for n in range(5, 10):
            if f"l{n}" not in listener_client.acked:
                await listener_client.send(f"l{n}", f"listener says {n}")
        await listener_client.send("l10", "I'm back, sorry about that")
        await listener_client.pump(lambda: len(listener_client.acked) == 11 and listener_client.last_seq >= 1 + 8 + 11)
        await member_client.pump(lambda: member_client.last_seq >= 1 + 8 + 11)
        await member_client.ws.close()
        await listener_client.ws.close()

    try:
        run_async(scenario, timeout=240)
    finally:
        for node in (node_a, node_b):
            if node.poll() is None:
                node.terminate()
                node.wait(timeout=10)
    with ctx.uow() as uow:
        events = list(
            uow.session.scalars(
                select(ConversationEvent)
                .where(ConversationEvent.conversation_id == conversation_id)
                .order_by(ConversationEvent.seq)
            )
        )
    runtime.close()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # no gaps
    client_ids = [e.client_id for e in events if e.kind == "message"]
    assert len(client_ids) == len(set(client_ids)) == 19  # every message exactly once
    acknowledged = {**member_client.acked, **listener_client.acked}
    assert set(acknowledged) == set(client_ids)
    assert {e.client_id: e.seq for e in events if e.kind == "message"} == acknowledged
    assert member_client.last_seq == listener_client.last_seq == len(events)
