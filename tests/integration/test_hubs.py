"""The two hub adapters behave the same: fan-out, bounded queues, and (Redis) across processes' hubs."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from sameboat.adapters.realtime import InMemoryHub, RedisHub
from sameboat.services.ports import OVERFLOW
from tests.conftest import missing_service, run_async

REDIS_URL = os.environ.get("SAMEBOAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["memory", "redis"])
def hub_pair(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Two hubs that should see each other's messages: the same object in memory, two clients on Redis."""
    if request.param == "memory":
        hub = InMemoryHub()
        return hub, hub
    if not redis_available():
        missing_service(f"Redis at {REDIS_URL}")
    return RedisHub(REDIS_URL), RedisHub(REDIS_URL)


def run(coro_factory):  # type: ignore[no-untyped-def]
    return run_async(coro_factory, timeout=20)


def test_publish_reaches_every_subscriber_in_order(hub_pair) -> None:  # type: ignore[no-untyped-def]
    publisher_hub, subscriber_hub = hub_pair
    channel = f"test:{uuid.uuid4().hex}"

    async def scenario() -> None:
        await publisher_hub.start()
        if subscriber_hub is not publisher_hub:
            await subscriber_hub.start()
        first = await subscriber_hub.subscribe(channel)
        second = await subscriber_hub.subscribe(channel)
        other = await subscriber_hub.subscribe(channel + ":other")
        await asyncio.sleep(0.2)  # Redis SUBSCRIBE is asynchronous
        for n in range(50):
            await publisher_hub.publish(channel, {"type": "event", "seq": n})
        assert [(await first.get())["seq"] for _ in range(50)] == list(range(50))
        assert [(await second.get())["seq"] for _ in range(50)] == list(range(50))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(other.get(), 0.3)
        for sub in (first, second, other):
            sub.close()
        await publisher_hub.close()
        if subscriber_hub is not publisher_hub:
            await subscriber_hub.close()

    run(scenario)


def test_a_slow_subscriber_is_cut_off_not_buffered_forever(hub_pair) -> None:  # type: ignore[no-untyped-def]
    publisher_hub, subscriber_hub = hub_pair
    channel = f"test:{uuid.uuid4().hex}"

    async def scenario() -> None:
        await publisher_hub.start()
        if subscriber_hub is not publisher_hub:
            await subscriber_hub.start()
        slow = await subscriber_hub.subscribe(channel, max_queue=10)
        await asyncio.sleep(0.2)
        for n in range(100):
            await publisher_hub.publish(channel, {"type": "event", "seq": n})
        await asyncio.sleep(0.3)
        assert (await slow.get()) is OVERFLOW
        slow.close()
        await publisher_hub.close()
        if subscriber_hub is not publisher_hub:
            await subscriber_hub.close()

    run(scenario)
