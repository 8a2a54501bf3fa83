"""Voice calls between two real Chromium pages with fake audio devices: the call connects peer to peer, audio
flows both ways (from getStats), hanging up ends it for both, the chat keeps working, and a blocked microphone
falls back to chat with a clear message."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from sameboat.demo.seed import demo_data, listener_email
from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS, DESKTOP, free_port, running_demo, shoot, sign_in

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
# Listeners already used in this session (each rests a minute after a conversation); the safety test's
# conversation with Devon stays open, so Devon is never free.
TAKEN = {"Maria", "Devon"}
BUSY = {"Devon"}
WAIT = 30_000  # generous: two browsers and a server share two cores with other jobs

SNAPSHOT = "() => window.SameboatVoice.snapshot()"


@pytest.fixture(scope="module")
def voice_browser(playwright_session):  # type: ignore[no-untyped-def]
    instance = playwright_session.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, *FAKE_MEDIA])
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def blocked_browser(playwright_session):  # type: ignore[no-untyped-def]
    """A browser where every microphone request is refused (as if the person clicked "Block")."""
    instance = playwright_session.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_FLAGS, "--use-fake-device-for-media-stream", "--deny-permission-prompts"],
    )
    yield instance
    instance.close()


def start_conversation(base: str, member_browser, listener_browser, member_email: str, situation: str, *, voice: bool):  # type: ignore[no-untyped-def]
    """Member asks (by voice or chat) and picks a free listener by name; the listener accepts the offer."""
    member_context = member_browser.new_context(viewport=DESKTOP)
    listener_context = listener_browser.new_context(viewport=DESKTOP)
    member, listener = member_context.new_page(), listener_context.new_page()
    sign_in(member, base, member_email)
    member.get_by_label("What's going on?").fill(situation)
    if voice:
        member.get_by_label("Voice call").check()
    member.get_by_role("button", name="Find someone who's been there").click()
    names = member.locator(".listener-card h2").all_inner_texts()
    # Someone not used yet if possible, else someone whose conversation has ended (after their short break).
    name = next((n for n in names if n not in TAKEN), None) or next(n for n in names if n not in BUSY)
    TAKEN.add(name)
    index = [entry["display_name"] for entry in demo_data()["listeners"]].index(name)
    sign_in(listener, base, listener_email(index, name))
    listener.get_by_role("button", name="Go online").click()
    expect(listener.locator("#presence-label")).to_contain_text("online")
    member.get_by_role("button", name=f"Talk with {name}").click()
    offer = listener.get_by_role("alertdialog")
    expect(offer).to_be_visible(timeout=90_000)  # a listener may still be resting after an earlier test
    offer.get_by_role("button", name="Accept").click()
    expect(listener).to_have_url(re.compile(r"/conversations/"))
    expect(member).to_have_url(re.compile(r"/conversations/"), timeout=WAIT)
    for page in (member, listener):
        expect(page.locator("#chat-status")).to_have_text("Connected", timeout=WAIT)
    return member, listener, name, (member_context, listener_context)


def end_conversation(member) -> None:  # type: ignore[no-untyped-def]
    """Free the listener for later tests (a listener takes one conversation at a time)."""
    if member.get_by_role("button", name="End conversation").is_visible():
        member.once("dialog", lambda dialog: dialog.accept())
        member.get_by_role("button", name="End conversation").click()
        expect(member.locator("#chat-ended")).to_be_visible(timeout=WAIT)


def snapshot(page) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
    return page.evaluate(SNAPSHOT)


def wait_for_stats(page, ok: Callable[[dict[str, Any] | None], bool], what: str) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
    """Poll the call's getStats snapshot until `ok` holds (Playwright's wait_for_function doesn't await)."""
    for _ in range(WAIT // 250):
        current = snapshot(page)
        if ok(current):
            return current
        page.wait_for_timeout(250)
    raise AssertionError(f"{what}: last snapshot {snapshot(page)}")


def wait_for_audio_growth(page, before: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Wait until both audio directions have moved on from `before` by at least a few packets."""
    after = wait_for_stats(
        page,
        lambda s: (
            s is not None
            and s["bytesSent"] > before["bytesSent"] + 10_000
            and s["bytesReceived"] > before["bytesReceived"] + 10_000
        ),
        "audio bytes should grow both ways",
    )
    assert after is not None
    return after


def chat(sender, receiver, text: str) -> None:  # type: ignore[no-untyped-def]
    sender.get_by_label("Your message").fill(text)
    sender.get_by_label("Your message").press("Enter")
    expect(receiver.locator(".msg.theirs .body").filter(has_text=text)).to_be_visible(timeout=WAIT)


def test_voice_call_connects_carries_audio_both_ways_and_hangs_up_for_both(demo_server, voice_browser) -> None:  # type: ignore[no-untyped-def]
    member, listener, name, contexts = start_conversation(
        demo_server,
        voice_browser,
        voice_browser,
        "nightowl@example.org",
        "I lost my job in the spring and I can't sleep. I'd rather talk than type tonight.",
        voice=True,
    )
    try:
        # The member asked for voice: both pages say so, and say once that nothing is recorded.
        expect(member.locator("#call-note")).to_contain_text("You asked to talk by voice")
        expect(listener.locator("#call-note")).to_contain_text("would like to talk by voice")
        expect(member.locator("#call-note")).to_contain_text("never recorded")

        member.get_by_role("button", name="Start voice call").click()
        expect(member.locator("#call-state")).to_contain_text(f"Calling {name}")
        incoming = listener.get_by_role("alertdialog", name=re.compile("is calling you"))
        expect(incoming).to_be_visible(timeout=WAIT)
        shoot(listener, "call-incoming")
        incoming.get_by_role("button", name="Accept call").click()

        # Both peer connections reach "connected", peer to peer (no STUN/TURN configured: loopback).
        for page in (member, listener):
            wait_for_stats(page, lambda s: s is not None and s["state"] == "connected", "peer connection")
        expect(member.locator("#call-state")).to_contain_text(f"On a call with {name}", timeout=WAIT)
        expect(listener.locator("#call-state")).to_contain_text("On a call with NightOwl", timeout=WAIT)
        # Audio RTP bytes flow both ways, and keep flowing.
        first = {"member": snapshot(member), "listener": snapshot(listener)}
        later = {"member": wait_for_audio_growth(member, first["member"])}
        later["listener"] = wait_for_audio_growth(listener, first["listener"])
        for side in ("member", "listener"):
            assert later[side]["bytesSent"] > first[side]["bytesSent"] > 0
            assert later[side]["bytesReceived"] > first[side]["bytesReceived"] > 0
        print("audio bytes (sent, received):", {s: (later[s]["bytesSent"], later[s]["bytesReceived"]) for s in later})
        # The quality indicator reads getStats: words, not just colour.
        expect(member.locator("#call-quality-text")).to_have_text(
            re.compile(r"Connection: (good|fair|poor)"), timeout=WAIT
        )
        expect(member.locator(".msg.notice").filter(has_text="Voice call started")).to_be_visible()

        # The chat stays usable during the call.
        chat(member, listener, "Can you hear me okay? Typing this too just in case.")
        chat(listener, member, "I can hear you clearly. Take your time.")
        # Saving private notes mid-call doesn't leave the page (which would end the call).
        listener.get_by_role("textbox", name="Notes").fill("Lost job in spring, not sleeping. Prefers voice.")
        listener.get_by_role("button", name="Save notes").click()
        expect(listener.get_by_role("status").filter(has_text="Notes saved")).to_be_visible(timeout=WAIT)
        assert snapshot(listener)["state"] == "connected"

        member.get_by_role("button", name="Mute").click()
        expect(member.get_by_role("button", name="Unmute")).to_have_attribute("aria-pressed", "true")
        expect(listener.locator("#call-state")).to_contain_text("NightOwl muted their microphone", timeout=WAIT)
        member.get_by_role("button", name="Unmute").click()
        shoot(member, "call-member")
        shoot(listener, "call-listener")

        # One side hangs up: the call ends for both, and the chat carries on.
        listener.get_by_role("button", name="Hang up").click()
        for page in (member, listener):
            expect(page.locator("#call-active")).to_be_hidden(timeout=WAIT)
            wait_for_stats(page, lambda s: s is None, "the call should be over on both sides")
            expect(page.locator(".msg.notice").filter(has_text=re.compile(r"Voice call ended after \d+ minute")))
        expect(member.get_by_role("alert").filter(has_text=f"{name} ended the call")).to_be_visible(timeout=WAIT)
        expect(member.get_by_role("button", name="Start voice call")).to_be_enabled()
        chat(member, listener, "Thank you. Back to typing is fine.")
        shoot(member, "call-ended-member")

        member.once("dialog", lambda dialog: dialog.accept())
        member.get_by_role("button", name="End conversation").click()
        expect(listener.locator(".msg.notice").last).to_contain_text("ended the conversation", timeout=WAIT)
    finally:
        for context in contexts:
            context.close()


def test_blocked_microphone_falls_back_to_chat_with_a_clear_message(
    demo_server, voice_browser, blocked_browser
) -> None:  # type: ignore[no-untyped-def]
    member, listener, name, contexts = start_conversation(
        demo_server,
        blocked_browser,
        voice_browser,
        "harbor@example.org",
        "Since I got back from deployment I can't talk to my wife about anything real.",
        voice=False,
    )
    try:
        member.get_by_role("button", name="Start voice call").click()
        blocked = member.get_by_role("alert").filter(has_text="blocked the microphone")
        expect(blocked).to_be_visible(timeout=WAIT)
        expect(blocked).to_contain_text("You can keep chatting here")
        expect(member.get_by_role("button", name="Start voice call")).to_be_enabled()
        expect(listener.get_by_role("alertdialog", name=re.compile("is calling you"))).to_have_count(0)
        chat(member, listener, "My microphone doesn't work here, can we type?")
        shoot(member, "call-blocked")

        # The listener calls instead: the member's browser can't answer, and both are told why.
        listener.get_by_role("button", name="Start voice call").click()
        incoming = member.get_by_role("alertdialog", name=re.compile("is calling you"))
        expect(incoming).to_be_visible(timeout=WAIT)
        incoming.get_by_role("button", name="Accept call").click()
        expect(member.get_by_role("alert").filter(has_text="blocked the microphone")).to_be_visible(timeout=WAIT)
        expect(listener.get_by_role("alert").filter(has_text="Harbor's microphone isn't available")).to_be_visible(
            timeout=WAIT
        )
        chat(listener, member, "Of course. Typing works just as well.")
        end_conversation(member)
    finally:
        for context in contexts:
            context.close()


def test_a_supervisor_listens_in_announced_to_both(demo_server, voice_browser) -> None:  # type: ignore[no-untyped-def]
    member, listener, name, contexts = start_conversation(
        demo_server,
        voice_browser,
        voice_browser,
        "nightowl@example.org",
        "I keep thinking about the layoffs and I'm not sleeping. Could we talk by voice?",
        voice=True,
    )
    supervisor_context = voice_browser.new_context(viewport=DESKTOP)
    supervisor = supervisor_context.new_page()
    try:
        # A supervisor joins only where there is a cause: here the listener flags a concern.
        listener.get_by_role("textbox", name="Notes").fill("Not sleeping since the layoffs; would like a check-in.")
        listener.get_by_label("I'm concerned about this member").check()
        listener.get_by_role("button", name="Save notes").click()
        expect(listener.get_by_role("status").filter(has_text="Notes saved")).to_be_visible()
        conversation_url = listener.url.split("?")[0]
        sign_in(supervisor, demo_server, "supervisor@demo.sameboat.example")
        expect(supervisor.get_by_role("heading", name="Supervisor console")).to_be_visible()
        token = supervisor.locator("input[name=csrf_token]").first.input_value()
        conversation_id = conversation_url.rsplit("/", 1)[1]
        joined = supervisor.request.post(
            f"{demo_server}/supervise/conversations/{conversation_id}/join", form={"csrf_token": token}
        )
        assert joined.ok, joined.text()
        supervisor.goto(conversation_url)
        expect(supervisor.locator("#chat-status")).to_have_text("Connected", timeout=WAIT)

        member.get_by_role("button", name="Start voice call").click()
        listener.get_by_role("alertdialog", name=re.compile("is calling you")).get_by_role(
            "button", name="Accept call"
        ).click()
        for page in (member, listener):
            wait_for_stats(page, lambda s: s is not None and s["state"] == "connected", "the call")

        supervisor.get_by_role("button", name="Listen to the call").click()
        announced = "A Sameboat supervisor is now listening to this call"
        for page in (member, listener, supervisor):
            expect(page.locator(".msg.notice").filter(has_text=announced)).to_be_visible(timeout=WAIT)
        # The supervisor receives both parties' audio (and sends none); the call between them carries on.
        for role in ("member", "listener"):
            leg = None
            for _ in range(WAIT // 250):
                leg = supervisor.evaluate("(role) => window.SameboatVoice.snapshot(role)", role)
                if leg and leg["state"] == "connected" and leg["bytesReceived"] > 10_000:
                    break
                supervisor.wait_for_timeout(250)
            else:
                raise AssertionError(f"the supervisor never heard the {role}: {leg}")
            assert leg["bytesSent"] == 0
            print(f"supervisor hears the {role}: {leg['bytesReceived']} bytes received, {leg['bytesSent']} sent")
        expect(supervisor.locator("#call-state")).to_contain_text("Listening to the call", timeout=WAIT)
        shoot(supervisor, "call-supervisor")

        supervisor.get_by_role("button", name="Stop listening").click()
        for page in (member, listener):
            expect(page.locator(".msg.notice").filter(has_text="stopped listening")).to_be_visible(timeout=WAIT)
            for _ in range(WAIT // 250):
                if page.evaluate("() => window.SameboatVoice.snapshot('supervisor')") is None:
                    break
                page.wait_for_timeout(250)
            else:
                raise AssertionError("the supervisor's connection stayed open")
            assert snapshot(page)["state"] == "connected"  # the call itself goes on
        member.get_by_role("button", name="Hang up").click()
        wait_for_stats(listener, lambda s: s is None, "the call should be over for the listener")
        end_conversation(member)
    finally:
        supervisor_context.close()
        for context in contexts:
            context.close()


@pytest.fixture(scope="module")
def relay_only_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second demo deployment that sends all call audio through TURN, with its TURN server down (nothing
    listens on that port): no route for the audio can exist."""
    dead_turn = f"turn:127.0.0.1:{free_port()}?transport=udp"
    with running_demo(
        tmp_path_factory.mktemp("relay-only"),
        SAMEBOAT_TURN_URLS=dead_turn,
        SAMEBOAT_TURN_SECRET="not-used-by-anyone",
        SAMEBOAT_TURN_RELAY_ONLY="true",
    ) as url:
        yield url


def test_a_call_that_cannot_connect_falls_back_to_chat(relay_only_server, voice_browser) -> None:  # type: ignore[no-untyped-def]
    member, listener, name, contexts = start_conversation(
        relay_only_server,
        voice_browser,
        voice_browser,
        "harbor@example.org",
        "Work is falling apart and I'm drinking more than I want to. Can we talk by voice?",
        voice=True,
    )
    try:
        member.get_by_role("button", name="Start voice call").click()
        listener.get_by_role("alertdialog", name=re.compile("is calling you")).get_by_role(
            "button", name="Accept call"
        ).click()
        expect(member.locator("#call-state")).to_have_text("Connecting…", timeout=WAIT)
        for page in (member, listener):  # both are told, in words, and the call panel closes on both sides
            failed = page.get_by_role("alert").filter(has_text="The call connection failed")
            expect(failed).to_be_visible(timeout=90_000)
            expect(failed).to_contain_text("switched back to chat")
            expect(page.locator("#call-active")).to_be_hidden()
            assert snapshot(page) is None
        shoot(member, "call-failed")
        chat(member, listener, "The call didn't work, but I'm still here.")
        end_conversation(member)
    finally:
        for context in contexts:
            context.close()
