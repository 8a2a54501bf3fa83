"""A member's history, a next-step check-in, deleting a conversation, the library, and a listener sharing a
resource in the chat, in real Chromium against a real `sameboat serve` whose database holds some past."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from sameboat.demo.seed import listener_email
from tests.conftest import FakeClock
from tests.e2e.conftest import DESKTOP, running_demo, shoot, sign_in

MEMBER = "nightowl@example.org"
DEVON = listener_email(1, "Devon")
PRIYA = listener_email(2, "Priya")


def seed_past(database_url: str) -> None:
    """Conversations from the last few days, through the real services on a clock set in the past."""
    from sqlalchemy import select

    from sameboat.adapters.storage.models import User
    from sameboat.bootstrap import bootstrap
    from sameboat.services import aftercare, conversations, next_steps
    from sameboat.services.conversations import open_conversation
    from sameboat.settings import Settings

    clock = FakeClock(datetime.now(UTC) - timedelta(days=6))
    runtime = bootstrap(Settings(database_url=database_url), clock=clock)
    ctx = runtime.services
    try:
        with ctx.uow() as uow:
            found = uow.session.scalars(select(User).where(User.email.in_([MEMBER, DEVON, PRIYA])))
            users = {u.email: u for u in found}
        member, devon, priya = users[MEMBER], users[DEVON], users[PRIYA]

        def talk(listener, lines, minutes, end=True):  # type: ignore[no-untyped-def]
            with ctx.uow() as uow:
                c = open_conversation(ctx, uow.session, member_id=member.id, listener_id=listener.id, request_id=None)
            for n, line in enumerate(lines):
                conversations.store_message(ctx, c.id, member if n % 2 == 0 else listener, f"s{n}", line)
            clock.advance(minutes=minutes)
            if end:
                conversations.end(ctx, c.id, member)
            return c.id

        first = talk(devon, ["I can't sleep since the layoff.", "That's so common after a shock. I'm here."], 34)
        step = next_steps.draft("Call my sister this week", "2d", "", clock.now, None)
        aftercare.give_feedback(ctx, member, first, felt_heard=5, would_talk_again=True, next_step=step)
        clock.advance(days=1)
        talk(devon, ["Quick one: the interview went badly.", "Tell me what happened."], 12)
        clock.advance(days=1)
        earlier = talk(priya, ["My dad is getting worse.", "Caring for a parent is a lot."], 25)
        aftercare.save_note(ctx, priya, earlier, "Dad has dementia; she does nights alone. Ask about respite.", False)
        clock.advance(days=3)
        talk(priya, [], 0, end=False)  # going on now: Priya is about to share something
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_demo(tmp_path_factory.mktemp("continuity"), before_serve=seed_past) as base:
        yield base


def test_member_history_next_step_delete_and_library(server, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        sign_in(page, server, MEMBER)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
        expect(page.get_by_role("heading", name="Your conversations")).to_be_visible()
        items = page.locator(".history-item")
        expect(items).to_have_count(4)
        expect(items.first).to_contain_text("going on now")
        expect(items.filter(has_text="Devon").first).to_contain_text("12 min")
        expect(page.get_by_text("Call my sister this week")).to_be_visible()
        expect(page.locator(".person").filter(has_text="Devon")).to_contain_text("★ Favourite")
        expect(page.get_by_role("link", name="Book a time with Devon")).to_be_visible()
        shoot(page, "history")

        # The check-in on the step set with Devon five days ago.
        page.get_by_role("link", name="Tell us how it went").click()
        expect(page.get_by_role("heading", name="How did your next step go?")).to_be_visible()
        expect(page.locator(".situation")).to_have_text("Call my sister this week")
        shoot(page, "next-step-check-in")
        page.get_by_text("Partly").click()
        page.get_by_label("Anything you'd like to add?").fill("We texted. A call is next.")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
        expect(page.get_by_text("Devon will see this at the start of your next conversation.")).to_be_visible()

        # Delete the 12-minute conversation with Devon, after the confirmation step.
        page.goto(server + "/history")
        short = page.locator(".history-item").filter(has_text="12 min")
        short.get_by_role("link", name=re.compile("^Delete")).click()
        expect(page.get_by_role("heading", name="Delete your conversation with Devon?")).to_be_visible()
        expect(page.get_by_text("keeps their own private note")).to_be_visible()
        shoot(page, "history-delete-confirm")
        page.get_by_role("button", name="Delete for good").click()
        expect(page.get_by_role("status").filter(has_text="Deleted.")).to_be_visible()
        expect(page.locator(".history-item")).to_have_count(3)
        expect(page.locator(".history-item").filter(has_text="12 min")).to_have_count(0)

        # The library: filter by topic, open an exercise.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Resources").click()
        expect(page.get_by_role("heading", name="Library", exact=True)).to_be_visible()
        page.get_by_role("link", name="Health", exact=True).click()
        expect(page.get_by_role("link", name="Co-parenting messages that keep the peace")).to_have_count(0)
        page.get_by_role("link", name="Box breathing").click()
        expect(page.get_by_role("heading", name="Box breathing", level=1)).to_be_visible()
        expect(page.get_by_role("heading", name="How to do it")).to_be_visible()
        shoot(page, "resource")
        page.goto(server + "/resources")
        shoot(page, "resources")
        page.goto(server + "/resources/when-it-feels-like-too-much")
        expect(page.locator(".crisis-card")).to_contain_text("988")
        shoot(page, "resource-crisis")
    finally:
        context.close()


def test_listener_sees_own_notes_and_shares_a_resource(server, browser) -> None:  # type: ignore[no-untyped-def]
    listener_context = browser.new_context(viewport=DESKTOP)
    member_context = browser.new_context(viewport=DESKTOP)
    listener, member = listener_context.new_page(), member_context.new_page()
    try:
        sign_in(member, server, MEMBER)
        member.goto(server + "/history")
        member.locator(".history-item").first.get_by_role("link", name="Open conversation").click()
        expect(member.locator("#chat-status")).to_have_text("Connected")

        sign_in(listener, server, PRIYA)
        url = member.url
        listener.goto(url)
        expect(listener.locator("#chat-status")).to_have_text("Connected")
        earlier = listener.locator(".earlier")
        expect(earlier).to_contain_text("Dad has dementia; she does nights alone.")
        expect(earlier).not_to_contain_text("sister")  # Devon's step is not Priya's business
        listener.get_by_text("Share something from the library").click()
        listener.get_by_label("Resource").select_option("caregiver-check-in")
        listener.get_by_role("button", name="Share in the chat").click()
        expect(listener.locator("#share-status")).to_have_text("Shared.")
        card = member.locator(".msg.resource-share")
        expect(card).to_contain_text("Priya shared")
        expect(card.get_by_role("link", name="A five-minute check-in for caregivers")).to_have_attribute(
            "href", "/resources/caregiver-check-in"
        )
        expect(listener.locator(".msg.resource-share")).to_contain_text("You shared")
        shoot(listener, "conversation-listener-continuity")
        shoot(member, "conversation-member-resource")
    finally:
        listener_context.close()
        member_context.close()
