"""Pages as a browser without JavaScript sees them: forms, CSRF, friendly errors, privacy."""

from __future__ import annotations

from sqlalchemy import func, select

from sameboat.adapters.storage.models import User
from sameboat.services import accounts
from tests.factories import PASSWORD
from tests.integration.conftest import csrf_of, sign_in_page


def test_landing_says_what_sameboat_is_not(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/").text
    assert "not therapy and not a crisis line" in page
    assert "988" in page and "741741" in page and "911" in page
    assert "https://" not in page.split("<body>")[0]  # nothing loaded from third parties
    assert "default-src 'self'" in client.get("/").headers["content-security-policy"]


def test_join_with_code_then_home(client, world, services) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/join",
        data={
            "csrf_token": csrf_of(client),
            "access_code": world.access_code,
            "pseudonym": "River Stone",
            "email": "river@example.org",
            "password": PASSWORD,
            "listener_gender": "woman",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200 and "What's going on?" in response.text
    assert "River Stone" in response.text
    with services.uow() as uow:
        user = uow.session.scalar(select(User).where(User.email == "river@example.org"))
        assert user.member_profile.preferences == {"listener_gender": "woman"}


def test_join_errors_are_friendly_and_write_nothing(client, world, services) -> None:  # type: ignore[no-untyped-def]
    def users() -> int:
        with services.uow() as uow:
            return uow.session.scalar(select(func.count()).select_from(User))

    before = users()
    for data, message in [
        ({"access_code": "WRONG-CODE"}, "couldn&#39;t find that access code"),
        ({"access_code": ""}, "access code"),
        ({"email": world.users["member"].email.upper()}, "already exists"),
        ({"password": "short"}, "at least 10 characters"),
        ({"pseudonym": "x" * 200}, "too long"),
        ({"listener_gender": "robot"}, "Listener gender"),
    ]:
        form = {
            "csrf_token": csrf_of(client),
            "access_code": world.access_code,
            "pseudonym": "New Person",
            "email": "new@example.org",
            "password": PASSWORD,
            **data,
        }
        response = client.post("/join", data=form)
        assert 400 <= response.status_code < 500, (data, response.status_code)
        assert message in response.text, (data, response.text[:2000])
        assert PASSWORD not in response.text  # never echo a password back
    assert users() == before


def test_forms_need_csrf(client, world, services) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/join",
        data={
            "access_code": world.access_code,
            "pseudonym": "No Token",
            "email": "nocsrf@example.org",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 403 and "expired" in response.text
    client.cookies.set("sameboat_csrf", "forged.value")
    response = client.post(
        "/signin", data={"email": world.users["member"].email, "password": PASSWORD, "csrf_token": "forged.value"}
    )
    assert response.status_code == 403
    with services.uow() as uow:
        assert uow.session.scalar(select(User).where(User.email == "nocsrf@example.org")) is None


def test_member_opening_admin_page_gets_friendly_403(client, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_page(client, world.users["member"].email)
    response = client.get("/admin")
    assert response.status_code == 403 and "access" in response.text
    assert client.get("/admin/sponsors").status_code == 403


def test_signed_out_visitor_is_sent_to_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/listeners", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/signin")


def test_pages_a_listener_reaches_never_show_member_emails(client, world, services) -> None:  # type: ignore[no-untyped-def]
    sign_in_page(client, world.users["listener"].email)
    member_email = world.users["member"].email
    for path in ["/listener/profile", "/listeners", f"/listeners/{world.approved_listener_id}", "/account/password"]:
        page = client.get(path)
        assert page.status_code == 200, path
        assert member_email not in page.text


def test_directory_and_profile_pages(client, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_page(client, world.users["member"].email)
    page = client.get("/listeners")
    assert "Dana" in page.text and "Robin" not in page.text  # Robin is still an applicant
    assert client.get(f"/listeners/{world.applicant_listener_id}").status_code == 404
    assert "Dana" in client.get(f"/listeners/{world.approved_listener_id}").text
    filtered = client.get("/listeners", params={"tag": "job-loss"})
    assert "Dana" not in filtered.text


def test_listener_application_and_profile_editor(client, world) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import story

    form = {
        "csrf_token": csrf_of(client),
        "email": "applicant@example.org",
        "password": PASSWORD,
        "display_name": "Jo",
        "story": story(),
        "tags": ["divorce", "co-parenting"],
        "languages": "en es",
    }
    response = client.post("/listen", data=form, follow_redirects=True)
    assert response.status_code == 200 and "Thank you for applying" in response.text
    short = client.post("/listener/profile", data={**form, "story": "too short"})
    assert short.status_code == 422 and "Tell your story" in short.text
    saved = client.post("/listener/profile", data={**form, "bio": "Divorced dad, two kids"})
    assert saved.status_code == 200 and "Your profile is saved" in saved.text


def test_admin_approves_listener_via_pages(client, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_page(client, world.users["admin"].email)
    queue = client.get("/admin/listeners")
    assert "Robin" in queue.text
    response = client.post(
        f"/admin/listeners/{world.applicant_listener_id}/status",
        data={"csrf_token": csrf_of(client), "status": "approved"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Robin" in client.get("/admin/listeners?status=approved").text
    created = client.post(
        "/admin/sponsors",
        data={"csrf_token": csrf_of(client), "name": "Lakeside University", "country": "GB", "features": ["chat"]},
        follow_redirects=True,
    )
    assert "Lakeside University" in created.text
    bad = client.post("/admin/sponsors", data={"csrf_token": csrf_of(client), "name": "Bad", "country": "Narnia"})
    assert bad.status_code == 422 and "two-letter" in bad.text


def test_password_change_and_sign_out(client, world, services) -> None:  # type: ignore[no-untyped-def]
    email = world.users["member"].email
    sign_in_page(client, email)
    wrong = client.post(
        "/account/password",
        data={"csrf_token": csrf_of(client), "current_password": "nope", "new_password": "another long password"},
    )
    assert wrong.status_code == 422
    ok = client.post(
        "/account/password",
        data={"csrf_token": csrf_of(client), "current_password": PASSWORD, "new_password": "another long password"},
    )
    assert ok.status_code == 200 and "password is changed" in ok.text
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    assert client.get("/home", follow_redirects=False).status_code == 303
    assert accounts.sign_in(services, email, "another long password", "web")


def test_sponsor_crisis_numbers_follow_country(client, services) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_member, make_sponsor

    _, code = make_sponsor(services, country="GB")
    member = make_member(services, code.code)
    sign_in_page(client, member.email)
    page = client.get("/home").text
    assert "116 123" in page and "999" in page


def test_what_is_going_on_suggests_listeners(client, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_page(client, world.users["member"].email)
    short = client.post("/home", data={"csrf_token": csrf_of(client), "situation": "sad"})
    assert short.status_code == 422 and "a little more" in short.text
    page = client.post(
        "/home",
        data={"csrf_token": csrf_of(client), "situation": "My wife left in March and the divorce is tearing me apart"},
    )
    assert page.status_code == 200 and "Dana" in page.text


def test_forms_carry_the_token_a_browser_needs(client, world) -> None:  # type: ignore[no-untyped-def]
    import re

    page = client.get("/join").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert token == client.cookies["sameboat_csrf"]
    response = client.post(
        "/join",
        data={
            "csrf_token": token,
            "access_code": world.access_code,
            "pseudonym": "Form Token",
            "email": "formtoken@example.org",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
