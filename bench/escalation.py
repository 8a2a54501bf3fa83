"""Escalation latency: from a member's high-risk message to the alert on a supervisor's realtime socket.

    python bench/escalation.py                  # 200 pairs chatting at 100 msg/s for 30 s, 30 probes per phase
    python bench/escalation.py --pairs 1000 --rate 500   # the chat benchmark's default load
    python bench/escalation.py --quick          # 20 pairs, 10 msg/s, 8 s, 8 probes: a smoke run

What it does, all on loopback, bounded in count and in time, and then stops by itself:

1. Makes a SQLite database in a temporary directory and seeds it through the services (the same seeding as
   bench/chat_load.py): background member-listener pairs, one fresh conversation per probe, and a
   supervisor with an API token.
2. Starts ``python -m sameboat.cli serve`` (one process, the risk engine as configured by default).
3. Connects the supervisor to ``/ws/me`` (staff there also get the supervisors' channel) and every probe
   member to their conversation socket.
4. **Baseline phase**: no other traffic; the probe members send a high-risk message one after another at
   known times. **Load phase**: the chat benchmark's load generator (bench/chat_load.py, its own process)
   runs the background pairs; the probes are spread over its send window.
5. Each alert frame the supervisor's socket receives is stamped on arrival; afterwards the database says
   which conversation raised it, and the latency is arrival minus the probe's send time (one clock: the
   probes and the supervisor share this process). A probe whose alert never arrives within ``--wait``
   seconds is counted as missed.

It prints p50 / p95 / p99 / max per phase with the machine, the command, the load actually delivered and
the load average, asserts nothing and exits 0 unless something broke. Target (issue 5): p99 <= 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import queue
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chat_load  # noqa: E402 - the sibling benchmark: seeding, server start, load generator

TARGET_P99_S = 2.0
# Team-written, each assessed high or imminent on its own (tests/unit/safety covers phrases like these).
PROBE_MESSAGES = (
    "I can't do this anymore. I'm going to kill myself tonight.",
    "I have the pills right here and I want to die.",
    "I've been looking up how many pills it would take to end it.",
    "I wrote my goodbye letters, I don't want to be alive anymore.",
    "I want to die. Everyone would be better off without me.",
)


@dataclass
class Probe:
    conversation_id: str
    url: str
    sent_at: float | None = None
    acked_at: float | None = None
    error: str | None = None


@dataclass
class Phase:
    name: str
    probes: list[Probe]
    alerts: dict[str, float] = field(default_factory=dict)  # alert_id -> arrival (monotonic)
    load: dict[str, Any] | None = None
    load_average: tuple[float, float, float] | None = None


def seed_supervisor(url: str) -> str:
    """A supervisor on duty (no sponsor: sees every alert) and an API token for the realtime socket."""
    from sameboat.bootstrap import bootstrap
    from sameboat.domain.accounts import Role
    from sameboat.services import accounts, safety
    from sameboat.settings import Settings

    runtime = bootstrap(
        Settings(database_url=url, secret_key=chat_load.BENCH_SECRET, redis_url=None, environment="test")
    )
    ctx = runtime.services
    try:
        supervisor = accounts.create_user(
            ctx,
            email=f"supervisor-{uuid.uuid4().hex[:6]}@example.org",
            password=chat_load.BENCH_PASSWORD,
            role=Role.SUPERVISOR,
        )
        safety.supervisor_seen(ctx, supervisor, on_duty=True)
        return accounts.start_session(ctx, supervisor.id, "api")
    finally:
        runtime.close()


def alert_conversations(url: str, alert_ids: list[str]) -> dict[str, str]:
    from sqlalchemy import create_engine, select

    from sameboat.adapters.storage.models import Alert

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Alert.id, Alert.conversation_id).where(Alert.id.in_(alert_ids))).all()
    finally:
        engine.dispose()
    return {alert_id: conversation_id for alert_id, conversation_id in rows if conversation_id}


async def _drain(ws: Any, probe: Probe) -> None:
    """Read the probe member's socket (replay, ack, resources) so the server never sees a slow consumer."""
    with contextlib.suppress(Exception):
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == "ack" and probe.acked_at is None:
                probe.acked_at = time.monotonic()


async def _supervisor(ws: Any, phases: list[Phase], current: list[int]) -> None:
    async for raw in ws:
        frame = json.loads(raw)
        if frame.get("type") == "alert":
            # First arrival only: an unacknowledged alert is re-notified later, which is not what we time.
            phases[current[0]].alerts.setdefault(str(frame.get("alert_id")), time.monotonic())


async def _heartbeat(ws: Any) -> None:
    while True:
        await ws.send("ping")  # keeps the supervisor on duty, as the console does
        await asyncio.sleep(10)


def _read_queue(out: Any, timeout: float) -> tuple[str, Any]:
    try:
        return out.get(timeout=timeout)  # type: ignore[no-any-return]
    except queue.Empty:
        return ("timeout", None)


async def run_probes(
    supervisor_url: str, phases: list[Phase], background: chat_load.LoadSpec | None, args: argparse.Namespace
) -> None:
    from websockets.asyncio.client import connect

    supervisor = await connect(supervisor_url, open_timeout=30, ping_interval=None)
    current = [0]
    tasks = [
        asyncio.create_task(_supervisor(supervisor, phases, current)),
        asyncio.create_task(_heartbeat(supervisor)),
    ]
    sockets = []
    for phase in phases:
        for probe in phase.probes:
            ws = await connect(probe.url, open_timeout=30, ping_interval=None)
            sockets.append(ws)
            tasks.append(asyncio.create_task(_drain(ws, probe)))
    await asyncio.sleep(1.0)  # every socket settled (replays read)

    async def inject(phase: Phase, index: int, probe: Probe) -> None:
        ws = sockets[sum(len(p.probes) for p in phases[: phases.index(phase)]) + index]
        body = PROBE_MESSAGES[index % len(PROBE_MESSAGES)]
        probe.sent_at = time.monotonic()
        try:
            await ws.send(json.dumps({"type": "send", "client_id": uuid.uuid4().hex, "body": body}))
        except Exception as exc:  # noqa: BLE001 - counted as a missed probe
            probe.error = f"{type(exc).__name__}: {exc}"[:200]

    try:
        for number, phase in enumerate(phases):
            current[0] = number
            process = None
            out: Any = None
            if phase.name == "load":
                assert background is not None
                out = multiprocessing.get_context("spawn").Queue()
                process = multiprocessing.get_context("spawn").Process(
                    target=chat_load.loadgen_process, args=(asdict(background), out), daemon=True
                )
                process.start()
                # Wait until the background sockets are open and sending has started.
                while True:
                    kind, data = await asyncio.to_thread(_read_queue, out, args.timeout)
                    if kind == "load":
                        await asyncio.sleep(max(0.0, data["t0_in"]) + 2.0)  # let the load reach steady state
                        break
                    if kind in ("failed", "timeout"):
                        raise RuntimeError(f"background load did not start: {data}")
                spread = max(1.0, background.duration - 4.0)
            else:
                spread = args.probe_gap * len(phase.probes)
            gap = spread / len(phase.probes)
            start = time.monotonic()
            for index, probe in enumerate(phase.probes):
                await asyncio.sleep(max(0.0, start + index * gap - time.monotonic()))
                await inject(phase, index, probe)
            deadline = time.monotonic() + args.wait
            while time.monotonic() < deadline and len(phase.alerts) < len(phase.probes):
                await asyncio.sleep(0.05)
            phase.load_average = os.getloadavg()
            if process is not None:
                while True:
                    kind, data = await asyncio.to_thread(_read_queue, out, args.timeout)
                    if kind == "result":
                        data.pop("acked_ids", None)
                        phase.load = data
                        break
                    if kind in ("failed", "timeout"):
                        phase.load = {"error": str(data)}
                        break
                process.join(timeout=30)
                if process.is_alive():
                    process.kill()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for ws in [supervisor, *sockets]:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), timeout=5)


def latencies(phase: Phase, alerts: dict[str, float], conversations_of: dict[str, str]) -> tuple[list[float], int]:
    """Seconds from each probe's send to its alert's arrival; and the number of probes with no alert.

    ``alerts`` holds every phase's arrivals: a late alert is matched to its probe by conversation."""
    arrival_by_conversation: dict[str, float] = {}
    for alert_id, arrived in alerts.items():
        conversation_id = conversations_of.get(alert_id)
        if conversation_id is not None:
            arrival_by_conversation[conversation_id] = min(
                arrived, arrival_by_conversation.get(conversation_id, arrived)
            )
    out, missed = [], 0
    for probe in phase.probes:
        arrived = arrival_by_conversation.get(probe.conversation_id)
        if probe.sent_at is None or arrived is None:
            missed += 1
        else:
            out.append(arrived - probe.sent_at)
    return out, missed


def _ms(values: list[float], p: float) -> str:
    return "-" if not values else f"{chat_load.percentile(values, p) * 1000:,.0f}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=None, help="background member-listener pairs (default 200)")
    parser.add_argument("--rate", type=float, default=None, help="background messages per second (default 100)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of background sending (default 30)")
    parser.add_argument("--probes", type=int, default=None, help="high-risk messages per phase (default 30)")
    parser.add_argument("--probe-gap", type=float, default=0.5, help="seconds between probes without load")
    parser.add_argument("--wait", type=float, default=20.0, help="seconds to wait for the last alerts of a phase")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 pairs, 10 msg/s, 8 s, 8 probes")
    parser.add_argument("--no-load", action="store_true", help="baseline phase only")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (database, server log)")
    args = parser.parse_args(argv)
    args.pairs = args.pairs or (20 if args.quick else 200)
    args.rate = args.rate or (10.0 if args.quick else 100.0)
    args.duration = args.duration or (8.0 if args.quick else 30.0)
    args.probes = args.probes or (8 if args.quick else 30)
    if not (
        1 <= args.pairs <= 5000 and 0 < args.rate <= 5000 and 5 <= args.duration <= 600 and 1 <= args.probes <= 500
    ):
        parser.error("keep it bounded: pairs 1..5000, rate up to 5000 msg/s, duration 5..600 s, probes 1..500")
    if args.rate / (2 * args.pairs) > 0.9 * chat_load.SERVER_RATE_PER_SOCKET:
        parser.error("too close to the server's per-socket rate limit; use more pairs or a lower rate")
    args.timeout = 120 + args.pairs * 0.1 + args.duration + 60
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = chat_load.machine()
    chat_load.raise_open_file_limit(4 * args.pairs + 4 * args.probes + 1024)
    print("Sameboat escalation benchmark: member's high-risk message -> supervisor's socket receives the alert")
    print(f"  machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM; {info['os']}; Python {info['python']}")
    print(f"  command: {shlex.join([sys.executable, *sys.argv])}")
    load_text = (
        f"{args.pairs:,} background pairs, {args.rate:g} msg/s for {args.duration:g} s "
        f"(the chat benchmark's load generator), SQLite, one server process"
    )
    print(f"  load: {'none (baseline only)' if args.no_load else load_text}")
    load_average = "/".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"  probes: {args.probes} per phase, each a fresh conversation; load average at start {load_average}")
    workdir = Path(tempfile.mkdtemp(prefix="sameboat-escalation-"))
    ok = False
    process: subprocess.Popen[bytes] | None = None
    try:
        from sameboat.adapters.storage.database import upgrade

        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        upgrade(url)
        phases_wanted = ["baseline"] + ([] if args.no_load else ["load"])
        started = time.monotonic()
        n_background = 0 if args.no_load else args.pairs
        seeded = chat_load.seed(url, n_background + args.probes * len(phases_wanted))
        background, probe_pairs = seeded[:n_background], seeded[n_background:]
        supervisor_token = seed_supervisor(url)
        print(f"  seeded {len(background) + len(probe_pairs)} conversations in {time.monotonic() - started:.1f} s")
        processes, ports = chat_load.start_sameboat_nodes(url, 1, None, workdir)
        process, port = processes[0], ports[0]

        def socket_url(conversation_id: str, token: str) -> str:
            return f"ws://127.0.0.1:{port}/ws/conversations/{conversation_id}?token={token}&after=0"

        phases = []
        for number, name in enumerate(phases_wanted):
            chunk = probe_pairs[number * args.probes : (number + 1) * args.probes]
            phases.append(
                Phase(name, [Probe(p.conversation_id, socket_url(p.conversation_id, p.member_token)) for p in chunk])
            )
        spec = None
        if background:
            spec = chat_load.LoadSpec(
                pairs=[
                    (
                        p.conversation_id,
                        socket_url(p.conversation_id, p.member_token),
                        socket_url(p.conversation_id, p.listener_token),
                    )
                    for p in background
                ],
                rate=args.rate,
                duration=args.duration,
                drain=10.0,
                connect_concurrency=50,
                body_chars=120,
                compression="none",
            )
        asyncio.run(
            asyncio.wait_for(
                run_probes(f"ws://127.0.0.1:{port}/ws/me?token={supervisor_token}", phases, spec, args),
                timeout=args.timeout + args.wait * 2 + len(phases) * args.probes * args.probe_gap,
            )
        )
        chat_load.stop(process)
        every_alert = {a: t for phase in phases for a, t in phase.alerts.items()}
        conversations_of = alert_conversations(url, list(every_alert))

        print("")
        header = f"{'phase':<10} {'probes':>6} {'alerts':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        print(header + "  load average (1/5/15 min)")
        verdicts = []
        for phase in phases:
            values, missed = latencies(phase, every_alert, conversations_of)
            load_average = "/".join(f"{x:.2f}" for x in phase.load_average or ())
            print(
                f"{phase.name:<10} {len(phase.probes):>6} {len(phase.probes) - missed:>6} {_ms(values, 50):>8} "
                f"{_ms(values, 95):>8} {_ms(values, 99):>8} {_ms(values, 100):>8}  {load_average}"
            )
            if values:
                p99 = chat_load.percentile(values, 99)
                verdicts.append(
                    f"{phase.name}: p99 {p99:.2f} s {'<=' if p99 <= TARGET_P99_S and not missed else '>'} "
                    f"{TARGET_P99_S:g} s{f', {missed} missed' if missed else ''}"
                )
        for phase in phases:
            if phase.load:
                load = phase.load
                if "error" in load:
                    print(f"  background load failed: {load['error']}")
                    continue
                print(
                    f"  background during '{phase.name}': {load['sent']:,} sent, {load['delivered']:,} delivered, "
                    f"{load['delivered_per_second']:.1f} msg/s delivered, chat latency p50/p99 "
                    f"{load['latency_ms'][50]:.0f}/{load['latency_ms'][99]:.0f} ms, "
                    f"errors {load['error_frames'] or 'none'}"
                )
        print(f"  target (issue 5): p99 <= {TARGET_P99_S:g} s, every probe alerted. " + "; ".join(verdicts))
        ok = True
    finally:
        if process is not None:
            chat_load.stop(process)
        if args.keep or not ok:
            print(f"  working directory (database, server log): {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
