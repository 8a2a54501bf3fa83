"""Redis pub/sub as an unreliable fan-out between app processes (the database stays the source of truth)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import redis.asyncio as aioredis

from sameboat.adapters.realtime.memory import InMemoryHub

log = logging.getLogger(__name__)
PREFIX = "sameboat:"


class RedisHub(InMemoryHub):
    """Publishes to Redis; one reader task per process receives and fans out to local subscribers."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self._redis: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._pending_unsubscribe: set[str] = set()

    async def start(self) -> None:
        self._redis = aioredis.from_url(self._url, decode_responses=True, health_check_interval=30)
        await self._redis.ping()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        # A subscription is needed before get_message can be called; this channel is never published to.
        await self._pubsub.subscribe(PREFIX + "__hub__")
        self._reader = asyncio.create_task(self._read_forever(), name="sameboat-redis-hub")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._redis is not None:
            await self._redis.aclose()
        await super().close()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        assert self._redis is not None, "RedisHub.start() was not called"
        try:
            await self._redis.publish(PREFIX + channel, json.dumps(message, separators=(",", ":")))
        except Exception:  # noqa: BLE001 - a lost poke costs latency, not data: clients resume from the DB
            log.exception("redis publish failed on %s; delivering locally only", channel)
            self.fan_out(channel, message)

    async def on_first_subscriber(self, channel: str) -> None:
        self._pending_unsubscribe.discard(channel)
        await self._pubsub.subscribe(PREFIX + channel)

    def on_last_unsubscribed(self, channel: str) -> None:
        self._pending_unsubscribe.add(channel)

    async def _read_forever(self) -> None:
        while True:
            try:
                if self._pending_unsubscribe:
                    gone = [c for c in self._pending_unsubscribe if c not in self.local_channels()]
                    self._pending_unsubscribe.clear()
                    if gone:
                        await self._pubsub.unsubscribe(*[PREFIX + c for c in gone])
                message = await self._pubsub.get_message(timeout=1.0)
                if message is None or message.get("type") != "message":
                    continue
                channel = message["channel"].removeprefix(PREFIX)
                self.fan_out(channel, json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep reading; subscribers resume from the DB on gaps
                log.exception("redis hub reader error; retrying")
                await asyncio.sleep(0.5)
