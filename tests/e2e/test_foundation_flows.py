"""A new member joins, browses and opens a profile; an admin approves a listener. Real Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from sameboat.demo.seed import DEMO_ACCESS_CODE, DEMO_PASSWORD
from tests.e2e.conftest import shoot


def test_member_joins_with_code_sees_directory_and_opens_a_profile(demo_server, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(demo_server + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("same boat")
    expect(page.get_by_text("not therapy and not a crisis line")).to_be_visible()
    shoot(page, "landing")
    page.get_by_role("link", name="Join with your access code").click()
    page.get_by_label("Access code").fill("WRONG-CODE")
    page.get_by_label("The name listeners will see").fill("Morning Walker")
    page.get_by_label("Email").fill("morning.walker@example.org")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("alert")).to_contain_text("couldn't find that access code")
    shoot(page, "join-error")
    page.get_by_label("Access code").fill(DEMO_ACCESS_CODE)
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_text("Welcome, Morning Walker")).to_be_visible()
    expect(page.get_by_role("heading", name="What's going on?")).to_be_visible()
    shoot(page, "home")
    page.get_by_label("What's going on?").fill(
        "My husband and I separated in the spring and I'm trying to co-parent our two kids across two homes."
    )
    page.get_by_role("button", name="Find someone who's been there").click()
    expect(page.get_by_role("heading", name="People who've been there")).to_be_visible()
    shoot(page, "matches")
    page.get_by_role("link", name="Listeners", exact=True).click()
    expect(page.get_by_role("heading", name="Our listeners")).to_be_visible()
    count = int(page.get_by_role("status").inner_text().split()[0])
    assert count >= 40
    shoot(page, "directory")
    page.get_by_role("combobox", name="Lived experience").select_option("divorce")
    page.get_by_role("button", name="Show listeners").click()
    filtered = int(page.get_by_role("status").inner_text().split()[0])
    assert 0 < filtered < count
    first = page.locator(".listener-card h2 a").first
    name = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("heading", name="In their own words")).to_be_visible()
    assert "@" not in page.locator("main").inner_text()  # no emails anywhere on a profile
    shoot(page, "listener-profile")
    # Keyboard: the skip link is the first stop and moves focus to the content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_admin_signs_in_and_approves_a_listener(demo_server, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(demo_server + "/signin")
    page.get_by_label("Email").fill("admin@demo.sameboat.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()
    shoot(page, "admin-dashboard")
    page.get_by_role("link", name="Review applications").click()
    cards = page.locator("li.card")
    expect(cards.first).to_be_visible()
    applicant = cards.first.locator("h2").inner_text()
    shoot(page, "admin-review")
    page.get_by_role("button", name=f"Approve {applicant}").click()
    expect(page.get_by_role("status")).to_contain_text(f"{applicant} updated")
    page.get_by_role("link", name="Approved").click()
    expect(page.get_by_role("heading", name=applicant)).to_be_visible()
    page.goto(demo_server + "/admin/sponsors")
    expect(page.get_by_role("link", name=re.compile("Riverbend"))).to_be_visible()
    shoot(page, "admin-sponsors")
    # The sponsor page lists its access code and lets the admin create another.
    page.get_by_role("link", name=re.compile("Riverbend")).click()
    page.get_by_label("Label").fill("Night shift")
    page.get_by_label("Seat limit").fill("25")
    page.get_by_role("button", name="Create code").click()
    expect(page.get_by_role("status")).to_contain_text("Access code created")
    expect(page.get_by_role("cell", name="Night shift")).to_be_visible()
    shoot(page, "admin-sponsor")


def test_listener_edits_profile(demo_server, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(demo_server + "/signin")
    page.get_by_label("Email").fill("maria.1@listeners.demo.sameboat.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Listener console")).to_be_visible()
    page.get_by_role("link", name="My profile").click()
    expect(page.get_by_role("heading", name="My listener profile")).to_be_visible()
    page.get_by_label("One line about you").fill("Here for anyone whose marriage is ending.")
    page.get_by_role("button", name="Save my profile").click()
    expect(page.get_by_role("status")).to_contain_text("Your profile is saved")
    shoot(page, "listener-editor")
