"""A real `sameboat` server (demo data on SQLite) and real headless Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from sameboat.demo.seed import DEMO_PASSWORD
from tests.conftest import missing_service

CHROMIUM = os.environ.get("SAMEBOAT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_demo(workdir: Path, before_serve: Callable[[str], None] | None = None, **env_extra: str) -> Iterator[str]:
    """`sameboat demo --no-serve` then `sameboat serve`, as a user would run them (with extra settings if asked,
    and ``before_serve(database_url)`` to add to the demo data first)."""
    database = workdir / "demo.sqlite3"
    port = free_port()
    env = {
        **os.environ,
        "SAMEBOAT_DATABASE_URL": f"sqlite:///{database}",
        "PYTHONUNBUFFERED": "1",
        **env_extra,
    }
    subprocess.run(
        [sys.executable, "-m", "sameboat.cli", "demo", "--no-serve", "--database", str(database)],
        check=True,
        env=env,
        cwd=workdir,
        capture_output=True,
    )
    if before_serve is not None:
        before_serve(env["SAMEBOAT_DATABASE_URL"])
    log = open(workdir / "server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "sameboat.cli", "serve", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
        if server.poll() is not None:
            raise RuntimeError((workdir / "server.log").read_text())
    else:
        server.kill()
        raise RuntimeError("server did not start: " + (workdir / "server.log").read_text())
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_demo(tmp_path_factory.mktemp("demo")) as url:
        yield url


@pytest.fixture(scope="session")
def playwright_session():  # type: ignore[no-untyped-def]
    """One Playwright per session (the sync API allows only one at a time); tests may launch more browsers."""
    if not Path(CHROMIUM).exists():
        missing_service(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_session):  # type: ignore[no-untyped-def]
    instance = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield instance
    instance.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Save a full-page screenshot at desktop and phone widths, and check nothing scrolls sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {label} width"
    page.set_viewport_size(original)


def sign_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
