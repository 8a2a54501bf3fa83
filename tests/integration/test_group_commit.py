"""The chat path's writes: one group-committing writer on SQLite, one transaction each on PostgreSQL.

Either way a caller hears back only once its write is committed, and one refused write never undoes another.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from sameboat.adapters.storage.models import Conversation, ConversationEvent
from sameboat.services.conversations import message_writer, receipt_writer
from sameboat.services.errors import Forbidden, InvalidInput, NotFound
from tests.conftest import run_async
from tests.factories import make_listener


def stored_seqs(services, conversation_id: str) -> list[int]:  # type: ignore[no-untyped-def]
    with services.uow() as uow:
        return list(
            uow.session.scalars(
                select(ConversationEvent.seq)
                .where(ConversationEvent.conversation_id == conversation_id)
                .order_by(ConversationEvent.seq)
            )
        )


def test_writes_under_contention_are_all_stored_once_in_order(services, chat_with_sponsor) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, listener, _tokens, _sponsor = chat_with_sponsor

    async def scenario():  # type: ignore[no-untyped-def]
        sends = [
            services.write(message_writer(services, conversation_id, sender, f"{sender.role}-{n}", f"line {n}"))
            for n in range(40)
            for sender in (member, listener)
        ]
        receipts = [services.write(receipt_writer(conversation_id, listener, n, "read")) for n in range(0, 80, 7)]
        return await asyncio.gather(*sends, *receipts)

    results = run_async(scenario)
    events = [event for event, created in results[:80]]
    assert all(created for _event, created in results[:80])
    assert sorted(e["seq"] for e in events) == list(range(2, 82))  # after the "joined" event: no gap, no repeat
    assert stored_seqs(services, conversation_id) == list(range(1, 82))
    with services.uow() as uow:
        conversation = uow.session.get(Conversation, conversation_id)
        assert conversation.last_seq == 81
        assert conversation.listener_last_read_seq == 77  # the highest receipt; queued after the messages


def test_a_refused_write_undoes_only_itself(services, chat_with_sponsor) -> None:  # type: ignore[no-untyped-def]
    """Queued behind a slow write, these share one transaction on SQLite; each still gets its own answer."""
    conversation_id, member, listener, _tokens, _sponsor = chat_with_sponsor
    stranger = make_listener(services, name="Stranger")

    def slow(_session: Session) -> str:
        time.sleep(0.3)  # the writer is busy: everything below queues up behind it
        return "slow"

    async def scenario():  # type: ignore[no-untyped-def]
        first = asyncio.ensure_future(services.write(slow))
        await asyncio.sleep(0.05)
        rest = [
            services.write(message_writer(services, conversation_id, member, "a", "first")),
            services.write(receipt_writer(conversation_id, stranger, 2, "read")),  # not theirs
            services.write(message_writer(services, conversation_id, member, "a", "first")),  # a resend
            services.write(message_writer(services, conversation_id, stranger, "x", "let me in")),  # not theirs
            services.write(receipt_writer("no-such-conversation", member, 1, "read")),
            services.write(message_writer(services, conversation_id, listener, "b", "second")),
        ]
        return await asyncio.gather(first, *rest, return_exceptions=True)

    slow_result, first, stranger_receipt, resend, stranger_message, unknown, second = run_async(scenario)
    assert slow_result == "slow"
    assert first[1] is True and first[0]["seq"] == 2
    assert isinstance(stranger_receipt, Forbidden)
    assert resend[1] is False and resend[0]["seq"] == 2 and resend[0]["body"] == "first"
    assert isinstance(stranger_message, (Forbidden, NotFound))
    assert isinstance(unknown, NotFound)
    assert second[1] is True and second[0]["seq"] == 3  # the refused message took no number
    assert stored_seqs(services, conversation_id) == [1, 2, 3]


def test_a_caller_hears_back_only_after_the_commit(services, chat_with_sponsor) -> None:  # type: ignore[no-untyped-def]
    """Persist before acknowledging: when the send returns, another connection already sees the message,
    even though the writer was still busy with other work of the same batch."""
    conversation_id, member, _listener, _tokens, _sponsor = chat_with_sponsor
    seen_from_outside: list[list[int]] = []

    def blocker(_session: Session) -> None:
        time.sleep(0.2)

    def slow_after(_session: Session) -> None:
        time.sleep(0.3)

    async def scenario():  # type: ignore[no-untyped-def]
        busy = asyncio.ensure_future(services.write(blocker))
        await asyncio.sleep(0.05)
        send = asyncio.ensure_future(services.write(message_writer(services, conversation_id, member, "c", "hello")))
        after = asyncio.ensure_future(services.write(slow_after))
        await send
        seen_from_outside.append(await asyncio.to_thread(stored_seqs, services, conversation_id))
        await asyncio.gather(busy, after)

    run_async(scenario)
    assert seen_from_outside == [[1, 2]]


def test_bad_input_is_refused_before_it_queues(services, chat_with_sponsor) -> None:  # type: ignore[no-untyped-def]
    conversation_id, member, _listener, _tokens, _sponsor = chat_with_sponsor
    with pytest.raises(InvalidInput):
        message_writer(services, conversation_id, member, "e", "   ")
    with pytest.raises(InvalidInput):
        receipt_writer(conversation_id, member, -1, "read")
    assert stored_seqs(services, conversation_id) == [1]
