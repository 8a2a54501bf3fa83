"""A high-risk message: the member sees crisis resources, the listener the protocol card, and a supervisor in a
third Chromium page sees the alert, acknowledges it and joins the conversation."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from sameboat.demo.seed import demo_data, listener_email
from tests.e2e.conftest import shoot, sign_in


def test_high_risk_message_reaches_a_supervisor(demo_server, browser) -> None:  # type: ignore[no-untyped-def]
    member_email = "maple@example.org"  # a demo member with no listener preferences
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3)]
    supervisor, listener, member = (c.new_page() for c in contexts)
    try:
        sign_in(supervisor, demo_server, "supervisor@demo.sameboat.example")
        expect(supervisor.get_by_role("heading", name="Supervisor console")).to_be_visible()

        # Not Maria: the talk-now test uses her, and each listener rests a minute between conversations.
        second = demo_data()["listeners"][1]
        sign_in(listener, demo_server, listener_email(1, second["display_name"]))
        listener.get_by_role("button", name="Go online").click()
        expect(listener.locator("#presence-label")).to_contain_text("online")

        sign_in(member, demo_server, member_email)
        member.get_by_label("What's going on?").fill("My wife left and I've been struggling to keep going.")
        member.get_by_role("button", name="Find someone who's been there").click()
        member.get_by_role("button", name="Connect me with the best available").click()
        offer = listener.get_by_role("alertdialog")
        expect(offer).to_be_visible(timeout=15000)
        offer.get_by_role("button", name="Accept").click()
        expect(member).to_have_url(re.compile(r"/conversations/"), timeout=15000)
        expect(member.locator("#chat-status")).to_have_text("Connected")
        expect(listener.locator("#chat-status")).to_have_text("Connected")

        member.get_by_label("Your message").fill(
            "I can't do this anymore. I've saved up my pills and I'm going to take them all tonight."
        )
        member.get_by_label("Your message").press("Enter")

        expect(member.locator(".safety-card.resources")).to_contain_text("988", timeout=10000)
        expect(member.locator(".safety-card.resources")).to_contain_text("741741")
        expect(member.locator(".safety-card.protocol")).to_have_count(0)
        expect(listener.locator(".safety-card.protocol")).to_contain_text(
            "Are you thinking about suicide", timeout=10000
        )
        shoot(member, "risk-member")
        shoot(listener, "risk-listener")

        alert_card = supervisor.locator(".alert-card.status-open").first
        expect(alert_card).to_be_visible(timeout=15000)
        expect(supervisor).to_have_title(re.compile(r"^\(1\) Supervise"))
        expect(alert_card).to_contain_text(re.compile("HIGH|IMMINENT"))
        shoot(supervisor, "supervisor-alert")
        alert_card.get_by_role("button", name="Acknowledge").click()
        expect(supervisor.locator(".alert-card.status-acknowledged").first).to_be_visible()
        supervisor.locator(".alert-card").first.get_by_role("button", name="Join conversation").click()
        expect(supervisor).to_have_url(re.compile(r"/conversations/"))
        expect(supervisor.locator("#chat-status")).to_have_text("Connected")
        joined = "A Sameboat supervisor has joined to support you both."
        expect(member.locator(".msg.notice").filter(has_text=joined)).to_be_visible(timeout=10000)
        expect(listener.locator(".msg.notice").filter(has_text=joined)).to_be_visible(timeout=10000)
        supervisor.get_by_label("Your message").fill("Hi, I'm here with you both. You're not alone tonight.")
        supervisor.get_by_label("Your message").press("Enter")
        expect(member.locator(".msg.theirs .body").last).to_have_text(
            "Hi, I'm here with you both. You're not alone tonight."
        )
        shoot(supervisor, "supervisor-joined")
    finally:
        for context in contexts:
            context.close()
