"""Realtime hubs: in-memory (one process) and Redis pub/sub (several processes)."""

from sameboat.adapters.realtime.memory import InMemoryHub
from sameboat.adapters.realtime.redis_hub import RedisHub

__all__ = ["InMemoryHub", "RedisHub"]
