from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from sameboat.adapters.mail import SmtpMailer
from sameboat.bootstrap import Runtime
from sameboat.settings import Settings
from sameboat.web.app import create_app
from tests.factories import PASSWORD, World, make_world


@pytest.fixture
def app(settings: Settings, runtime: Runtime):  # type: ignore[no-untyped-def]
    return create_app(settings, runtime)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def world(services) -> World:  # type: ignore[no-untyped-def]
    return make_world(services)


def api_token(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def csrf_of(client: TestClient) -> str:
    """The CSRF token this browser holds (set on its first page view)."""
    if "sameboat_csrf" not in client.cookies:
        client.get("/")
    return client.cookies["sameboat_csrf"]


def sign_in_page(client: TestClient, email: str, password: str = PASSWORD) -> None:
    response = client.post(
        "/signin", data={"email": email, "password": password, "csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def chat_with_sponsor(services):  # type: ignore[no-untyped-def]
    """A live conversation between a member (with a sponsor) and a listener, and an API token for each."""
    from sameboat.services import accounts
    from sameboat.services.conversations import open_conversation
    from tests.factories import make_listener, make_member, make_sponsor

    sponsor, code = make_sponsor(services)
    member = make_member(services, code.code, pseudonym="Quiet Harbor")
    listener = make_listener(services, name="Dana")
    with services.uow() as uow:
        conversation = open_conversation(
            services, uow.session, member_id=member.id, listener_id=listener.id, request_id=None
        )
    tokens = {
        "member": accounts.start_session(services, member.id, "api"),
        "listener": accounts.start_session(services, listener.id, "api"),
    }
    return conversation.id, member, listener, tokens, sponsor


class Inbox:
    """A real SMTP server on loopback that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["X-Envelope-To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpMailer]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, SmtpMailer(host="127.0.0.1", port=port, from_address="Sameboat <hello@sameboat.test>")
    finally:
        controller.stop()
