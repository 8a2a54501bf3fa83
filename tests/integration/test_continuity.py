"""Continuity on both engines: history and deleting from it, a listener's own earlier notes, next steps with
their check-in on a fake clock, and sharing library resources in the chat."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sameboat.adapters.storage.models import (
    Alert,
    Conversation,
    ConversationEvent,
    Feedback,
    ListenerNote,
    NextStep,
    Notification,
    Sponsor,
    User,
)
from sameboat.services import accounts, aftercare, continuity, conversations, notifications
from sameboat.services.conversations import open_conversation
from tests.factories import make_listener, make_member, make_sponsor
from tests.integration.conftest import csrf_of, sign_in_page


def talk(services, clock, member, listener, *lines: str, minutes: int = 20, end: bool = True) -> str:  # type: ignore[no-untyped-def]
    """A conversation with a few messages from both, ended after ``minutes`` (on the fake clock)."""
    with services.uow() as uow:
        conversation = open_conversation(
            services, uow.session, member_id=member.id, listener_id=listener.id, request_id=None
        )
    for n, line in enumerate(lines):
        sender = member if n % 2 == 0 else listener
        conversations.store_message(services, conversation.id, sender, f"c{n}", line)
    clock.advance(minutes=minutes)
    if end:
        conversations.end(services, conversation.id, member)
    clock.advance(hours=1)
    return conversation.id


@pytest.fixture
def people(services):  # type: ignore[no-untyped-def]
    _, code = make_sponsor(services)
    return {
        "member": make_member(services, code.code, pseudonym="Quiet Harbor"),
        "other_member": make_member(services, code.code, pseudonym="Far Hill"),
        "dana": make_listener(services, name="Dana"),
        "sam": make_listener(services, name="Theo"),
    }


def bodies(services, conversation_id: str) -> list[bytes | None]:  # type: ignore[no-untyped-def]
    with services.uow() as uow:
        return list(
            uow.session.scalars(
                select(ConversationEvent.body_ciphertext).where(ConversationEvent.conversation_id == conversation_id)
            )
        )


def page_for(client, user) -> None:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    sign_in_page(client, user.email)


# --- history -------------------------------------------------------------------------------------------------


def test_history_lists_only_own_conversations_newest_first(client, services, clock, people) -> None:  # type: ignore[no-untyped-def]
    member, dana, sam = people["member"], people["dana"], people["sam"]
    first = talk(services, clock, member, dana, "Hello", "Hi there", minutes=25)
    aftercare.give_feedback(services, member, first, felt_heard=5, would_talk_again=True)
    second = talk(services, clock, member, dana, "Back again", minutes=12)
    talk(services, clock, people["other_member"], sam, "Someone else's words")

    past = continuity.history(services, member)
    assert [p.id for p in past] == [second, first]
    assert [(p.minutes, p.gave_feedback, p.listener_name) for p in past] == [(12, False, "Dana"), (25, True, "Dana")]

    page_for(client, member)
    page = client.get("/history").text
    assert page.count("<h3>Dana</h3>") == 2 and "Theo" not in page
    assert "25 min" in page and "you gave feedback" in page and "no feedback given" in page
    assert "★ Favourite" in page and "Not free to talk right now" in page and f'href="/book/{dana.id}"' in page
    assert "@" not in page.split("<main")[1].split("</main>")[0]  # no email anywhere in the list


def test_talk_again_starts_with_that_listener_or_says_they_are_offline(client, services, clock, people) -> None:  # type: ignore[no-untyped-def]
    from sameboat.adapters.storage.models import SupportRequest
    from sameboat.services import presence

    member, dana = people["member"], people["dana"]
    talk(services, clock, member, dana, "Hello")
    page_for(client, member)
    offline = client.post(f"/history/talk-again/{dana.id}", data={"csrf_token": csrf_of(client)})
    assert offline.status_code == 200 and "Dana isn't free to talk right now" in offline.text
    assert f'href="/book/{dana.id}"' in offline.text
    presence.set_state(services, dana, "online")
    assert "Free to talk now" in client.get("/history").text
    started = client.post(
        f"/history/talk-again/{dana.id}", data={"csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert started.status_code == 303 and started.headers["location"].startswith("/talk/")
    with services.uow() as uow:
        request = uow.session.scalar(select(SupportRequest).where(SupportRequest.member_id == member.id))
        assert request.candidates[0][0] == dana.id  # Dana is offered first
    # A listener the member never talked with is not in their history.
    stranger = client.post(f"/history/talk-again/{people['sam'].id}", data={"csrf_token": csrf_of(client)})
    assert stranger.status_code == 404


def test_favourites_can_be_removed_from_history(client, services, clock, people) -> None:  # type: ignore[no-untyped-def]
    member, dana = people["member"], people["dana"]
    conversation_id = talk(services, clock, member, dana, "Hello")
    aftercare.give_feedback(services, member, conversation_id, felt_heard=4, would_talk_again=True)
    page_for(client, member)
    response = client.post(f"/history/favourites/{dana.id}/remove", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 200 and "Removed from your favourites" in response.text
    assert aftercare.favourites_of(services, member.id) == set()
    again = client.post(f"/history/favourites/{dana.id}/remove", data={"csrf_token": csrf_of(client)})
    assert again.status_code == 404


# --- deleting ------------------------------------------------------------------------------------------------


def test_delete_wipes_the_transcript_for_both_and_keeps_what_safety_and_budgets_need(  # type: ignore[no-untyped-def]
    client, services, clock, people
) -> None:
    member, dana = people["member"], people["dana"]
    keep = talk(services, clock, member, dana, "Keep this one")
    gone = talk(services, clock, member, dana, "My brother and I fell out", "That sounds hard", minutes=30)
    aftercare.give_feedback(services, member, gone, felt_heard=4, would_talk_again=False, comment="She was kind")
    aftercare.save_note(services, dana, gone, "Brother conflict; check in about the call.", concern=False)
    with services.uow() as uow:
        uow.session.add(Alert(conversation_id=gone, member_id=member.id, level="moderate", source="risk_engine"))
        minutes_used = uow.session.scalar(select(func.sum(Sponsor.minutes_used)))

    page_for(client, member)
    confirm = client.get(f"/history/{gone}/delete")
    assert confirm.status_code == 200 and "keeps their own private note" in confirm.text
    response = client.post(f"/history/{gone}/delete", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 200 and "Deleted." in response.text

    assert all(b is None for b in bodies(services, gone)) and len(bodies(services, gone)) == 4  # rows, no words
    assert sum(b is not None for b in bodies(services, keep)) == 1  # the other conversation keeps its message
    with services.uow() as uow:
        s = uow.session
        row = s.get(Conversation, gone)
        assert row.member_deleted_at == clock.now and row.minutes_charged == 30
        assert s.scalar(select(func.sum(Sponsor.minutes_used))) == minutes_used
        assert s.scalar(select(func.count()).select_from(Alert).where(Alert.conversation_id == gone)) == 1
        feedback = s.get(Feedback, gone)
        assert feedback.felt_heard == 4 and feedback.comment_ciphertext is None
        assert s.get(ListenerNote, gone) is not None  # the listener's own record stays
    assert [p.id for p in continuity.history(services, member)] == [keep]
    assert "My brother" not in client.get("/history").text
    assert client.get(f"/conversations/{gone}").status_code == 404
    assert client.get(f"/conversations/{gone}/feedback").status_code == 404

    # The listener no longer sees the transcript either, but keeps their note.
    assert [e["body"] for e in conversations.events_after(services, gone, dana, 0)] == [None] * 4
    page_for(client, dana)
    listener_page = client.get(f"/conversations/{gone}")
    assert listener_page.status_code == 200 and "deleted this conversation" in listener_page.text
    assert "Brother conflict" in listener_page.text and "chat.js" not in listener_page.text


def test_delete_refuses_other_peoples_and_active_conversations_and_writes_nothing(  # type: ignore[no-untyped-def]
    client, services, clock, people
) -> None:
    member, dana = people["member"], people["dana"]
    ended = talk(services, clock, member, dana, "Private words")
    active = talk(services, clock, member, dana, "Still talking", end=False)
    before = {cid: bodies(services, cid) for cid in (ended, active)}

    page_for(client, people["other_member"])
    for url in (f"/history/{ended}/delete",):
        assert client.get(url).status_code == 403
        refused = client.post(url, data={"csrf_token": csrf_of(client)})
        assert refused.status_code == 403 and "only delete your own" in refused.text
    page_for(client, dana)  # a listener has no history to delete from
    assert client.post(f"/history/{ended}/delete", data={"csrf_token": csrf_of(client)}).status_code == 403

    page_for(client, member)
    refused = client.post(f"/history/{active}/delete", data={"csrf_token": csrf_of(client)})
    assert refused.status_code == 409 and "End it first" in refused.text
    missing = client.post("/history/no-such-conversation/delete", data={"csrf_token": csrf_of(client)})
    assert missing.status_code == 404
    no_csrf = client.post(f"/history/{ended}/delete", data={})
    assert no_csrf.status_code == 403

    assert {cid: bodies(services, cid) for cid in (ended, active)} == before
    with services.uow() as uow:
        assert uow.session.scalar(select(func.count()).where(Conversation.member_deleted_at.is_not(None))) == 0
    # Deleting twice: the second finds nothing left.
    continuity.delete_conversation(services, member, ended)
    assert client.post(f"/history/{ended}/delete", data={"csrf_token": csrf_of(client)}).status_code == 404


# --- a listener's earlier notes ------------------------------------------------------------------------------


def test_listener_sees_only_their_own_notes_from_earlier_sessions(client, services, clock, people) -> None:  # type: ignore[no-untyped-def]
    member, dana, sam = people["member"], people["dana"], people["sam"]
    with_dana = talk(services, clock, member, dana, "First time")
    aftercare.save_note(services, dana, with_dana, "Dana's own note: new job starts Monday", concern=False)
    with_sam = talk(services, clock, member, sam, "Talking with Theo")
    aftercare.save_note(services, sam, with_sam, "Theo's private note about the member", concern=True)
    other = talk(services, clock, people["other_member"], dana, "Another member")
    aftercare.save_note(services, dana, other, "Note about someone else entirely", concern=False)

    now_with_dana = talk(services, clock, member, dana, "Hello again", end=False)
    page_for(client, dana)
    page = client.get(f"/conversations/{now_with_dana}").text
    assert "Earlier sessions with Quiet Harbor" in page and "Dana&#39;s own note: new job starts Monday" in page
    assert "Theo&#39;s private note" not in page and "someone else entirely" not in page

    now_with_sam = talk(services, clock, member, sam, "Hi Theo", end=False)
    page_for(client, sam)
    page = client.get(f"/conversations/{now_with_sam}").text
    assert "Theo&#39;s private note about the member" in page and "concern flagged" in page
    assert "Dana&#39;s own note" not in page
    page_for(client, member)  # the member never sees a listener's notes
    assert "Dana&#39;s own note" not in client.get(f"/conversations/{now_with_dana}").text


# --- next steps ----------------------------------------------------------------------------------------------


def feedback_form(client, **fields: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"csrf_token": csrf_of(client), "felt_heard": "4", "again": "no", **fields}


def counts(services) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with services.uow() as uow:
        s = uow.session
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Feedback, NextStep, Notification))  # type: ignore[return-value]


def test_next_step_bad_input_gets_clear_errors_and_saves_nothing(client, services, clock, people) -> None:  # type: ignore[no-untyped-def]
    conversation_id = talk(services, clock, people["member"], people["dana"], "Hello")
    page_for(client, people["member"])
    today = clock.now.date()
    url = f"/conversations/{conversation_id}/feedback"
    for fields, message in [
        ({"step": "x" * 201, "check_in": "2d"}, "Keep the step short"),
        ({"step": "call my sister", "check_in": "date", "check_in_date": str(today - timedelta(days=1))}, "passed"),
        ({"step": "call my sister", "check_in": "date", "check_in_date": str(today)}, "passed"),
        ({"step": "call my sister", "check_in": "date", "check_in_date": str(today + timedelta(days=61))}, "60 days"),
        ({"step": "call my sister", "check_in": "date", "check_in_date": "next tuesday"}, "Choose a check-in date"),
        ({"step": "call my sister", "check_in": "soon"}, "Choose when we should check in"),
        # A date typed in wins over the radio choice, so a past one is refused even with "in 2 days" ticked.
        ({"step": "call my sister", "check_in": "2d", "check_in_date": str(today - timedelta(days=3))}, "passed"),
        ({"step": "x" * 5000, "check_in": "2d"}, "too long"),
    ]:
        response = client.post(url, data=feedback_form(client, **fields))
        assert response.status_code == 422, (fields, response.status_code)
        assert message in response.text and fields["step"][:40] in response.text  # said why, kept what they wrote
        assert counts(services) == (0, 0, 0)
    ok = client.post(url, data=feedback_form(client, step="  ", check_in="date", check_in_date="garbage"))
    assert ok.status_code == 200 and "Thank you" in ok.text
    assert counts(services) == (1, 0, 0)  # an empty step is simply no step


def test_next_step_check_in_becomes_due_and_both_see_it_next_time(client, services, clock, people, smtp) -> None:  # type: ignore[no-untyped-def]
    member, dana, sam = people["member"], people["dana"], people["sam"]
    conversation_id = talk(services, clock, member, dana, "I keep putting off calling my sister")
    page_for(client, member)
    on = (clock.now + timedelta(days=10)).date()
    response = client.post(
        f"/conversations/{conversation_id}/feedback",
        data=feedback_form(client, step="Call my sister this week", check_in="date", check_in_date=str(on)),
    )
    assert response.status_code == 200 and "Your next step is saved" in response.text
    with services.uow() as uow:
        step = uow.session.scalar(select(NextStep))
        notice = uow.session.scalar(select(Notification))
        assert step.status == "open" and b"sister" not in step.text_ciphertext  # encrypted at rest
        assert step.check_in_at.date() == on and step.check_in_at.hour == 10  # 10:00 in the member's zone (UTC)
        assert notice.next_step_id == step.id and notice.link == f"/next-steps/{step.id}"
        assert "sister" not in notice.subject  # the email never carries the step itself

    assert notifications.inbox(services, member) == []  # not due yet
    clock.advance(days=9)
    assert notifications.unread_count(services, member) == 0
    clock.advance(days=1)
    due = notifications.inbox(services, member)
    assert [n.link for n in due] == [f"/next-steps/{step.id}"] and notifications.unread_count(services, member) == 1
    with services.uow() as uow:  # and the email worker would now pick it up
        assert (
            uow.session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.send_after <= clock.now, Notification.emailed_at.is_(None))
            )
            == 1
        )

    # The email worker sends it to a real SMTP server: the check-in link, never the step's words.
    inbox, mailer = smtp
    assert notifications.send_due_emails(services, mailer, base_url="https://sameboat.test") == 1
    [check_in] = inbox.to(member.email)
    body = check_in.get_body(preferencelist=("plain",)).get_content()
    assert check_in["Subject"] == "How did your next step go?" and "sister" not in body
    assert f"https://sameboat.test/next-steps/{step.id}" in body

    page = client.get(f"/next-steps/{step.id}")
    assert page.status_code == 200 and "Call my sister this week" in page.text
    bad = client.post(f"/next-steps/{step.id}", data={"csrf_token": csrf_of(client), "status": "maybe"})
    assert bad.status_code == 422 and "done, partly or not yet" in bad.text
    answered = client.post(
        f"/next-steps/{step.id}",
        data={"csrf_token": csrf_of(client), "status": "partly", "outcome": "We texted, a call is next"},
    )
    assert answered.status_code == 200 and "Dana will see this" in answered.text

    # Another member can't open it.
    page_for(client, people["other_member"])
    assert client.get(f"/next-steps/{step.id}").status_code == 404

    # The next conversation between the same two starts with the step and how it went; not with anyone else.
    again = talk(services, clock, member, dana, "Hi again", end=False)
    for user in (member, dana):
        page_for(client, user)
        page = client.get(f"/conversations/{again}").text
        assert "Call my sister this week" in page and "How it went: Partly" in page, user.role
        assert "We texted, a call is next" in page
    elsewhere = talk(services, clock, member, sam, "Hi Theo", end=False)
    page_for(client, sam)
    assert "Call my sister" not in client.get(f"/conversations/{elsewhere}").text


def test_listener_sees_open_steps_of_their_member(client, services, clock, people) -> None:  # type: ignore[no-untyped-def]
    from sameboat.services import next_steps

    member, dana = people["member"], people["dana"]
    for text in ("Go for a walk", "Write to Mum"):
        cid = talk(services, clock, member, dana, "Hello")
        step = next_steps.draft(text, "1w", "", clock.now, None)
        aftercare.give_feedback(services, member, cid, felt_heard=5, would_talk_again=False, next_step=step)
    current = talk(services, clock, member, dana, "Hello again", end=False)
    page_for(client, dana)
    page = client.get(f"/conversations/{current}").text
    assert "Last time, Quiet Harbor set a step" in page and "Write to Mum" in page
    assert "Open steps" in page and "Go for a walk" in page


# --- resources in the chat -----------------------------------------------------------------------------------


def test_listener_shares_a_resource_and_the_member_gets_a_link_card(client, services, clock, people) -> None:  # type: ignore[no-untyped-def]
    member, dana = people["member"], people["dana"]
    conversation_id = talk(services, clock, member, dana, end=False)
    member_token = accounts.start_session(services, member.id, "api")
    page_for(client, dana)
    page = client.get(f"/conversations/{conversation_id}").text
    assert "Share something from the library" in page and 'value="box-breathing"' in page
    share = {"csrf_token": csrf_of(client), "slug": "box-breathing"}
    with client.websocket_connect(f"/ws/conversations/{conversation_id}?token={member_token}") as ws:
        assert ws.receive_json()["kind"] == "joined"
        response = client.post(
            f"/conversations/{conversation_id}/resources", data=share, headers={"X-Requested-With": "fetch"}
        )
        assert response.status_code == 200 and response.json()["seq"] == 2
        event = ws.receive_json()
    assert event["kind"] == "resource" and event["seq"] == 2 and event["from"] == "listener"
    assert event["resource"] == {"slug": "box-breathing", "title": "Box breathing", "kind": "exercise", "minutes": 4}
    with services.uow() as uow:
        stored = uow.session.scalar(select(ConversationEvent).where(ConversationEvent.kind == "resource"))
        assert stored.seq == 2 and stored.sender_id == dana.id
    replayed = conversations.events_after(services, conversation_id, member, 1)
    assert replayed[0]["resource"]["title"] == "Box breathing"

    # Without JavaScript the form redirects back to the chat.
    plain = client.post(f"/conversations/{conversation_id}/resources", data=share, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == f"/conversations/{conversation_id}"

    unknown = client.post(
        f"/conversations/{conversation_id}/resources",
        data={**share, "slug": "no-such-thing"},
        headers={"X-Requested-With": "fetch"},
    )
    assert unknown.status_code == 422 and unknown.headers["content-type"] == "application/problem+json"
    assert "We don't have that resource" in unknown.json()["detail"]

    stranger = make_listener(services, name="Stranger")
    page_for(client, stranger)
    assert client.post(f"/conversations/{conversation_id}/resources", data=share).status_code == 403
    conversations.end(services, conversation_id, member)
    page_for(client, dana)
    ended = client.post(f"/conversations/{conversation_id}/resources", data={**share, "csrf_token": csrf_of(client)})
    assert ended.status_code == 409
    with services.uow() as uow:
        kinds = list(uow.session.scalars(select(ConversationEvent.kind).order_by(ConversationEvent.seq)))
    assert kinds == ["joined", "resource", "resource", "ended"]  # errors wrote nothing


def test_member_cannot_share_resources(client, services, clock, people) -> None:  # type: ignore[no-untyped-def]
    conversation_id = talk(services, clock, people["member"], people["dana"], end=False)
    page_for(client, people["member"])
    response = client.post(
        f"/conversations/{conversation_id}/resources", data={"csrf_token": csrf_of(client), "slug": "box-breathing"}
    )
    assert response.status_code == 403
    assert "Share something from the library" not in client.get(f"/conversations/{conversation_id}").text


def test_resource_pages_filter_by_topic_and_show_crisis_resources_as_data(client, services, people) -> None:  # type: ignore[no-untyped-def]
    page_for(client, people["dana"])
    everything = client.get("/resources").text
    assert len(re.findall(r'class="card resource-card"', everything)) >= 8
    health = client.get("/resources?topic=health").text
    assert "Box breathing" in health and "Co-parenting messages" not in health
    exercises = client.get("/resources?kind=exercise&topic=health").text
    assert "Box breathing" in exercises and "When it feels like too much" not in exercises
    assert client.get("/resources?topic=not-a-topic").status_code == 422
    assert client.get("/resources?kind=video").status_code == 422
    assert client.get("/resources/no-such-resource").status_code == 404
    crisis = client.get("/resources/when-it-feels-like-too-much").text
    assert "Reach someone now" in crisis and "988" in crisis and 'href="tel:988"' in crisis
    with services.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(User)) >= 4


def test_dates_are_shown_in_the_members_time_zone(client, services, clock, people) -> None:  # type: ignore[no-untyped-def]
    from sameboat.adapters.storage.models import MemberProfile

    member = people["member"]
    clock.now = clock.now.replace(hour=23, minute=0)  # late on the 25th in UTC: already the 26th in Sydney
    talk(services, clock, member, people["dana"], "Hello")
    page_for(client, member)
    assert "Wed 25 Nov 2026" in client.get("/history").text
    with services.uow() as uow:
        uow.session.get(MemberProfile, member.id).timezone = "Australia/Sydney"
    page_for(client, member)
    assert "Thu 26 Nov 2026" in client.get("/history").text
