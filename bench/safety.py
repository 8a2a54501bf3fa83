"""Benchmark of the risk engine: time to assess one chat message, embedding included, on one core.

    python bench/safety.py                 # the team-written chat set, each message assessed cold
    python bench/safety.py --repeat 3      # more samples

The messages are the team-written chat set (``sameboat/eval/data/safety_messages.yaml``), each assessed
with the member's earlier messages as context, the way the chat service calls it. onnxruntime runs on one
thread and the engine's embedding cache is cleared before every message, so each figure includes one real
embedding per sentence. In the same run it measures the keyword-only baseline and the engine without
embeddings, so the figures can be compared on the same machine under the same load.

It prints the machine, the command, the load average, and p50 / p95 / p99 / max per message, twice: as
wall-clock time, and as CPU time of the assessing thread (``time.thread_time``; with one onnxruntime
thread the inference runs on the caller's thread). On a busy shared machine the wall clock mostly measures
waiting for a core; CPU time is what one message costs one core. It asserts nothing: figures go into
docs/safety.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from sameboat.adapters.embedding import MiniLMEmbedder
from sameboat.domain.safety.risk import RecentContext, RiskAssessor, keyword_level
from sameboat.eval.safety import read_chat_set


def _percentiles(samples_ms: Sequence[float]) -> str:
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return (
        f"p50 {at(0.50):6.2f} ms   p95 {at(0.95):6.2f} ms   p99 {at(0.99):6.2f} ms   "
        f"max {ordered[-1]:6.2f} ms   mean {statistics.fmean(ordered):6.2f} ms   (n={len(ordered)})"
    )


def _time_each(
    conversations: Sequence[Sequence[str]], assess: Callable[[str, RecentContext], object]
) -> tuple[list[float], list[float]]:
    """Wall-clock and thread-CPU milliseconds per message."""
    wall, cpu = [], []
    for messages in conversations:
        context = RecentContext()
        for text in messages:
            started, started_cpu = time.perf_counter(), time.thread_time()
            result = assess(text, context)
            cpu.append((time.thread_time() - started_cpu) * 1000.0)
            wall.append((time.perf_counter() - started) * 1000.0)
            if hasattr(result, "level"):
                context = context.add(result)  # type: ignore[arg-type]
    return wall, cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2, help="passes over the chat set (default 2)")
    args = parser.parse_args(argv)

    conversations = [case.messages for case in read_chat_set()]
    messages = sum(len(c) for c in conversations)
    print(f"command: {' '.join(['python', 'bench/safety.py', *(argv if argv is not None else sys.argv[1:])])}")
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus, "
        f"python {platform.python_version()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"workload: {len(conversations)} chat-set cases, {messages} messages, {args.repeat} passes")

    embedder = MiniLMEmbedder(threads=1)  # one core, as the target says
    engine = RiskAssessor(embedder)
    phrases_only = RiskAssessor(None)
    print(f"model: {engine.model_version}")
    for text in ("warm up the tokenizer and the session", "and the phrase layer"):
        engine.assess(text)
        phrases_only.assess(text)

    def engine_cold(text: str, context: RecentContext) -> object:
        engine._index._cache.clear()  # type: ignore[union-attr]  # every message pays for its embeddings
        return engine.assess(text, context)

    def embed_only(text: str, context: RecentContext) -> object:
        return embedder.embed(text)

    names = [
        "keyword baseline",
        "phrases only (no embeddings)",
        "embedding alone (whole message)",
        "shipped engine (phrases + MiniLM)",
    ]
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    runners: list[Callable[[str, RecentContext], object]] = [
        lambda text, context: keyword_level(text),
        phrases_only.assess,
        embed_only,
        engine_cold,
    ]
    gc.collect()
    for _ in range(args.repeat):
        for name, run in zip(names, runners, strict=True):
            wall_ms, cpu_ms = _time_each(conversations, run)
            wall[name] += wall_ms
            cpu[name] += cpu_ms

    for title, table in (("wall-clock time per message", wall), ("CPU time per message (one thread)", cpu)):
        print("")
        print(title)
        for name in names:
            print(f"  {name:<34} {_percentiles(table[name])}")
    print("")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
