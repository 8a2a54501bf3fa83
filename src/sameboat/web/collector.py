"""Keep Python's cyclic garbage collector from stopping the server for long.

A full collection walks every object the process holds. With a thousand conversations open that is several
hundred thousand objects (sockets, tasks, the models), and under load a full collection stopped every thread
for 0.3-0.7 s, every 20-30 s: most of the chat's p99 (docs/realtime.md). Every few seconds, what exists is
moved out of the collector's way (``gc.freeze``, which costs next to nothing), so its automatic passes only
walk what is a few seconds old. Reference counting still frees frozen objects; only garbage cycles among
them (a closed socket leaves some) wait for the full pass that unfreezes and collects everything, every
15 minutes: the one pause left.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

log = logging.getLogger(__name__)


def collect_everything() -> float:
    """Unfreeze and run one full collection (cycles among long-lived objects are freed). Returns seconds."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    return time.perf_counter() - started


async def run_collector_policy(stop: asyncio.Event, freeze_every: float = 5.0, full_every: float = 900.0) -> None:
    """Until stop is set: freeze what exists every freeze_every seconds, one full collection every full_every."""
    next_full = time.monotonic() + full_every
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=freeze_every)
                return
            except TimeoutError:
                pass
            if time.monotonic() >= next_full:
                next_full = time.monotonic() + full_every
                log.info("full garbage collection took %.0f ms", collect_everything() * 1000)
            gc.freeze()
    finally:
        gc.unfreeze()  # a stopped app leaves the process as it found it (tests start many apps in one process)
