"""Load test of the conversation WebSocket: N member-listener pairs chatting at a set rate.

    python bench/chat_load.py                   # 1,000 pairs (2,000 sockets), 500 msg/s, 30 s, SQLite, one process
    python bench/chat_load.py --quick           # 50 pairs, 50 msg/s, 5 s: a smoke run
    python bench/chat_load.py --backend postgres-redis --nodes 2   # PostgreSQL + Redis, two processes

What it does, all on loopback, bounded in count and in time:

1. Makes a fresh database (a SQLite file in a temporary directory, or a new PostgreSQL database on
   127.0.0.1:5432 that is dropped afterwards), migrates it and seeds it through the services: a sponsor,
   N members, N approved listeners, N active conversations (``open_conversation``) and one API token each.
2. Starts ``python -m sameboat.cli serve --no-upgrade`` (one process, or ``--nodes 2`` processes sharing
   PostgreSQL and Redis; members connect to node 1 and listeners to node 2).
3. Runs the load generator in its own process (asyncio + ``websockets``): it opens the 2N sockets, then sends
   ``rate x duration`` messages, message k at ``k / rate`` seconds by pair ``k % N``, the member first and the
   listener N messages later (``--pattern tight``: back to back), so each socket sends ``rate / 2N`` per second,
   well under the server's per-connection limit of 2/s. Every body starts with its send time; the other side
   measures send-to-delivery latency and answers with a read receipt, as the chat page does (``--receipts
   none`` to leave them out). Then it waits (bounded) for outstanding acks and deliveries and closes.
4. Samples the server's RSS (``/proc/<pid>/status``) before, at idle with every socket open, and during load.
5. Checks the database: every acknowledged message stored exactly once with the acknowledged sequence
   number, sequence numbers contiguous per conversation.
6. Runs the same load generator against a bare WebSocket relay on the same stack (Starlette under
   uvicorn, same uvicorn options; no auth, no storage, no hub) and prints our figures as ratios of it.

It asserts nothing and exits 0 unless something broke; the figures go into docs/realtime.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import platform
import queue
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_SECRET = "bench-secret-key-not-for-production-0123456789abcdef"
BENCH_PASSWORD = "correct horse battery"
POSTGRES_ADMIN_URL = os.environ.get(
    "SAMEBOAT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("SAMEBOAT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
# The server's per-connection limit (web/realtime.py): a burst of 10, then 2 per second.
SERVER_RATE_PER_SOCKET = 2.0
TARGET_P99_MS = 150.0


# --------------------------------------------------------------------------------------------------------
# The machine and the processes
# --------------------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu,
        "cores": str(cores),
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def raise_open_file_limit(needed: int) -> tuple[int, int]:
    """Raise the soft limit on open files towards the hard limit (inherited by the processes we start)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM in KiB."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS", "VmHWM")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def with_children(pids: list[int]) -> list[int]:
    """The processes and all their descendants (the server's risk worker process counts as the server)."""
    out, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        out.append(pid)
        with contextlib.suppress(OSError, ValueError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values[:8]) - idle) / tick, sum(values[:8]) / tick


def wait_healthy(process: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server on port {port} did not become healthy:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --------------------------------------------------------------------------------------------------------
# Seeding through the services
# --------------------------------------------------------------------------------------------------------


@dataclass
class Pair:
    conversation_id: str
    member_token: str
    listener_token: str


class _HashOnce:
    """argon2id is slow on purpose; every bench account has the same password, so hash it once."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._hashes: dict[str, str] = {}

    def hash(self, password: str) -> str:
        if password not in self._hashes:
            self._hashes[password] = self._inner.hash(password)
        return self._hashes[password]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _EmbedOnce:
    """Every bench listener tells the same story: embed it once with the real model (so the server finds
    nothing stale to re-embed in the background while it is being measured)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._vectors: dict[str, Any] = {}
        self.model_version = inner.model_version

    def embed(self, text: str) -> Any:
        if text not in self._vectors:
            self._vectors[text] = self._inner.embed(text)
        return self._vectors[text]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def seed(url: str, pairs: int) -> list[Pair]:
    from sameboat.bootstrap import bootstrap
    from sameboat.domain.accounts import ListenerStatus, Role
    from sameboat.domain.listeners import ListenerProfileDraft
    from sameboat.services import accounts, listeners, sponsors
    from sameboat.services.conversations import open_conversation
    from sameboat.settings import Settings

    runtime = bootstrap(Settings(database_url=url, secret_key=BENCH_SECRET, redis_url=None, environment="test"))
    ctx = runtime.services
    ctx.hasher = _HashOnce(ctx.hasher)
    if ctx.embedder is not None:
        ctx.embedder = _EmbedOnce(ctx.embedder)
    tag = uuid.uuid4().hex[:6]
    sponsor = sponsors.create_sponsor(ctx, name="Bench sponsor", country="US", minutes_budget=10**7)
    access = sponsors.create_access_code(ctx, sponsor_id=sponsor.id, code=f"BENCH-{tag}".upper())
    story = (
        "I went through a divorce three years ago and for months I couldn't sleep or eat properly. "
        "What helped was talking to someone who had been there and didn't judge me."
    )
    out: list[Pair] = []
    try:
        for i in range(pairs):
            member = accounts.sign_up_member(
                ctx,
                email=f"member{i}-{tag}@example.org",
                password=BENCH_PASSWORD,
                pseudonym=f"Member {tag} {i}",
                access_code=access.code,
            )
            listener = accounts.create_user(
                ctx, email=f"listener{i}-{tag}@example.org", password=BENCH_PASSWORD, role=Role.LISTENER
            )
            listeners.create_profile(
                ctx,
                listener.id,
                ListenerProfileDraft(
                    display_name=f"Listener {i}", bio="Here to listen.", story=story, tags=["divorce"]
                ),
                status=ListenerStatus.APPROVED,
            )
            with ctx.uow() as uow:
                conversation_id = open_conversation(
                    ctx, uow.session, member_id=member.id, listener_id=listener.id, request_id=None
                ).id
            out.append(
                Pair(
                    conversation_id,
                    accounts.start_session(ctx, member.id, "api"),
                    accounts.start_session(ctx, listener.id, "api"),
                )
            )
    finally:
        runtime.close()
    return out


def verify(url: str, conversation_ids: list[str], acked: list[tuple[str, str, int]]) -> dict[str, int]:
    """Every acknowledged message in the database exactly once, under the sequence number it was acked with."""
    from sqlalchemy import text

    from sameboat.adapters.storage.database import make_engine

    engine = make_engine(url)
    wanted = set(conversation_ids)
    events: dict[str, list[tuple[int, str, str | None]]] = defaultdict(list)
    last_seq: dict[str, int] = {}
    try:
        with engine.connect() as conn:
            for cid, seq, kind, client_id in conn.execute(
                text(
                    "SELECT conversation_id, seq, kind, client_id FROM conversation_events "
                    "ORDER BY conversation_id, seq"
                )
            ):
                if cid in wanted:
                    events[cid].append((seq, kind, client_id))
            for cid, seq in conn.execute(text("SELECT id, last_seq FROM conversations")):
                if cid in wanted:
                    last_seq[cid] = seq
            member_messages, unassessed = conn.execute(
                text(
                    "SELECT count(*), count(*) - count(risk_level) FROM conversation_events "
                    "WHERE kind = 'message' AND sender_role = 'member'"
                )
            ).one()
            alerts = conn.execute(text("SELECT count(*) FROM alerts")).scalar_one()
    finally:
        engine.dispose()
    gaps = 0
    stored: dict[tuple[str, str], list[int]] = defaultdict(list)
    for cid in conversation_ids:
        seqs = [seq for seq, _, _ in events[cid]]
        if seqs != list(range(1, len(seqs) + 1)) or len(seqs) != last_seq.get(cid, -1):
            gaps += 1
        for seq, kind, client_id in events[cid]:
            if kind == "message":
                stored[(cid, client_id or "")].append(seq)
    acked_keys = {(cid, client_id): seq for cid, client_id, seq in acked}
    lost = sum(1 for key in acked_keys if key not in stored)
    wrong_seq = sum(1 for key, seq in acked_keys.items() if key in stored and stored[key][0] != seq)
    return {
        "messages_stored": sum(len(v) for v in stored.values()),
        "acked": len(acked_keys),
        "lost": lost,
        "duplicated": sum(len(v) - 1 for v in stored.values() if len(v) > 1),
        "acked_under_other_seq": wrong_seq,
        "stored_not_acked": sum(1 for key in stored if key not in acked_keys),
        "conversations_with_seq_gaps": gaps,
        "member_messages": member_messages,
        "member_unassessed": unassessed,
        "alerts": alerts,
    }


# --------------------------------------------------------------------------------------------------------
# The baseline: a bare WebSocket relay on the same stack (Starlette under uvicorn), no auth, no storage
# --------------------------------------------------------------------------------------------------------


def serve_baseline(port: int) -> None:
    """Same frames as the real server (replayed nothing; ack to the sender; the event to both sides, each
    socket's sends going through a bounded queue and one pusher task), but nothing checked or stored."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    rooms: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
    last_seq: dict[str, int] = defaultdict(int)

    async def healthz(request: Any) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def relay(ws: WebSocket) -> None:
        room_id = ws.path_params["conversation_id"]
        await ws.accept()
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=256)
        rooms[room_id].add(outbox)
        lock = asyncio.Lock()

        async def send(message: dict[str, Any]) -> None:
            async with lock:
                await ws.send_text(json.dumps(message, separators=(",", ":")))

        async def push() -> None:
            while True:
                await send(await outbox.get())

        async def read() -> None:
            while True:
                frame = json.loads(await ws.receive_text())
                if frame.get("type") == "read":
                    receipt = {"type": "receipt", "kind": "read", "seq": frame["seq"], "by": "someone"}
                    for other in list(rooms[room_id]):
                        if other is not outbox:
                            with contextlib.suppress(asyncio.QueueFull):
                                other.put_nowait(receipt)
                    continue
                if frame.get("type") != "send":
                    continue
                last_seq[room_id] += 1
                seq, at = last_seq[room_id], time.time()
                await send({"type": "ack", "client_id": frame["client_id"], "seq": seq, "at": at})
                event = {
                    "type": "event",
                    "conversation_id": room_id,
                    "seq": seq,
                    "kind": "message",
                    "from": None,
                    "sender_id": None,
                    "name": "someone",
                    "body": frame["body"],
                    "client_id": frame["client_id"],
                    "at": at,
                }
                for other in list(rooms[room_id]):
                    with contextlib.suppress(asyncio.QueueFull):
                        other.put_nowait(event)

        tasks = [asyncio.create_task(push()), asyncio.create_task(read())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except WebSocketDisconnect:
            pass
        finally:
            rooms[room_id].discard(outbox)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task

    app = Starlette(routes=[Route("/healthz", healthz), WebSocketRoute("/ws/conversations/{conversation_id}", relay)])
    # The same uvicorn options as `sameboat serve` (cli._run_server).
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info", proxy_headers=False, ws_max_size=64 * 1024)


# --------------------------------------------------------------------------------------------------------
# The load generator (runs in its own process)
# --------------------------------------------------------------------------------------------------------


@dataclass
class LoadSpec:
    # (conversation_id, member_url, listener_url) per pair
    pairs: list[tuple[str, str, str]]
    rate: float
    duration: float
    drain: float
    connect_concurrency: int
    body_chars: int
    compression: str
    pattern: str = "turns"
    receipts: str = "read"
    timeline: str | None = None
    bodies: str = "chat"
    #: Member messages replaced by one that the risk engine must flag: (pair, message number), spread over the run.
    probes: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class SocketState:
    pair: int
    role: str
    conversation_id: str
    url: str
    ws: Any = None
    error: str | None = None
    closing: bool = False
    closed_unexpectedly: str | None = None
    last_seq: int = 0
    gaps: int = 0
    duplicates: int = 0
    sent: dict[str, float] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)
    delivered: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    delivered_at: list[float] = field(default_factory=list)
    sent_times: list[float] = field(default_factory=list)
    ack_latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    slips: list[float] = field(default_factory=list)
    send_failures: int = 0
    receipts: int = 0
    hidden: int = 0
    probe_sent_at: float | None = None
    protocol_at: float | None = None


# Send times travel in the body as consonants (base 20, microseconds): digits would look like a phone number to the
# server's moderation, which hides contact details from the other side.
_LETTERS = "bcdfghjklmnpqrstvwxz"


def encode_time(seconds: float) -> str:
    n, out = int(seconds * 1_000_000), []
    while True:
        n, digit = divmod(n, len(_LETTERS))
        out.append(_LETTERS[digit])
        if n == 0:
            return "".join(reversed(out))


def decode_time(text: str) -> float:
    n = 0
    for letter in text:
        n = n * len(_LETTERS) + _LETTERS.index(letter)
    return n / 1_000_000


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


async def _read(state: SocketState, receipts: bool) -> None:
    from websockets.exceptions import ConnectionClosed

    ws = state.ws
    try:
        async for raw in ws:
            now = time.monotonic()
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "event":
                seq = frame["seq"]
                if seq <= state.last_seq:
                    state.duplicates += 1
                    continue
                if seq != state.last_seq + 1:
                    state.gaps += seq - state.last_seq - 1
                state.last_seq = seq
                if frame.get("kind") == "protocol" and state.protocol_at is None:
                    state.protocol_at = now  # the listener's safety card: the risk engine flagged a message
                client_id = frame.get("client_id")
                if frame.get("kind") == "message" and client_id not in state.sent:
                    state.delivered.add(client_id)
                    sent_at = decode_time(frame["body"].split(" ", 1)[0])
                    state.latencies.append(now - sent_at)
                    state.delivered_at.append(now)
                    state.sent_times.append(sent_at)
                    if receipts:  # as the chat page does (static/chat.js): "read" for each message shown
                        await ws.send(json.dumps({"type": "read", "seq": seq}))
            elif kind == "ack":
                state.acked[frame["client_id"]] = frame["seq"]
                state.hidden += bool(frame.get("hidden"))
                state.ack_latencies.append(now - state.sent[frame["client_id"]])
            elif kind == "receipt":
                state.receipts += 1
            elif kind == "error":
                state.errors[frame.get("code", "?")] += 1
    except ConnectionClosed as exc:
        if not state.closing:
            state.closed_unexpectedly = f"{exc.rcvd.code if exc.rcvd else 'no close frame'}"


# A member message the risk engine must flag (it is high or imminent risk), sent by a few members during the run:
# the time from sending it to the listener's safety card arriving is the risk lag a person would see.
PROBE = "I can't do this anymore. I've got the pills saved up and I'm going to take them all tonight."

# Everyday chat for the bodies: sentences from these parts are nearly all distinct (the risk engine embeds each
# sentence and remembers the last few thousand, so a repeated filler would cost it next to nothing).
_OPENERS = ("honestly", "today", "this week", "lately", "last night", "at work", "at home", "this morning", "so")
_SUBJECTS = (
    "my sister",
    "my manager",
    "my flatmate",
    "my dad",
    "my best friend",
    "the landlord",
    "my partner",
    "my teacher",
    "the neighbours",
    "my cousin",
    "my mum",
    "a coworker",
    "my brother",
    "the new boss",
)
_VERBS = (
    "kept asking about",
    "would not stop talking about",
    "finally mentioned",
    "got upset about",
    "made a joke about",
    "forgot about",
    "was weird about",
    "helped me with",
    "complained about",
    "surprised me with",
    "argued about",
    "asked me to plan",
)
_THINGS = (
    "the rent",
    "my exams",
    "the holidays",
    "the car",
    "dinner plans",
    "the wedding",
    "my new job",
    "the garden",
    "the move",
    "a birthday party",
    "the dog",
    "the football",
    "my hours",
    "the bills",
    "the trip",
    "the washing machine",
    "the group chat",
    "the overtime",
    "the kids",
    "the flat",
)
_ENDINGS = (
    "and I did not know what to say.",
    "which was a lot.",
    "and I just laughed.",
    "so I went for a walk.",
    "and it is still on my mind.",
    "but we sorted it out.",
    "and I felt a bit better after.",
    "which annoyed me more than it should.",
    "and I needed to tell someone.",
    "so that was my day.",
)


def chat_body(rng: Any, chars: int) -> str:
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < chars:
        parts.append(
            f"{rng.choice(_OPENERS).capitalize()} {rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} "
            f"{rng.choice(_THINGS)} {rng.choice(_ENDINGS)}"
        )
    return " ".join(parts)[:chars]


async def _send_loop(
    state: SocketState,
    t0: float,
    offset: float,
    period: float,
    count: int,
    filler: str,
    probe_at: int | None = None,
    chars: int = 110,
) -> None:
    import random

    from websockets.exceptions import ConnectionClosed

    rng = random.Random(f"{state.pair}{state.role}")
    letter = state.role[0]
    for m in range(count):
        target = t0 + offset + m * period
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.monotonic()
        state.slips.append(now - target)
        client_id = f"{state.pair}{letter}{m}"
        state.sent[client_id] = now
        text = filler or chat_body(rng, chars)
        if m == probe_at:
            text, state.probe_sent_at = PROBE, now
        frame = json.dumps({"type": "send", "client_id": client_id, "body": f"{encode_time(now)} {text}"})
        try:
            await state.ws.send(frame)
        except ConnectionClosed:
            state.send_failures += count - m
            return


async def _load(spec: LoadSpec, report: Any) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    n = len(spec.pairs)
    states = [
        SocketState(i, role, cid, url)
        for i, (cid, member_url, listener_url) in enumerate(spec.pairs)
        for role, url in (("member", member_url), ("listener", listener_url))
    ]
    gate = asyncio.Semaphore(spec.connect_concurrency)
    readers: list[asyncio.Task[None]] = []

    async def open_socket(state: SocketState) -> None:
        async with gate:
            try:
                state.ws = await connect(
                    state.url,
                    open_timeout=60,
                    close_timeout=5,
                    ping_interval=None,
                    max_size=2**20,
                    compression="deflate" if spec.compression == "deflate" else None,
                )
            except Exception as exc:  # noqa: BLE001 - counted and reported
                state.error = f"{type(exc).__name__}: {exc}"[:200]
                return
        readers.append(asyncio.create_task(_read(state, spec.receipts == "read")))

    started = time.monotonic()
    await asyncio.gather(*(open_socket(s) for s in states))
    connect_seconds = time.monotonic() - started
    live = [s for s in states if s.ws is not None]
    # Let each socket take in what the server replays on connect (the conversation's first event).
    settle = time.monotonic() + 10
    while time.monotonic() < settle and any(s.last_seq == 0 for s in live):
        await asyncio.sleep(0.05)
    report("connected", {"connected": len(live), "seconds": connect_seconds})

    total = int(round(spec.rate * spec.duration))
    period = 2 * n / spec.rate
    filler = ("I hear you. " * (spec.body_chars // 12 + 1))[: max(0, spec.body_chars - 10)]
    if spec.bodies == "chat":
        filler = ""  # each message gets its own sentences (chat_body)
    probes = dict(spec.probes)
    t0 = time.monotonic() + 1.0
    cpu0 = time.process_time()
    senders = []
    for state in states:
        side = 0 if state.role == "member" else 1
        # Message k goes out at k / rate. "turns": pair k % N, the member then, N messages later, the listener
        # (a reply seconds later, as people chat). "tight": pair (k // 2) % N, member and listener back to back.
        slot = state.pair + side * n if spec.pattern == "turns" else 2 * state.pair + side
        count = max(0, math.ceil((total - slot) / (2 * n)))
        if state.ws is None:
            state.send_failures += count
            continue
        probe_at = probes.get(state.pair) if state.role == "member" else None
        senders.append(
            asyncio.create_task(
                _send_loop(state, t0, slot / spec.rate, period, count, filler, probe_at, max(20, spec.body_chars - 10))
            )
        )
    report("load", {"t0_in": t0 - time.monotonic()})
    await asyncio.gather(*senders)
    sent_done = time.monotonic()
    report("drain", {})

    def outstanding() -> int:
        missing = 0
        for i in range(0, len(states), 2):
            member, listener = states[i], states[i + 1]
            missing += len(member.sent) - len(member.acked) + len(listener.sent) - len(listener.acked)
            missing += sum(1 for c in member.acked if c not in listener.delivered)
            missing += sum(1 for c in listener.acked if c not in member.delivered)
        return missing

    def probes_waiting() -> int:
        return sum(
            1
            for i in range(0, len(states), 2)
            if states[i].probe_sent_at is not None and states[i + 1].protocol_at is None
        )

    drain_deadline = time.monotonic() + spec.drain
    while time.monotonic() < drain_deadline and (outstanding() > 0 or probes_waiting() > 0):
        await asyncio.sleep(0.1)
    cpu_load = time.process_time() - cpu0
    report("drained", {})
    for state in live:
        state.closing = True
    await asyncio.wait_for(asyncio.gather(*(s.ws.close() for s in live), return_exceptions=True), timeout=30)
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)

    latencies = [x for s in states for x in s.latencies]
    if spec.timeline:
        rows = sorted(
            (sent - t0, latency) for s in states for sent, latency in zip(s.sent_times, s.latencies, strict=True)
        )
        with open(spec.timeline, "w") as f:
            f.write("sent_s,latency_ms\n")
            f.writelines(f"{sent:.4f},{latency * 1000:.2f}\n" for sent, latency in rows)
    ack_latencies = [x for s in states for x in s.ack_latencies]
    slips = [x for s in states for x in s.slips]
    delivered_at = sorted(x for s in states for x in s.delivered_at)
    window_end = t0 + spec.duration
    in_window = sum(1 for x in delivered_at if t0 <= x < window_end)
    buckets = Counter(int(x - t0) for x in delivered_at if t0 <= x < window_end)
    inner = [buckets.get(b, 0) for b in range(1, max(1, int(spec.duration)) - 1)]
    undelivered = 0
    for i in range(0, len(states), 2):
        member, listener = states[i], states[i + 1]
        undelivered += sum(1 for c in member.acked if c not in listener.delivered)
        undelivered += sum(1 for c in listener.acked if c not in member.delivered)
    risk_lags = [
        states[i + 1].protocol_at - states[i].probe_sent_at  # type: ignore[operator]
        for i in range(0, len(states), 2)
        if states[i].probe_sent_at is not None and states[i + 1].protocol_at is not None
    ]
    errors: Counter[str] = Counter()
    for s in states:
        errors.update(s.errors)
    close_codes = Counter(s.closed_unexpectedly for s in states if s.closed_unexpectedly)
    connect_errors = Counter(s.error.split(":")[0] for s in states if s.error)
    return {
        "sockets": len(states),
        "connected": len(live),
        "connect_seconds": round(connect_seconds, 2),
        "connect_errors": dict(connect_errors),
        "closed_unexpectedly": dict(close_codes),
        "scheduled": total,
        "sent": sum(len(s.sent) for s in states),
        "send_failures": sum(s.send_failures for s in states),
        "acked": sum(len(s.acked) for s in states),
        "error_frames": dict(errors),
        "delivered": len(latencies),
        "acked_not_delivered": undelivered,
        "receipts": sum(s.receipts for s in states),
        "hidden": sum(s.hidden for s in states),
        "client_gaps": sum(s.gaps for s in states),
        "client_duplicates": sum(s.duplicates for s in states),
        "delivered_per_second": in_window / spec.duration,
        "lowest_second": min(inner) if inner else in_window,
        "send_seconds": round(sent_done - t0, 2),
        "latency_ms": {p: percentile(latencies, p) * 1000 for p in (50, 95, 99)},
        "latency_max_ms": max(latencies) * 1000 if latencies else math.nan,
        "ack_latency_ms": {p: percentile(ack_latencies, p) * 1000 for p in (50, 99)},
        "send_slip_p99_ms": percentile(slips, 99) * 1000,
        "loadgen_cpu_percent": 100 * cpu_load / max(1e-9, time.monotonic() - t0),
        "acked_ids": [(s.conversation_id, c, seq) for s in states for c, seq in s.acked.items()],
        "probes_sent": sum(1 for s in states if s.probe_sent_at is not None),
        "probes_flagged": len(risk_lags),
        "risk_lag_ms": {p: percentile(risk_lags, p) * 1000 for p in (50, 99)},
        "risk_lag_max_ms": max(risk_lags) * 1000 if risk_lags else math.nan,
    }


def loadgen_process(spec_dict: dict[str, Any], out: Any) -> None:
    """Entry point of the load generator's own process; talks to the parent through a queue."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    spec = LoadSpec(**spec_dict)
    try:
        result = asyncio.run(_load(spec, lambda phase, data: out.put((phase, data))))
        out.put(("result", result))
    except BaseException as exc:  # noqa: BLE001 - hand any failure to the parent, which reports it
        out.put(("failed", f"{type(exc).__name__}: {exc}"))


# --------------------------------------------------------------------------------------------------------
# One measured run: a set of servers, the load generator, memory samples
# --------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    load: dict[str, Any]
    rss_start_kib: int
    rss_idle_kib: int
    rss_peak_kib: int
    server_cpu_percent: float
    server_cpu_seconds: float
    other_cpu_percent: float
    load_average: str
    checks: dict[str, int] | None = None


def drive(name: str, pids: list[int], spec: LoadSpec, timeout: float) -> Run:
    """Run the load generator in its own process; sample the servers' memory and CPU meanwhile."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=loadgen_process, args=(asdict(spec), out), daemon=True)

    servers = list(pids)

    def rss() -> int:  # children looked up each time: the risk worker starts with the first member message
        return sum(proc_status(pid).get("VmRSS", 0) for pid in with_children(servers))

    def server_cpu() -> float:
        return sum(cpu_seconds(p) for p in with_children(servers))

    rss_start, rss_idle, rss_peak = rss(), 0, 0
    load_average = "?"
    phase, cpu_marks = "connecting", {}
    result: dict[str, Any] | None = None
    process.start()
    deadline = time.monotonic() + timeout
    try:
        while result is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: the load generator did not finish within {timeout:.0f} s")
            try:
                kind, data = out.get(timeout=0.25)
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError(f"{name}: the load generator died (exit code {process.exitcode})") from None
                kind, data = "tick", None
            if phase in ("load", "drain"):
                rss_peak = max(rss_peak, rss())
            if kind == "connected":
                rss_idle = rss()
                print(f"  {name}: {data['connected']} sockets open in {data['seconds']:.1f} s", flush=True)
            elif kind == "load":
                cpu_marks["start"] = (time.monotonic(), server_cpu())
                cpu_marks["start_all"] = (machine_cpu_seconds(), cpu_seconds(process.pid or 0))
                print(f"  {name}: sending for {spec.duration:.0f} s ...", flush=True)
            elif kind == "drain":
                cpu_marks["end"] = (time.monotonic(), server_cpu())
                cpu_marks["end_all"] = (machine_cpu_seconds(), cpu_seconds(process.pid or 0))
                load_average = " ".join(Path("/proc/loadavg").read_text().split()[:3])
            elif kind == "drained":
                cpu_marks["drained"] = server_cpu()
            elif kind == "failed":
                raise RuntimeError(f"{name}: load generator failed: {data}")
            elif kind == "result":
                result = data
            if kind in ("connected", "load", "drain"):
                phase = kind
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    (t_start, c_start), (t_end, c_end) = cpu_marks["start"], cpu_marks.get("end", cpu_marks["start"])
    cpu_percent = 100 * (c_end - c_start) / max(1e-9, t_end - t_start)
    # Everything else the machine ran meanwhile (other people's jobs share these cores), in % of one core.
    ((busy0, _), loadgen0) = cpu_marks["start_all"]
    ((busy1, _), loadgen1) = cpu_marks.get("end_all", cpu_marks["start_all"])
    other = (busy1 - busy0) - (c_end - c_start) - (loadgen1 - loadgen0)
    other_percent = max(0.0, 100 * other / max(1e-9, t_end - t_start))
    total_cpu = cpu_marks.get("drained", c_end) - c_start
    return Run(
        name, result, rss_start, rss_idle, max(rss_peak, rss_idle), cpu_percent, total_cpu, other_percent, load_average
    )


def start_sameboat_nodes(
    url: str, nodes: int, redis_url: str | None, workdir: Path
) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMEBOAT_")}
    env.update(
        SAMEBOAT_DATABASE_URL=url,
        SAMEBOAT_SECRET_KEY=BENCH_SECRET,
        SAMEBOAT_DISPATCH_INTERVAL_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["SAMEBOAT_REDIS_URL"] = redis_url
    processes, ports = [], []
    for node in range(nodes):
        port = free_port()
        log = workdir / f"node{node + 1}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "sameboat.cli", "serve", "--port", str(port), "--no-upgrade"],
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        ports.append(port)
        wait_healthy(process, port, log)
    return processes, ports


def probe_plan(args: argparse.Namespace) -> list[tuple[int, int]]:
    """(pair, member message number) of each risk probe: different pairs (a conversation acts once per level
    reached), spread from the start of sending to the end."""
    n, count = args.pairs, int(round(args.rate * args.duration))
    probes = min(args.risk_probes, n)
    plan = []
    for i in range(probes):
        pair = i * n // probes
        sends = max(1, math.ceil((count - pair) / (2 * n)))  # the member's messages in the "turns" pattern
        plan.append((pair, min(sends - 1, i * sends // probes)))
    return plan


def run_sameboat(args: argparse.Namespace, workdir: Path) -> tuple[Run, str]:
    from sqlalchemy import create_engine, text

    from sameboat.adapters.storage.database import upgrade

    admin = None
    db_name = None
    if args.backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        redis_url = None
        label = "SQLite, in-memory hub"
    else:
        db_name = f"sameboat_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{db_name}"
        redis_url = REDIS_URL
        label = "PostgreSQL + Redis"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        started = time.monotonic()
        upgrade(url)
        pairs = seed(url, args.pairs)
        print(f"  seeded {len(pairs)} conversations in {time.monotonic() - started:.1f} s", flush=True)
        processes, ports = start_sameboat_nodes(url, args.nodes, redis_url, workdir)
        member_port, listener_port = ports[0], ports[-1]

        def socket_url(port: int, conversation_id: str, token: str) -> str:
            return f"ws://127.0.0.1:{port}/ws/conversations/{conversation_id}?token={token}&after=0"

        spec = LoadSpec(
            pairs=[
                (
                    p.conversation_id,
                    socket_url(member_port, p.conversation_id, p.member_token),
                    socket_url(listener_port, p.conversation_id, p.listener_token),
                )
                for p in pairs
            ],
            rate=args.rate,
            duration=args.duration,
            drain=args.drain,
            connect_concurrency=args.connect_concurrency,
            body_chars=args.body_chars,
            compression=args.compression,
            pattern=args.pattern,
            receipts=args.receipts,
            timeline=args.timeline,
            bodies=args.bodies,
            probes=probe_plan(args),
        )
        nodes = f"{args.nodes} process{'es' if args.nodes > 1 else ''}"
        run = drive(f"sameboat ({label}, {nodes})", [p.pid for p in processes], spec, timeout=args.timeout)
        for process in processes:
            stop(process)
        run.checks = verify(url, [p.conversation_id for p in pairs], run.load.pop("acked_ids"))
        # Each server logs what its risk queue did when it stops (services/safety.RiskQueue.summary).
        logs = [(workdir / f"node{node + 1}.log").read_text() for node in range(args.nodes)]
        summaries = [
            m for text in logs for m in re.finditer(r"by the phrase layer first, (\d+) of them read again", text)
        ]
        run.checks["phrases_only"] = sum(
            int(m.group(1)) for text in logs for m in re.finditer(r"(\d+) by the phrase layer first", text)
        )
        run.checks["second_looks"] = sum(int(m.group(1)) for m in summaries)
        return run, f"{label}, {nodes}"
    finally:
        for process in processes:
            stop(process)
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            admin.dispose()


def run_baseline(args: argparse.Namespace, workdir: Path) -> Run:
    port = free_port()
    log = workdir / "baseline.log"
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve-baseline", str(port)],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_healthy(process, port, log)
        pairs = [uuid.uuid4().hex for _ in range(args.pairs)]
        spec = LoadSpec(
            pairs=[
                (cid, f"ws://127.0.0.1:{port}/ws/conversations/{cid}", f"ws://127.0.0.1:{port}/ws/conversations/{cid}")
                for cid in pairs
            ],
            rate=args.rate,
            duration=args.duration,
            drain=args.drain,
            connect_concurrency=args.connect_concurrency,
            body_chars=args.body_chars,
            compression=args.compression,
            pattern=args.pattern,
            receipts=args.receipts,
        )
        run = drive("baseline (bare relay)", [process.pid], spec, timeout=args.timeout)
        run.load.pop("acked_ids")
        return run
    finally:
        stop(process)


# --------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.1f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "0"
    return f"{value:,}" if isinstance(value, int) else str(value)


def report(args: argparse.Namespace, ours: Run, base: Run | None, label: str) -> bool:
    """Print the table (ours, the baseline, ours as a ratio of it, the target) and whether the target was met."""
    a, checks = ours.load, ours.checks or {}

    def per_message(run: Run) -> float:
        return 1000 * run.server_cpu_seconds / max(1, run.load["acked"])

    def pair(get: Any) -> tuple[Any, Any]:
        return get(ours), (get(base) if base else "")

    def ratio(values: tuple[Any, Any]) -> str:
        x, y = values
        if not isinstance(y, (int, float)) or not y or math.isnan(x) or math.isnan(y):
            return ""
        return f"{x / y:.2f}x"

    def load(key: str, *sub: Any) -> Any:
        def get(run: Run) -> Any:
            value = run.load[key]
            for k in sub:
                value = value[k]
            return value

        return get

    def of(numerator: str, denominator: str) -> Any:
        return lambda run: f"{run.load[numerator]} / {run.load[denominator]}"

    rows: list[tuple[str, tuple[Any, Any], str, str]] = []

    def row(name: str, values: tuple[Any, Any], target: str = "", with_ratio: bool = False) -> None:
        rows.append((name, values, ratio(values) if with_ratio else "", target))

    row("sockets connected", pair(of("connected", "sockets")), f"{2 * args.pairs}")
    if a["connect_errors"]:
        row("connect errors", pair(load("connect_errors")), "0")
    row("time to connect all (s)", pair(load("connect_seconds")))
    row("messages sent / scheduled", pair(of("sent", "scheduled")))
    row("acks", pair(load("acked")))
    row("acks saying the message was held by moderation", pair(load("hidden")), "0")
    row("delivered to the other side", pair(load("delivered")))
    row("read receipts received", pair(load("receipts")))
    row("delivered msg/s (mean over the send window)", pair(load("delivered_per_second")), f">= {args.rate:g}", True)
    row("delivered msg/s (lowest 1 s inside it)", pair(load("lowest_second")), "", True)
    for p in (50, 95):
        row(f"latency p{p} (ms)", pair(load("latency_ms", p)), "", True)
    row("latency p99 (ms)", pair(load("latency_ms", 99)), f"<= {TARGET_P99_MS:g}", True)
    row("latency max (ms)", pair(load("latency_max_ms")))
    row(
        "ack latency p50 / p99 (ms)",
        pair(lambda r: f"{r.load['ack_latency_ms'][50]:.1f} / {r.load['ack_latency_ms'][99]:.1f}"),
    )
    row("server RSS at start (MiB, all nodes)", pair(lambda r: r.rss_start_kib / 1024))
    row("server RSS, sockets open, idle (MiB)", pair(lambda r: r.rss_idle_kib / 1024), "", True)
    row("server RSS peak under load (MiB)", pair(lambda r: r.rss_peak_kib / 1024), "", True)
    row("server CPU while sending (% of one core, all nodes)", pair(lambda r: r.server_cpu_percent))
    row("server CPU per acked message (ms)", pair(per_message), "", True)
    row("load generator CPU (% of one core)", pair(load("loadgen_cpu_percent")))
    row("other processes' CPU meanwhile (% of one core)", pair(lambda r: r.other_cpu_percent))
    row("load average at the end of sending", pair(lambda r: r.load_average))
    row("load generator send slip p99 (ms)", pair(load("send_slip_p99_ms")))
    row("error frames", pair(load("error_frames")), "0")
    row("sockets closed by the server", pair(load("closed_unexpectedly")), "0")
    row("acked but not delivered (after drain)", pair(load("acked_not_delivered")), "0")
    row("gaps / duplicates seen by clients", pair(of("client_gaps", "client_duplicates")), "0 / 0")
    row("DB: acked messages stored", (checks.get("acked", 0) - checks.get("lost", 0), ""))
    row("DB: lost (acked, not stored)", (checks.get("lost"), ""), "0")
    row("DB: duplicated", (checks.get("duplicated"), ""), "0")
    row("DB: stored under another seq than acked", (checks.get("acked_under_other_seq"), ""), "0")
    row("DB: stored but never acked", (checks.get("stored_not_acked"), ""))
    row("DB: conversations with seq gaps", (checks.get("conversations_with_seq_gaps"), ""), "0")
    row("risk probes flagged / sent (listener got the safety card)", (of("probes_flagged", "probes_sent")(ours), ""))
    row(
        "risk lag p50 / p99 / max (ms): probe sent to safety card",
        (f"{a['risk_lag_ms'][50]:.0f} / {a['risk_lag_ms'][99]:.0f} / {a['risk_lag_max_ms']:.0f}", ""),
    )
    row("DB: alerts raised", (checks.get("alerts"), ""), f">= {a['probes_sent']}")
    row("member messages assessed by the phrase layer first (queue behind)", (checks.get("phrases_only"), ""))
    row(
        "  of them read by the model later (second look) / never",
        (f"{checks.get('second_looks')} / {(checks.get('phrases_only') or 0) - (checks.get('second_looks') or 0)}", ""),
        "never: 0",
    )
    row(
        "DB: member messages not risk-assessed when the server stopped",
        (f"{checks.get('member_unassessed')} of {checks.get('member_messages')}", ""),
        "0",
    )

    headers = ["", f"sameboat ({label})", "baseline", "ratio", "target"]
    cells = [headers] + [[name, _fmt(x), _fmt(y), r, t] for name, (x, y), r, t in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    print()
    for index, line in enumerate(cells):
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        print("| " + " | ".join(padded) + " |")
        if index == 0:
            print("| " + " | ".join("-" * w for w in widths) + " |")
    met = (
        a["connected"] == 2 * args.pairs
        and a["delivered_per_second"] >= 0.98 * args.rate
        and a["latency_ms"][99] <= TARGET_P99_MS
        and a["acked"] == a["scheduled"]
        and checks.get("lost", 1) == 0
        and checks.get("duplicated", 1) == 0
        and checks.get("acked_under_other_seq", 1) == 0
    )
    print()
    print(
        f"target ({2 * args.pairs:,} sockets, {args.rate:g} msg/s sustained, p99 <= {TARGET_P99_MS:g} ms, "
        f"every message acked and stored exactly once): {'MET' if met else 'NOT MET'}"
    )
    return met


# --------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=None, help="member-listener pairs, 2 sockets each (default 1000)")
    parser.add_argument("--rate", type=float, default=None, help="messages per second, all pairs (default 500)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of sending (default 30)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 50 pairs, 50 msg/s, 5 s")
    parser.add_argument("--backend", choices=("sqlite", "postgres-redis"), default="sqlite")
    parser.add_argument("--nodes", type=int, default=None, help="server processes (1 for sqlite; default 2 otherwise)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare relay baseline")
    parser.add_argument("--drain", type=float, default=10.0, help="seconds to wait for outstanding acks after sending")
    parser.add_argument("--connect-concurrency", type=int, default=50, help="sockets being opened at once")
    parser.add_argument("--body-chars", type=int, default=120, help="characters per message body")
    parser.add_argument(
        "--compression",
        choices=("deflate", "none"),
        default="deflate",
        help="permessage-deflate as browsers negotiate it (default), or none",
    )
    parser.add_argument(
        "--pattern",
        choices=("turns", "tight"),
        default="turns",
        help="turns: each side of a pair sends N/rate seconds after the other (default);\n"
        "tight: member and listener of a pair send 1/rate apart (stresses ordering)",
    )
    parser.add_argument(
        "--receipts",
        choices=("read", "none"),
        default="read",
        help="read: answer each message from the other side with a read receipt, as the chat page\n"
        "does (default); none: messages only",
    )
    parser.add_argument(
        "--bodies",
        choices=("chat", "filler"),
        default="chat",
        help="chat: everyday sentences, nearly all distinct, as people write (default);\n"
        "filler: 'I hear you.' repeated (the risk engine remembers repeated sentences, so it costs next to nothing)",
    )
    parser.add_argument(
        "--risk-probes",
        type=int,
        default=100,
        help="member messages, in different conversations, replaced by one the risk engine must flag; the time\n"
        "to the listener's safety card is the risk lag (default 100)",
    )
    parser.add_argument("--timeline", metavar="CSV", help="write (send time, latency) of every delivery of ours here")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (database, server logs)")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_baseline is not None:
        return args
    quick = args.quick
    args.pairs = args.pairs or (50 if quick else 1000)
    args.rate = args.rate or (50.0 if quick else 500.0)
    args.duration = args.duration or (5.0 if quick else 30.0)
    if args.nodes is None:
        args.nodes = 1 if args.backend == "sqlite" else 2
    if args.backend == "sqlite" and args.nodes != 1:
        parser.error("SQLite runs one process; use --backend postgres-redis for --nodes > 1")
    if not (1 <= args.pairs <= 5000 and 0 < args.rate <= 5000 and 0 < args.duration <= 600 and 1 <= args.nodes <= 4):
        parser.error("keep it bounded: pairs 1..5000, rate up to 5000 msg/s, duration up to 600 s, 1..4 nodes")
    per_socket = args.rate / (2 * args.pairs)
    if per_socket > 0.9 * SERVER_RATE_PER_SOCKET:
        parser.error(
            f"{per_socket:.2f} msg/s per socket is too close to the server's limit of {SERVER_RATE_PER_SOCKET:g}/s; "
            "use more pairs or a lower rate"
        )
    args.timeout = 120 + args.pairs * 0.1 + args.duration + args.drain + 60
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_baseline is not None:
        serve_baseline(args.serve_baseline)
        return 0
    info = machine()
    sockets_needed = 2 * args.pairs
    soft, hard = raise_open_file_limit(2 * sockets_needed + 1024)
    print("Sameboat chat load benchmark")
    print(f"  machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM; {info['os']}; Python {info['python']}")
    print(f"  command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"  load: {args.pairs:,} pairs ({sockets_needed:,} sockets), {args.rate:g} msg/s for {args.duration:g} s "
        f"({args.rate / (2 * args.pairs):.3f} msg/s per socket), {args.body_chars}-character bodies, "
        f"compression {args.compression}, {args.bodies} bodies, {min(args.risk_probes, args.pairs)} risk probes"
    )
    print(f"  uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"  open files: soft {soft}, hard {hard} (ulimit -n)")
    if soft != resource.RLIM_INFINITY and soft < sockets_needed + 256:
        print(f"  warning: the open-file limit {soft} is too low for {sockets_needed} sockets; raise `ulimit -n`")
    workdir = Path(tempfile.mkdtemp(prefix="sameboat-chat-load-"))
    ok = False
    try:
        ours, label = run_sameboat(args, workdir)
        base = None if args.no_baseline else run_baseline(args, workdir)
        report(args, ours, base, label)
        ok = True
    finally:
        if args.keep or not ok:
            print(f"  working directory (database, server logs): {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
