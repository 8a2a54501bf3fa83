"""A member and a listener in two real Chromium pages: request, offer, accept, chat both ways, end, feedback."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import shoot, sign_in

MEMBER = "bluejay@example.org"
LISTENER = "maria.1@listeners.demo.sameboat.example"


def test_member_and_listener_talk(demo_server, browser) -> None:  # type: ignore[no-untyped-def]
    listener_context = browser.new_context(viewport={"width": 1280, "height": 900})
    member_context = browser.new_context(viewport={"width": 1280, "height": 900})
    listener = listener_context.new_page()
    member = member_context.new_page()
    try:
        sign_in(listener, demo_server, LISTENER)
        expect(listener.get_by_role("heading", name="Listener console")).to_be_visible()
        listener.get_by_role("button", name="Go online").click()
        expect(listener.locator("#presence-label")).to_contain_text("online")

        sign_in(member, demo_server, MEMBER)
        member.get_by_label("What's going on?").fill(
            "My marriage is ending after twelve years and I don't know how to tell the kids."
        )
        member.get_by_role("button", name="Find someone who's been there").click()
        member.get_by_role("button", name="Connect me with the best available").click()
        expect(member.get_by_role("heading", name="Finding someone who's been there…")).to_be_visible()
        shoot(member, "waiting-room")

        offer = listener.get_by_role("alertdialog")
        expect(offer).to_be_visible(timeout=15000)
        expect(offer).to_contain_text("My marriage is ending")
        expect(offer.locator(".offer-countdown")).to_contain_text("seconds left")
        shoot(listener, "console-offer")
        offer.get_by_role("button", name="Accept").click()

        expect(listener).to_have_url(re.compile(r"/conversations/"))
        expect(member).to_have_url(re.compile(r"/conversations/"), timeout=15000)
        expect(member.locator("#chat-status")).to_have_text("Connected")
        expect(listener.locator("#chat-status")).to_have_text("Connected")

        member.get_by_label("Your message").fill("Hi. I don't really know where to start.")
        member.get_by_label("Your message").press("Enter")
        expect(listener.locator(".msg.theirs .body")).to_have_text("Hi. I don't really know where to start.")
        listener.get_by_label("Your message").fill("That's okay. Start anywhere. I'm here.")
        listener.get_by_role("button", name="Send").click()
        expect(member.locator(".msg.theirs .body")).to_have_text("That's okay. Start anywhere. I'm here.")
        expect(member.locator(".msg.mine").first).to_have_class(re.compile("seen"))  # read receipt
        expect(member.get_by_role("link", name=re.compile("In crisis"))).to_be_visible()
        shoot(member, "chat-member")
        shoot(listener, "chat-listener")

        listener.get_by_role("textbox", name="Notes").fill("Separated, two kids. Follow up about telling the kids.")
        listener.get_by_role("button", name="Save notes").click()
        expect(listener.get_by_role("status").filter(has_text="Notes saved")).to_be_visible()
        expect(listener.locator(".msg.theirs .body")).to_have_text("Hi. I don't really know where to start.")

        member.once("dialog", lambda dialog: dialog.accept())
        member.get_by_role("button", name="End conversation").click()
        expect(member.get_by_role("link", name="Tell us how it went")).to_be_visible()
        expect(listener.locator(".msg.notice").last).to_contain_text("ended the conversation")
        member.get_by_role("link", name="Tell us how it went").click()
        member.get_by_text("Mostly").click()
        member.get_by_text("Yes, save them as a favourite").click()
        shoot(member, "feedback")
        member.get_by_role("button", name="Send").click()
        expect(member.get_by_role("heading", name="Thank you")).to_be_visible()
    finally:
        listener_context.close()
        member_context.close()
