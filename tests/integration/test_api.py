"""The REST API: tokens, the directory, privacy, problem+json errors."""

from __future__ import annotations

from sqlalchemy import func, select

from sameboat.adapters.storage.models import ListenerProfile, Sponsor, User
from tests.factories import PASSWORD
from tests.integration.conftest import api_token


def test_member_lists_only_approved_listeners_and_never_emails(client, world) -> None:  # type: ignore[no-untyped-def]
    headers = api_token(client, world.users["member"].email)
    body = client.get("/api/v1/listeners", headers=headers).json()
    ids = [listener["id"] for listener in body["listeners"]]
    assert world.approved_listener_id in ids and world.applicant_listener_id not in ids
    text = client.get("/api/v1/listeners", headers=headers).text
    for user in world.users.values():
        assert user.email not in text
    assert "@" not in text
    assert client.get(f"/api/v1/listeners/{world.applicant_listener_id}", headers=headers).status_code == 404


def test_listener_filters(client, world, services) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_listener

    make_listener(services, name="Lucia", tags=["grief-parent"], languages=["en", "es"], gender="woman")
    headers = api_token(client, world.users["member"].email)
    by_language = client.get("/api/v1/listeners", params={"language": "es"}, headers=headers).json()
    assert [x["display_name"] for x in by_language["listeners"]] == ["Lucia"]
    # A parent tag finds listeners tagged with its children.
    by_tag = client.get("/api/v1/listeners", params={"tag": "grief"}, headers=headers).json()
    assert [x["display_name"] for x in by_tag["listeners"]] == ["Lucia"]
    bad = client.get("/api/v1/listeners", params={"gender": "robot"}, headers=headers)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["field"] == "gender"


def test_errors_are_problem_json(client, world) -> None:  # type: ignore[no-untyped-def]
    no_token = client.get("/api/v1/listeners")
    assert no_token.status_code == 401 and no_token.json()["title"] == "Please sign in"
    bad_token = client.get("/api/v1/listeners", headers={"Authorization": "Bearer nonsense"})
    assert bad_token.status_code == 401
    wrong = client.post("/api/v1/auth/token", json={"email": world.users["member"].email, "password": "nope"})
    assert wrong.status_code == 401
    malformed = client.post("/api/v1/members", content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 400 and malformed.headers["content-type"] == "application/problem+json"
    oversize = client.post("/api/v1/members", json={"email": "a@b.org", "password": PASSWORD, "pseudonym": "x" * 500})
    assert oversize.status_code == 422 and oversize.json()["errors"][0]["field"] == "pseudonym"
    empty = client.post("/api/v1/members", json={})
    assert empty.status_code == 422 and {e["field"] for e in empty.json()["errors"]} >= {"email", "password"}
    unknown_field = client.post(
        "/api/v1/sponsors", json={"name": "X", "evil": 1}, headers=api_token(client, world.users["admin"].email)
    )
    assert unknown_field.status_code == 422


def test_member_sign_up_over_api(client, world, services) -> None:  # type: ignore[no-untyped-def]
    ok = client.post(
        "/api/v1/members",
        json={
            "email": "api@example.org",
            "password": PASSWORD,
            "pseudonym": "Api Person",
            "access_code": world.access_code,
        },
    )
    assert ok.status_code == 201
    dup = client.post(
        "/api/v1/members",
        json={
            "email": "API@example.org",
            "password": PASSWORD,
            "pseudonym": "Other Person",
            "access_code": world.access_code,
        },
    )
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "email"
    wrong_code = client.post(
        "/api/v1/members",
        json={"email": "b@example.org", "password": PASSWORD, "pseudonym": "Bee Person", "access_code": "WRONG-CODE"},
    )
    assert wrong_code.status_code == 422 and wrong_code.json()["errors"][0]["field"] == "access_code"
    with services.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(User).where(User.email == "b@example.org")) == 0


def test_admin_creates_sponsor_code_and_approves(client, world, services) -> None:  # type: ignore[no-untyped-def]
    admin = api_token(client, world.users["admin"].email)
    sponsor = client.post(
        "/api/v1/sponsors",
        json={"name": "Acme Health", "country": "CA", "minutes_budget": 500, "features": ["chat", "voice"]},
        headers=admin,
    )
    assert sponsor.status_code == 201
    sid = sponsor.json()["id"]
    code = client.post(f"/api/v1/sponsors/{sid}/access-codes", json={"seat_limit": 2, "label": "Pilot"}, headers=admin)
    assert code.status_code == 201 and code.json()["seat_limit"] == 2
    dup = client.post("/api/v1/sponsors", json={"name": "Acme Health"}, headers=admin)
    assert dup.status_code == 409
    bad_feature = client.post("/api/v1/sponsors", json={"name": "Other", "features": ["teleport"]}, headers=admin)
    assert bad_feature.status_code == 422
    with services.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Sponsor).where(Sponsor.name == "Other")) == 0
    approve = client.post(
        f"/api/v1/listeners/{world.applicant_listener_id}/status", json={"status": "approved"}, headers=admin
    )
    assert approve.status_code == 200
    # Suspended listeners must go back to review before approval.
    client.post(f"/api/v1/listeners/{world.applicant_listener_id}/status", json={"status": "suspended"}, headers=admin)
    illegal = client.post(
        f"/api/v1/listeners/{world.applicant_listener_id}/status", json={"status": "approved"}, headers=admin
    )
    assert illegal.status_code == 422
    unknown = client.post("/api/v1/listeners/nope/status", json={"status": "approved"}, headers=admin)
    assert unknown.status_code == 404


def test_sponsor_admin_sees_only_own_sponsor(client, world) -> None:  # type: ignore[no-untyped-def]
    headers = api_token(client, world.users["sponsor_admin"].email)
    own = client.get(f"/api/v1/sponsors/{world.sponsor_id}", headers=headers)
    assert own.status_code == 200 and own.json()["members"] == 1
    other = client.get(f"/api/v1/sponsors/{world.other_sponsor_id}", headers=headers)
    assert other.status_code == 403


def test_listener_edits_only_own_profile(client, world, services) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_listener, story

    other = make_listener(services, name="Other")
    headers = api_token(client, world.users["listener"].email)
    body = {"display_name": "Dana B", "story": story("job loss"), "tags": ["job-loss"], "languages": ["en", "fr"]}
    assert (
        client.put(f"/api/v1/listeners/{world.approved_listener_id}/profile", json=body, headers=headers).status_code
        == 200
    )
    assert client.put(f"/api/v1/listeners/{other.id}/profile", json=body, headers=headers).status_code == 403
    unknown_tag = client.put(
        f"/api/v1/listeners/{world.approved_listener_id}/profile", json={**body, "tags": ["made-up"]}, headers=headers
    )
    assert unknown_tag.status_code == 422 and unknown_tag.json()["errors"][0]["field"] == "tags"
    with services.uow() as uow:
        assert uow.session.get(ListenerProfile, other.id).display_name == "Other"
        assert uow.session.get(ListenerProfile, world.approved_listener_id).tags == ["job-loss"]


def test_listener_application_and_taxonomy_extension(client, world) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import story

    application = client.post(
        "/api/v1/listener-applications",
        json={
            "email": "newlistener@example.org",
            "password": PASSWORD,
            "display_name": "Kim",
            "story": story(),
            "tags": ["divorce"],
            "languages": ["en"],
        },
    )
    assert application.status_code == 201 and application.json()["status"] == "applicant"
    admin = api_token(client, world.users["admin"].email)
    tag = client.post(
        "/api/v1/taxonomy/tags",
        json={"id": "long-covid", "label": "Long COVID", "parent": "chronic-illness", "synonyms": ["long covid"]},
        headers=admin,
    )
    assert tag.status_code == 201, tag.text
    tags = {t["id"] for t in client.get("/api/v1/taxonomy").json()["tags"]}
    assert "long-covid" in tags
    assert (
        client.post("/api/v1/taxonomy/tags", json={"id": "long-covid", "label": "Again"}, headers=admin).status_code
        == 409
    )
    assert client.post("/api/v1/taxonomy/tags", json={"id": "x y", "label": "Bad id"}, headers=admin).status_code == 422


def test_me_and_openapi(client, world) -> None:  # type: ignore[no-untyped-def]
    headers = api_token(client, world.users["member"].email)
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["role"] == "member" and "support.request" in me["permissions"]
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/listeners" in spec["paths"]


def test_admin_creates_users_and_unknown_role_is_refused(client, world, services) -> None:  # type: ignore[no-untyped-def]
    admin = api_token(client, world.users["admin"].email)
    ok = client.post(
        "/api/v1/users", json={"email": "sup2@example.org", "password": PASSWORD, "role": "supervisor"}, headers=admin
    )
    assert ok.status_code == 201 and ok.json()["role"] == "supervisor"
    unknown = client.post(
        "/api/v1/users", json={"email": "x@example.org", "password": PASSWORD, "role": "wizard"}, headers=admin
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "role"
    no_sponsor = client.post(
        "/api/v1/users", json={"email": "y@example.org", "password": PASSWORD, "role": "sponsor_admin"}, headers=admin
    )
    assert no_sponsor.status_code == 422
    with services.uow() as uow:
        assert (
            uow.session.scalar(
                select(func.count()).select_from(User).where(User.email.in_(["x@example.org", "y@example.org"]))
            )
            == 0
        )
