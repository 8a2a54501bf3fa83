"""The risk worker process lives and dies with its server: stopped with it, and gone if the server is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port


def children_of(pid: int) -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.add(int(status.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, what: str, seconds: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting: {what}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], set[int]]]:
    if not Path("/proc").exists():
        pytest.skip("needs /proc (Linux)")
    port = free_port()
    env = {**os.environ, "SAMEBOAT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    subprocess.run([sys.executable, "-m", "sameboat.cli", "db", "upgrade"], env=env, check=True, capture_output=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "sameboat.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, "the server to start")
    wait_for(lambda: len(children_of(process.pid)) >= 1, "the risk worker process to start")
    workers = children_of(process.pid)
    try:
        yield process, workers
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_stopping_the_server_stops_its_risk_worker(server) -> None:  # type: ignore[no-untyped-def]
    process, workers = server
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    wait_for(lambda: not any(alive(pid) for pid in workers), "the workers to stop with the server")


def test_a_killed_server_leaves_no_orphan_worker(server) -> None:  # type: ignore[no-untyped-def]
    process, workers = server
    process.kill()
    process.wait()
    wait_for(lambda: not any(alive(pid) for pid in workers), "the orphaned workers to exit")
