"""Safety in the running app: risk routing, moderation, alerts and escalation, supervisors, reports, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from sameboat.adapters.storage.models import Alert, AlertEvent, AuditRecord, Conversation, ConversationEvent
from sameboat.domain.accounts import Role
from sameboat.domain.safety.escalation import EscalationPolicy
from sameboat.domain.safety.risk import RiskLevel
from sameboat.services import accounts, safety
from sameboat.services.conversations import store_message
from sameboat.services.errors import Conflict, Forbidden, NotFound
from tests.conftest import run_async
from tests.factories import make_sponsor, make_user
from tests.integration.test_conversations import connect, receive_until

HIGH_RISK = "I can't do this anymore. I've got the pills saved up and I'm going to take them all tonight."


@pytest.fixture
def chat(chat_with_sponsor):  # type: ignore[no-untyped-def]
    return chat_with_sponsor


def test_high_risk_message_routes_resources_protocol_and_alert(client, chat, services) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens, _ = chat
    with (
        connect(client, conversation_id, tokens["member"]) as m,
        connect(client, conversation_id, tokens["listener"]) as li,
    ):
        m.send_json({"type": "send", "client_id": "r1", "body": HIGH_RISK})
        assert receive_until(m, "ack")["seq"] == 2
        assert receive_until(li, "event")["kind"] == "joined"
        assert receive_until(li, "event")["body"] == HIGH_RISK  # delivered first; assessed after
        member_sees = [receive_until(m, "event") for _ in range(3)]  # own message, then 2 safety events
        listener_sees = [receive_until(li, "event") for _ in range(2)]
    kinds_for_member = {e["kind"] for e in member_sees}
    assert "resources" in kinds_for_member and "protocol" not in kinds_for_member
    resources = next(e for e in member_sees if e["kind"] == "resources")
    assert "988" in resources["body"] and "741741" in resources["body"]
    assert any(e["kind"] == "protocol" and "Are you thinking about suicide" in e["body"] for e in listener_sees)
    assert all(e["kind"] != "resources" or e.get("body") is None for e in listener_sees)
    with services.uow() as uow:
        alert = uow.session.scalar(select(Alert).where(Alert.conversation_id == conversation_id))
        assert alert.level in ("high", "imminent") and alert.reasons and alert.status == "open"
        assert uow.session.get(Conversation, conversation_id).risk_level == alert.level


def submit_together(queue: safety.RiskQueue, conversation_id: str, events: list[dict]) -> None:  # type: ignore[type-arg]
    """Hand stored messages to the queue with no await in between (they wait for the same round), then wait
    until all of them are assessed, second looks included."""

    async def burst() -> None:
        for event in events:
            queue.submit(conversation_id, event)
        await queue.idle()

    run_async(burst)


def alert_of(services, conversation_id: str) -> Alert | None:  # type: ignore[no-untyped-def]
    with services.uow() as uow:
        return uow.session.scalar(select(Alert).where(Alert.conversation_id == conversation_id))


def test_a_high_risk_message_inside_a_burst_still_raises_its_alert(runtime, chat, services) -> None:  # type: ignore[no-untyped-def]
    """Messages that wait together are assessed in one round; each still on its own, in order, with context."""
    conversation_id, member, _, _, _ = chat
    bodies = ["hi again", "work was long today", HIGH_RISK, "anyway", "sorry for dumping all of this on you"]
    events = [store_message(services, conversation_id, member, f"b{i}", body)[0] for i, body in enumerate(bodies)]
    queue = runtime.risk_queue

    submit_together(queue, conversation_id, events)
    assert (queue.stats.rounds, queue.stats.largest_round, queue.stats.assessed) == (1, 5, 5)
    assert queue.backlog == 0 and len(queue.stats.lags) == 5
    with services.uow() as uow:
        levels = dict(
            uow.session.execute(
                select(ConversationEvent.seq, ConversationEvent.risk_level).where(
                    ConversationEvent.conversation_id == conversation_id, ConversationEvent.kind == "message"
                )
            ).all()
        )
        risky = events[2]["seq"]
        assert levels[risky] in ("high", "imminent")
        assert levels[events[0]["seq"]] == "none" and all(level is not None for level in levels.values())
        alerts = list(uow.session.scalars(select(Alert).where(Alert.conversation_id == conversation_id)))
        assert len(alerts) == 1 and alerts[0].level == levels[risky]
        kinds = list(
            uow.session.scalars(
                select(ConversationEvent.kind).where(
                    ConversationEvent.conversation_id == conversation_id, ConversationEvent.seq > events[-1]["seq"]
                )
            )
        )
        assert sorted(kinds) == ["protocol", "resources"]  # once for the level reached, not per message


def test_a_queue_too_far_behind_still_catches_explicit_risk_with_the_phrase_layer(chat, services) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, _, _, _ = chat
    queue = safety.RiskQueue(services, worker="thread", max_lag=0.0)  # every round counts as behind
    bodies = ["hey", "I want to kill myself tonight"]  # explicit: the phrase layer knows it without the model
    events = [store_message(services, conversation_id, member, f"p{i}", b)[0] for i, b in enumerate(bodies)]

    submit_together(queue, conversation_id, events)
    assert queue.stats.phrases_only == 2 and queue.stats.assessed == 2
    alert = alert_of(services, conversation_id)
    assert alert is not None and alert.level in ("high", "imminent")
    assert "no-embedder" in (alert.model_version or "")
    assert queue.stats.second_looks == 2  # once the queue was empty, the model read them too


def test_what_only_the_model_sees_is_caught_on_the_second_look(chat, services) -> None:  # type: ignore[no-untyped-def]
    """Assessed by the phrase layer alone in a rush, a message the phrases miss gets its alert from the model's
    second look once the queue is empty."""
    conversation_id, member, _, _, _ = chat
    queue = safety.RiskQueue(services, worker="thread", max_lag=0.0)  # every round counts as behind
    bodies = ["work was long today", HIGH_RISK]
    phrase_layer = safety.risk_worker.phrase_assessor()
    assert phrase_layer.assess(bodies[1]).level < RiskLevel.HIGH  # the phrases alone miss it
    events = [store_message(services, conversation_id, member, f"m{i}", b)[0] for i, b in enumerate(bodies)]

    submit_together(queue, conversation_id, events)
    assert queue.stats.phrases_only == 2 and queue.stats.second_looks == 2
    alert = alert_of(services, conversation_id)
    assert alert is not None and alert.level in ("high", "imminent")
    assert "MiniLM" in (alert.model_version or "")
    with services.uow() as uow:
        stored = uow.session.scalar(
            select(ConversationEvent.risk_level).where(
                ConversationEvent.conversation_id == conversation_id, ConversationEvent.seq == events[1]["seq"]
            )
        )
        assert stored in ("high", "imminent")


def test_after_a_restart_the_context_comes_from_the_stored_messages(chat, services) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, _, _, _ = chat
    earlier = ["honestly I don't see the point of any of it anymore", "nobody would even notice if I was gone"]
    stored = [store_message(services, conversation_id, member, f"e{i}", b)[0] for i, b in enumerate(earlier)]
    latest = store_message(services, conversation_id, member, "last", "anyway. I have the pills here")[0]
    with services.uow() as uow:
        texts = safety._earlier_member_texts(services, uow.session, {conversation_id: latest["seq"], "nope": 5})
    assert texts == {conversation_id: tuple(earlier), "nope": ()}
    with services.uow() as uow:
        assert safety._earlier_member_texts(services, uow.session, {conversation_id: stored[1]["seq"]}) == {
            conversation_id: (earlier[0],)
        }


def test_moderation_hides_contact_details_from_the_other_side(client, chat, services) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens, _ = chat
    with (
        connect(client, conversation_id, tokens["member"]) as m,
        connect(client, conversation_id, tokens["listener"]) as li,
    ):
        li.send_json({"type": "send", "client_id": "x1", "body": "text me on 555-867-5309 or WhatsApp"})
        ack = receive_until(li, "ack")
        assert ack["hidden"] and "phone numbers" in ack["warning"]
        stub = receive_until(m, "event")
        while stub["seq"] != ack["seq"]:
            stub = receive_until(m, "event")
        assert stub["kind"] == "private" and "body" not in stub
        m.send_json({"type": "send", "client_id": "ok", "body": "thanks for listening"})
        delivered = receive_until(li, "event")
        while delivered["from"] != "member":  # the listener's own (hidden) message comes back to them first
            delivered = receive_until(li, "event")
        assert delivered["body"] == "thanks for listening"
    supervisor = make_user(services, Role.SUPERVISOR)
    with pytest.raises(Forbidden):  # no alert, report or concern yet: no transcript
        safety.transcript_for_supervisor(services, supervisor, conversation_id, "curious")
    safety.report(services, member, conversation_id, "off_platform", "asked me to text them")
    transcript = safety.transcript_for_supervisor(services, supervisor, conversation_id, "report review")
    hidden = [e for e in transcript if e["hidden"]]
    assert hidden and hidden[0]["moderation"] == ["contact_details", "off_platform"]
    with services.uow() as uow:
        actions = list(uow.session.scalars(select(AuditRecord.action)))
    assert "transcript.view" in actions


def test_unacknowledged_alert_renotifies_then_escalates_on_a_fake_clock(services, chat, clock) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens, _ = chat
    first, second = make_user(services, Role.SUPERVISOR), make_user(services, Role.SUPERVISOR)
    for supervisor in (first, second):
        safety.supervisor_seen(services, supervisor, on_duty=True)
    with services.uow() as uow:
        alert = safety.open_alert(
            services,
            uow.session,
            member_id=member.id,
            level="high",
            source="risk_engine",
            reasons=["plan"],
            conversation_id=conversation_id,
        )
        alert_id, assigned = alert.id, alert.assigned_to
    policy = EscalationPolicy(renotify_after=timedelta(seconds=60), escalate_after=timedelta(minutes=2))
    assert safety.escalation_tick(services, policy) == set()
    clock.advance(seconds=61)
    for supervisor in (first, second):
        safety.supervisor_seen(services, supervisor)
    assert safety.escalation_tick(services, policy) == {assigned}
    clock.advance(seconds=60)
    for supervisor in (first, second):
        safety.supervisor_seen(services, supervisor)
    notified = safety.escalation_tick(services, policy)
    with services.uow() as uow:
        alert = uow.session.get(Alert, alert_id)
        kinds = [
            e.kind
            for e in uow.session.scalars(
                select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
            )
        ]
    assert alert.escalation_level == 1 and alert.assigned_to != assigned and notified == {alert.assigned_to}
    assert kinds == ["raised", "renotify", "escalate"]
    escalated_to = next(s for s in (first, second) if s.id == alert.assigned_to)
    safety.acknowledge_alert(services, escalated_to, alert_id)
    with pytest.raises(Conflict, match="already acknowledged"):
        safety.acknowledge_alert(services, escalated_to, alert_id)
    clock.advance(minutes=10)
    assert safety.escalation_tick(services, policy) == set()  # acknowledged: no more reminders
    with pytest.raises(Exception, match="short note"):
        safety.resolve_alert(services, escalated_to, alert_id, "")
    safety.resolve_alert(services, escalated_to, alert_id, "Talked with member, safety plan made, 988 shared.")


def test_supervisor_join_and_scope(services, chat) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens, sponsor = chat
    other_sponsor, _ = make_sponsor(services)
    scoped_elsewhere = make_user(services, Role.SUPERVISOR, email="elsewhere@example.org")
    with services.uow() as uow:
        uow.session.execute(
            update(type(scoped_elsewhere))
            .where(type(scoped_elsewhere).id == scoped_elsewhere.id)
            .values(sponsor_id=other_sponsor.id)
        )
        alert_id = safety.open_alert(
            services,
            uow.session,
            member_id=member.id,
            level="imminent",
            source="risk_engine",
            reasons=["intent"],
            conversation_id=conversation_id,
        ).id
    scoped_elsewhere = accounts.user_for_token(
        services, accounts.start_session(services, scoped_elsewhere.id, "api"), "api"
    )
    with pytest.raises(Forbidden):
        safety.acknowledge_alert(services, scoped_elsewhere, alert_id)
    supervisor = make_user(services, Role.SUPERVISOR)
    joined = safety.join_conversation(services, supervisor, conversation_id)
    assert joined["from"] == "supervisor" and joined["audience"] == "all"
    with pytest.raises(NotFound):
        safety.report(services, member, "no-such-conversation", "harassment", "")
    with pytest.raises(NotFound):
        safety.acknowledge_alert(services, supervisor, "no-such-alert")


def test_audit_chain_detects_tampering(services, chat) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens, _ = chat
    admin = make_user(services, Role.ADMIN)
    supervisor = make_user(services, Role.SUPERVISOR)
    with services.uow() as uow:
        alert_id = safety.open_alert(
            services,
            uow.session,
            member_id=member.id,
            level="high",
            source="risk_engine",
            reasons=["plan"],
            conversation_id=conversation_id,
        ).id
    safety.acknowledge_alert(services, supervisor, alert_id)
    records, broken = safety.audit_export(services, admin)
    assert broken == [] and [r["action"] for r in records] == ["alert.raise", "alert.acknowledge"]
    with services.uow() as uow:  # someone edits history directly in the database
        uow.session.execute(text("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 1"))
    records, broken = safety.audit_export(services, admin)
    assert broken == [1]


def test_block_keeps_the_pair_apart_in_dispatch(services, chat) -> None:  # type: ignore[no-untyped-def]
    from sameboat.services import dispatch

    conversation_id, member, listener, tokens, _ = chat
    safety.block(services, member, conversation_id)
    request = dispatch.request_support(services, member, "my divorce is tearing me apart and I need to talk", [])
    assert listener.id not in [c[0] for c in request.candidates]


def test_crisis_resources_are_editable_per_country_and_sponsor(services, chat) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, tokens, sponsor = chat
    admin = make_user(services, Role.ADMIN)
    safety.save_crisis_resources(
        services,
        admin,
        country="US",
        sponsor_id=sponsor.id,
        data={
            "headline": "In crisis? Call or text 988, or call Riverbend's 24/7 nurse line",
            "emergency": "911",
            "resources": [{"name": "Nurse line", "how": "Call 1-800-555-0100"}],
        },
    )
    assert "nurse line" in safety.crisis_resources(services, "US", sponsor.id).headline
    assert safety.crisis_resources(services, "US", None).headline == "In crisis? Call or text 988"
    with pytest.raises(Exception, match="headline"):
        safety.save_crisis_resources(
            services,
            admin,
            country="US",
            sponsor_id=None,
            data={"emergency": "911", "resources": [{"name": "x", "how": "y"}]},
        )


def test_messages_no_queue_assessed_are_swept_up_later(chat, services, clock) -> None:  # type: ignore[no-untyped-def]
    """A process that stops with messages in its queue: another (or the restarted one) assesses them."""
    conversation_id, member, _, _, _ = chat
    stored = [store_message(services, conversation_id, member, f"o{i}", b)[0] for i, b in enumerate(["hey", HIGH_RISK])]
    queue = safety.RiskQueue(services, worker="thread")

    async def sweep() -> int:
        found = await queue.sweep_orphans()
        await queue.idle()
        return found

    assert run_async(sweep) == 0  # just stored: a live queue may still hold them
    clock.advance(seconds=61)
    assert run_async(sweep) == 2
    with services.uow() as uow:
        levels = [
            uow.session.get(ConversationEvent, e).risk_level
            for e in uow.session.scalars(
                select(ConversationEvent.id).where(
                    ConversationEvent.conversation_id == conversation_id,
                    ConversationEvent.seq.in_([event["seq"] for event in stored]),
                )
            )
        ]
        assert None not in levels and any(level in ("high", "imminent") for level in levels)
        assert uow.session.scalar(select(Alert).where(Alert.conversation_id == conversation_id)) is not None
    assert run_async(sweep) == 0  # assessed once, not again
