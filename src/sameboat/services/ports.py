"""Interfaces the services need from adapters (implemented in sameboat.adapters)."""

from __future__ import annotations

from typing import Any, Protocol

# Put in a subscriber's queue when it fell too far behind: the subscriber should disconnect its client,
# which resumes from the database. A slow client never grows server memory.
OVERFLOW: dict[str, Any] = {"type": "overflow"}


class Subscription(Protocol):
    async def get(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class Hub(Protocol):
    """Fan-out of small JSON messages to whoever listens on a channel. Unreliable by design: the database
    holds every event, and a subscriber that misses one catches up from there."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...

    async def subscribe(self, channel: str, max_queue: int = 256) -> Subscription: ...
