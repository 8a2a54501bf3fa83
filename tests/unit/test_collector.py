"""The server keeps long-lived objects out of the garbage collector's way, and gives them back when it stops."""

from __future__ import annotations

import asyncio
import gc

from sameboat.web.collector import collect_everything, run_collector_policy
from tests.conftest import run_async


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_objects_are_frozen_while_running_and_released_when_stopped() -> None:
    frozen_counts: list[int] = []

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_collector_policy(stop, freeze_every=0.05, full_every=3600))
        await asyncio.sleep(0.2)
        frozen_counts.append(gc.get_freeze_count())
        stop.set()
        await task

    run_async(scenario)
    assert frozen_counts[0] > 1000  # the interpreter's own objects, the test's, the app's modules
    assert gc.get_freeze_count() == 0


def test_the_full_pass_frees_cycles_that_were_frozen() -> None:
    gc.collect()
    Cycle()  # unreachable at once, but a cycle: only the collector can free it
    gc.freeze()
    try:
        assert gc.collect() == 0  # frozen: the collector does not look at it
        collect_everything()
        assert gc.get_freeze_count() == 0
        assert not any(isinstance(o, Cycle) for o in gc.get_objects())
    finally:
        gc.unfreeze()
