"""A hub inside one process. Also the local fan-out that the Redis hub feeds."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from sameboat.services.ports import OVERFLOW


class QueueSubscription:
    """A bounded queue. When full, it is emptied and marked with OVERFLOW so its reader disconnects."""

    def __init__(self, hub: InMemoryHub, channel: str, max_queue: int) -> None:
        self._hub = hub
        self.channel = channel
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=max_queue)
        self.overflowed = False

    def deliver(self, message: dict[str, Any]) -> None:
        if self.overflowed:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(OVERFLOW)

    async def get(self) -> dict[str, Any]:
        return await self._queue.get()

    def close(self) -> None:
        self._hub.unsubscribe(self)


class InMemoryHub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[QueueSubscription]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribers.clear()

    def fan_out(self, channel: str, message: dict[str, Any]) -> None:
        for subscription in list(self._subscribers.get(channel, ())):
            subscription.deliver(message)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.fan_out(channel, message)

    async def subscribe(self, channel: str, max_queue: int = 256) -> QueueSubscription:
        subscription = QueueSubscription(self, channel, max_queue)
        self._subscribers[channel].add(subscription)
        if len(self._subscribers[channel]) == 1:
            await self.on_first_subscriber(channel)
        return subscription

    def unsubscribe(self, subscription: QueueSubscription) -> None:
        subscribers = self._subscribers.get(subscription.channel)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._subscribers[subscription.channel]
            self.on_last_unsubscribed(subscription.channel)

    def local_channels(self) -> list[str]:
        return list(self._subscribers)

    # Hooks for the Redis hub, which subscribes upstream only to channels someone here listens on.
    async def on_first_subscriber(self, channel: str) -> None:
        return None

    def on_last_unsubscribed(self, channel: str) -> None:
        return None
