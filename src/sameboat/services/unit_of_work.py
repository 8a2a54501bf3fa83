"""One transaction per use case. Commit on success, roll back on any failure: nothing is written half-way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from sameboat.domain.matching.ports import TextEmbedder
from sameboat.services.ports import Hub

Clock = Callable[[], datetime]
T = TypeVar("T")
#: A piece of writing work: given an open transaction, do it and return what the caller needs.
WriteOp = Callable[[Session], T]
log = logging.getLogger(__name__)


def system_clock() -> datetime:
    return datetime.now(UTC)


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()


class GroupCommitWriter:
    """One thread makes the chat path's writes, and commits whatever queued while it was busy as one transaction.

    Why: on SQLite, writers in several threads queue for the database's lock, and a waiting writer sleeps in
    steps of up to 100 ms; with a thousand small commits a second that was most of the chat's tail latency, and
    each commit's own cost most of its CPU. Here there is one writer, and a busy second costs a few commits.
    Each piece runs in its own savepoint, so a refusal (a resent message, someone else's conversation) undoes
    only itself. A caller hears back only after the commit: persisting before acknowledging still holds.
    """

    def __init__(self, session_factory: sessionmaker[Session], max_batch: int = 256) -> None:
        self._session_factory = session_factory
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def run(self, op: WriteOp[T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="sameboat-writer", daemon=True)
                self._thread.start()
            self._queue.put((op, future, loop))
        return await future

    def close(self, timeout: float = 10) -> None:
        """Finish what is queued, then stop the thread (a later run starts it again)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:  # stop after this batch
                    self._queue.put(None)
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[tuple[WriteOp[Any], asyncio.Future[Any], asyncio.AbstractEventLoop]]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._session_factory() as session:
                if session.get_bind().dialect.name == "sqlite":
                    session.execute(text("BEGIN IMMEDIATE"))  # take the write lock now, not half-way through
                for op, _future, _loop in batch:
                    try:
                        with session.begin_nested():
                            outcomes.append((True, op(session)))
                    except Exception as exc:  # this piece only: its savepoint is rolled back
                        outcomes.append((False, exc))
                session.commit()
        except Exception as exc:  # nothing of the batch was written; every caller hears so
            log.exception("group commit of %d writes failed", len(batch))
            outcomes = [(False, exc)] * len(batch)
        for (_op, future, loop), (ok, value) in zip(batch, outcomes, strict=True):
            with contextlib.suppress(RuntimeError):  # the caller's event loop has closed: nobody is waiting
                loop.call_soon_threadsafe(_settle, future, ok, value)


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


@dataclass
class ServiceContext:
    """What every use case needs, chosen by the composition root (bootstrap)."""

    session_factory: sessionmaker[Session]
    hasher: PasswordHasherPort
    clock: Clock = system_clock
    cipher: TextCipher | None = None
    hub: Hub | None = None
    embedder: TextEmbedder | None = None
    #: The risk engine (domain.safety.risk.RiskAssessor); None turns risk routing off.
    assessor: Any = None
    #: Called (as a background task) after each member message is stored; set by the composition root.
    on_member_message: Callable[[str, dict[str, Any]], Coroutine[Any, Any, Any]] | None = None
    open_signup: bool = False
    session_days: int = 14
    api_token_days: int = 30
    #: The chat path's writes (messages, receipts, heartbeats) go through one group-committing thread on SQLite;
    #: None (PostgreSQL, whose row locks let writers work side by side): each in its own transaction.
    writer: GroupCommitWriter | None = None

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def now(self) -> datetime:
        return self.clock()

    def transact(self, op: WriteOp[T]) -> T:
        """Run one piece of writing work in its own transaction (commit, or roll back on any failure)."""
        with self.uow() as uow:
            return op(uow.session)

    async def write(self, op: WriteOp[T]) -> T:
        """The same off the event loop: in the group-committing writer where there is one, else in a thread."""
        if self.writer is not None:
            return await self.writer.run(op)
        return await asyncio.to_thread(self.transact, op)

    def background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run work after the response, keeping a reference so the task is not garbage-collected."""
        task = asyncio.get_running_loop().create_task(work)
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)


_BACKGROUND: set[asyncio.Task[Any]] = set()


class TextCipher(Protocol):
    """Encrypts what people write before it is stored (adapters.crypto.FieldCipher)."""

    def encrypt(self, text: str) -> bytes: ...

    def decrypt(self, token: bytes) -> str: ...


class PasswordHasherPort:
    """Interface for the password adapter (argon2id in production)."""

    def hash(self, password: str) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def verify(self, password_hash: str, password: str) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def needs_rehash(self, password_hash: str) -> bool:  # pragma: no cover - interface
        raise NotImplementedError
