"""One transaction per use case. Commit on success, roll back on any failure: nothing is written half-way."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from sameboat.domain.matching.ports import TextEmbedder
from sameboat.services.ports import Hub

Clock = Callable[[], datetime]


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

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def now(self) -> datetime:
        return self.clock()

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
