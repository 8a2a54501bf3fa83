from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

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
