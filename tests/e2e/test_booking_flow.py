"""Booking in real Chromium: a listener sets weekly times; a member in London books, moves and cancels."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, shoot, sign_in
from tests.e2e.test_talk_now import MEMBER

LISTENER = "maria.1@listeners.demo.sameboat.example"


def test_listener_sets_weekly_times(demo_server, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=DESKTOP, timezone_id="America/Chicago")
    page = context.new_page()
    try:
        sign_in(page, demo_server, LISTENER)
        page.get_by_role("link", name="Availability").click()
        expect(page.get_by_role("heading", name="When you can take booked sessions")).to_be_visible()
        page.get_by_label("Sunday, range 1, from").fill("08:00")
        page.get_by_label("Sunday, range 1, to").fill("10:00")
        page.get_by_role("button", name="Save my times").click()
        expect(page.get_by_role("status")).to_contain_text("Saved")
        expect(page.get_by_label("Sunday, range 1, from")).to_have_value("08:00")
        shoot(page, "availability")
        # A range that ends before it starts is refused with a reason, and nothing changes.
        page.get_by_label("Monday, range 2, from").fill("22:00")
        page.get_by_label("Monday, range 2, to").fill("21:00")
        page.get_by_role("button", name="Save my times").click()
        expect(page.get_by_role("alert")).to_contain_text("Monday: the end must be after the start")
    finally:
        context.close()


def test_member_books_moves_and_cancels_in_their_own_time_zone(demo_server, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=DESKTOP, timezone_id="Europe/London")
    page = context.new_page()
    try:
        sign_in(page, demo_server, MEMBER)
        page.get_by_label("What's going on?").fill("I lost my job last month and I can't stop worrying about money.")
        page.get_by_role("button", name="Find someone who's been there").click()
        page.get_by_role("link", name="Book a time").first.click()
        heading = page.get_by_role("heading", name=re.compile("Book a time with"))
        expect(heading).to_be_visible()
        # The page reloads itself once in the device's zone.
        expect(page.locator("#book")).to_have_attribute("data-zone", "Europe/London")
        expect(page.get_by_text("Times shown in Europe/London")).to_be_visible()
        listener_name = heading.inner_text().removeprefix("Book a time with ")
        # A week of days with free times first; the rest one link away.
        expect(page.locator(".slot-day")).to_have_count(7)
        shoot(page, "book-a-time")
        page.get_by_role("link", name=re.compile("Show later times")).click()
        expect(page.locator("#book")).to_have_attribute("data-zone", "Europe/London")
        assert page.locator(".slot-day").count() > 7

        page.locator(".slot").first.click()
        page.get_by_label(re.compile("Anything .* should know first")).fill("Money worries since the layoff.")
        page.get_by_role("button", name="Book this time").click()
        expect(page.get_by_role("status")).to_contain_text("Booked")
        booked = page.locator(".booking").filter(has_text=listener_name)
        expect(booked).to_have_count(1)
        first_time = booked.get_by_role("heading").inner_text()
        expect(page.locator(".badge")).to_be_visible()  # the confirmation is waiting in Notices
        shoot(page, "bookings")

        booked.get_by_role("link", name="Move").click()
        expect(page.get_by_role("heading", name=f"Move your session with {listener_name}")).to_be_visible()
        page.locator(".slot").nth(1).click()
        page.get_by_role("button", name="Move to this time").click()
        expect(page.get_by_role("status")).to_contain_text("Moved")
        moved = page.locator(".booking").filter(has_text=listener_name)
        expect(moved).to_have_count(1)
        assert moved.get_by_role("heading").inner_text() != first_time

        page.get_by_role("link", name=re.compile("Notices")).click()
        expect(page.get_by_role("heading", name=f"Booked: Sameboat session with {listener_name}").first).to_be_visible()
        shoot(page, "notices")

        page.get_by_role("link", name="Bookings").click()
        page.locator(".booking").filter(has_text=listener_name).get_by_role("button", name="Cancel").click()
        expect(page.get_by_role("status")).to_contain_text("Cancelled")
        expect(page.locator(".past-bookings")).to_contain_text("cancelled by you")
    finally:
        context.close()
