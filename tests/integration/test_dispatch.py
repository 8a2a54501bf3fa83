"""Talk now, end to end in the service layer on a fake clock: offers, cascades, exactly one winner."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from sameboat.adapters.storage.models import Conversation, ListenerPresence, Offer, SupportRequest
from sameboat.domain.dispatch import DispatchConfig
from sameboat.services import dispatch, presence
from sameboat.services.errors import Conflict
from tests.factories import make_listener, make_member, make_sponsor

CONFIG = DispatchConfig(offer_timeout=timedelta(seconds=30), break_between_sessions=timedelta(0))
DIVORCE = "My wife and I are divorcing and I'm trying to co-parent two little kids across two homes."


@pytest.fixture
def people(services):  # type: ignore[no-untyped-def]
    _, code = make_sponsor(services)
    member = make_member(services, code.code, pseudonym="Quiet Harbor")
    divorce = make_listener(services, name="Maria", tags=["divorce", "co-parenting"])
    job = make_listener(services, name="Sam", tags=["job-loss"])
    return member, divorce, job


def online(services, *listeners) -> None:  # type: ignore[no-untyped-def]
    for listener in listeners:
        presence.set_state(services, listener, "online")


def pending_offers(services) -> list[Offer]:  # type: ignore[no-untyped-def]
    with services.uow() as uow:
        return list(uow.session.scalars(select(Offer).where(Offer.status == "pending")))


def test_request_offer_accept_opens_a_conversation(services, people) -> None:  # type: ignore[no-untyped-def]
    member, divorce, job = people
    online(services, divorce, job)
    request = dispatch.request_support(services, member, DIVORCE, [])
    assert dispatch.request_support(services, member, DIVORCE, []).id == request.id  # one waiting request
    tick = dispatch.dispatch_tick(services, CONFIG)
    assert tick.led and tick.offers_sent == 1 and member.id in tick.members_to_poke
    [offer] = pending_offers(services)
    assert offer.listener_id == divorce.id  # the best match is offered first
    console = dispatch.console_view(services, divorce)
    assert console["offer"]["name"] == "Quiet Harbor" and console["offer"]["text"] == DIVORCE
    assert "@" not in str(console)  # the listener sees the pseudonym, never an email
    assert dispatch.request_view(services, member, request.id, CONFIG)["status"] == "waiting"
    conversation, member_id = dispatch.accept_offer(services, divorce, offer.id)
    assert member_id == member.id
    view = dispatch.request_view(services, member, request.id, CONFIG)
    assert view["conversation_url"] == f"/conversations/{conversation.id}"
    assert dispatch.accept_offer(services, divorce, offer.id)[0].id == conversation.id  # a double click is fine


def test_decline_and_timeout_cascade(services, people, clock) -> None:  # type: ignore[no-untyped-def]
    member, divorce, job = people
    online(services, divorce, job)
    dispatch.request_support(services, member, DIVORCE, [])
    dispatch.dispatch_tick(services, CONFIG)
    [first] = pending_offers(services)
    dispatch.decline_offer(services, divorce, first.id)
    with pytest.raises(Conflict):
        dispatch.accept_offer(services, divorce, first.id)
    dispatch.dispatch_tick(services, CONFIG)
    [second] = pending_offers(services)
    assert second.listener_id == job.id  # cascaded to the next listener, never back to the one who declined
    clock.advance(seconds=31)
    presence.heartbeat(services, job.id)
    tick = dispatch.dispatch_tick(services, CONFIG)
    assert job.id in tick.listeners_to_poke
    with services.uow() as uow:
        assert uow.session.get(Offer, second.id).status == "expired"
        assert uow.session.get(ListenerPresence, job.id).state == "away"  # missed an offer: not at the screen
    with pytest.raises(Conflict, match="no longer open"):
        dispatch.accept_offer(services, job, second.id)
    assert pending_offers(services) == []  # nobody left who hasn't passed on it


def test_stale_heartbeat_withdraws_the_offer(services, people, clock) -> None:  # type: ignore[no-untyped-def]
    member, divorce, job = people
    online(services, divorce)
    dispatch.request_support(services, member, DIVORCE, [])
    clock.advance(seconds=25)
    dispatch.dispatch_tick(services, CONFIG)
    [offer] = pending_offers(services)
    clock.advance(seconds=10)  # 35 s since the last heartbeat: the console is gone
    dispatch.dispatch_tick(services, CONFIG)
    with services.uow() as uow:
        assert uow.session.get(Offer, offer.id).status == "withdrawn"
        assert uow.session.get(ListenerPresence, divorce.id).state == "offline"


def test_cancel_withdraws_offers(services, people) -> None:  # type: ignore[no-untyped-def]
    member, divorce, job = people
    online(services, divorce)
    request = dispatch.request_support(services, member, DIVORCE, [])
    dispatch.dispatch_tick(services, CONFIG)
    [offer] = pending_offers(services)
    assert dispatch.cancel_request(services, member, request.id) == {divorce.id}
    with pytest.raises(Conflict):
        dispatch.accept_offer(services, divorce, offer.id)
    with pytest.raises(Conflict):
        dispatch.cancel_request(services, member, request.id)


def test_exactly_one_winner_under_concurrent_accepts(services, people, clock) -> None:  # type: ignore[no-untyped-def]
    """Even if two processes had each offered the request, only one accept can win it."""
    member, divorce, job = people
    request = dispatch.request_support(services, member, DIVORCE, [])
    with services.uow() as uow:
        offers = [
            Offer(
                request_id=request.id, listener_id=x.id, created_at=clock(), expires_at=clock() + timedelta(seconds=30)
            )
            for x in (divorce, job)
        ]
        uow.session.add_all(offers)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def accept(listener, offer_id: str) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            dispatch.accept_offer(services, listener, offer_id)
            outcomes.append("won")
        except Conflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=accept, args=(x, o.id)) for x, o in zip((divorce, job), offers, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost", "won"]
    with services.uow() as uow:
        assert len(list(uow.session.scalars(select(Conversation)))) == 1
        assert uow.session.get(SupportRequest, request.id).status == "matched"


def test_high_risk_requests_jump_the_queue(services, people) -> None:  # type: ignore[no-untyped-def]
    member, divorce, job = people
    _, code = make_sponsor(services)
    urgent_member = make_member(services, code.code)
    dispatch.request_support(services, member, DIVORCE, [])
    urgent = dispatch.request_support(services, urgent_member, DIVORCE, [], risk_level="high")
    online(services, divorce)
    dispatch.dispatch_tick(services, CONFIG)
    [offer] = pending_offers(services)
    assert offer.request_id == urgent.id


def test_a_full_listener_gets_no_offer_and_one_process_leads(services, people) -> None:  # type: ignore[no-untyped-def]
    member, divorce, job = people
    online(services, divorce)
    with services.uow() as uow:
        uow.session.add(Conversation(member_id=member.id, listener_id=divorce.id, started_at=services.now()))
    _, code = make_sponsor(services)
    other = make_member(services, code.code)
    dispatch.request_support(services, other, DIVORCE, [])
    assert dispatch.dispatch_tick(services, CONFIG).offers_sent == 0  # Maria is already in a conversation
    assert not dispatch.dispatch_tick(services, CONFIG, holder="another-process").led


def test_a_dropped_listener_is_reported_into_the_conversation(services, people, clock) -> None:  # type: ignore[no-untyped-def]
    from sameboat.services.conversations import events_after

    member, divorce, job = people
    online(services, divorce)
    dispatch.request_support(services, member, DIVORCE, [])
    dispatch.dispatch_tick(services, CONFIG)
    [offer] = pending_offers(services)
    conversation, _ = dispatch.accept_offer(services, divorce, offer.id)
    clock.advance(seconds=40)  # no heartbeat from Maria's console since
    tick = dispatch.dispatch_tick(services, CONFIG)
    assert [n["kind"] for n in tick.notices] == ["notice"]
    events = events_after(services, conversation.id, member, 0)
    assert events[-1]["kind"] == "notice" and "connection dropped" in events[-1]["body"]


def test_minutes_count_against_the_sponsor_and_members_are_warned(services, clock) -> None:  # type: ignore[no-untyped-def]
    from sameboat.adapters.storage.models import Sponsor
    from sameboat.services import conversations, sponsors

    sponsor = sponsors.create_sponsor(services, name="Small Budget Co", minutes_budget=50)
    code = sponsors.create_access_code(services, sponsor_id=sponsor.id, code="SMALL-0001")
    member = make_member(services, code.code)
    listener = make_listener(services)
    with services.uow() as uow:
        conversation = conversations.open_conversation(
            services, uow.session, member_id=member.id, listener_id=listener.id, request_id=None
        )
    events = conversations.events_after(services, conversation.id, member, 0)
    assert events[-1]["kind"] == "notice" and "50 minutes" in events[-1]["body"]
    clock.advance(minutes=12, seconds=5)
    conversations.end(services, conversation.id, member)
    with services.uow() as uow:
        assert uow.session.get(Sponsor, sponsor.id).minutes_used == 13
