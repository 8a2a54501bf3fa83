"""Benchmark of lived-experience matching at 1k, 10k and 100k listeners.

    python bench/matching.py                      # all three sizes
    python bench/matching.py --sizes 1000,10000   # fewer

Listener stories are made by recombining fragments written for this script (no real data). Every
fragment and every request is embedded with the real model; a listener's story vector is the normalised
sum of its fragments' vectors plus a little noise, because embedding 100k composed stories one by one
would take about ten minutes and would not change how long ranking takes. The script prints:

* time to rank one request (p50 / p95 / p99), excluding the one request embedding, with the index;
* the same for a baseline measured in the same run: a plain Python loop over the snapshots
  (``rank_listeners_plainly``), and the ratio between the two;
* time to embed one request (p50 / p95 / p99) and memory per 100k listeners.

It asserts nothing: figures go into docs/matching.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from sameboat.adapters.embedding import MiniLMEmbedder
from sameboat.domain.matching import (
    ConversationMode,
    ListenerIndex,
    ListenerSnapshot,
    ListenerStatus,
    MatchRequest,
    Preferences,
    TagPrototypes,
    Timing,
    rank_listeners_plainly,
)
from sameboat.domain.taxonomy import shipped_taxonomy

NOW = datetime(2025, 6, 1, 18, 0, tzinfo=UTC)

# What happened, per lived-experience tag: fragments in a listener's own voice.
EXPERIENCES: dict[str, list[str]] = {
    "divorce": [
        "my marriage of twelve years ended and I moved into a small flat on my own",
        "my husband asked for a divorce the week after our youngest started school",
        "we separated and spent a year arguing over the house and the children",
        "I went through a long divorce while trying to keep things normal for my kids",
    ],
    "breakup": [
        "my partner of five years left me for someone at work",
        "my girlfriend ended things by text and I could not eat for weeks",
        "I was dumped just before we were meant to move in together",
        "a long-distance relationship fell apart and I blamed myself",
    ],
    "job-loss": [
        "I was laid off after nineteen years at the same company",
        "I lost my job during a restructuring and could not find work for eight months",
        "I got fired from a job I loved and felt ashamed to tell anyone",
        "my contract was not renewed and the bills kept coming",
    ],
    "depression": [
        "I spent most of a winter unable to get out of bed",
        "for years I felt numb and hopeless and hid it from everyone",
        "depression crept up on me after my second child was born",
        "I stopped answering my phone and everything felt grey",
    ],
    "grief-parent": [
        "my mother died suddenly when I was twenty-six",
        "I nursed my dad through cancer and he died at home",
        "I lost both my parents within eighteen months",
        "my father passed away while I was living abroad",
    ],
    "grief": [
        "my best friend died in a car accident",
        "we lost our baby late in the pregnancy",
        "my grandmother who raised me passed away",
        "my brother took his own life and the grief nearly swallowed me",
    ],
    "academic-pressure": [
        "I failed my final exams and had to repeat a year",
        "the pressure to get top grades made me sick before every test",
        "I nearly dropped out of university in my second year",
        "my thesis fell apart months before the deadline",
    ],
    "friendship-problems": [
        "my closest friend stopped speaking to me without explaining why",
        "I fell out with my whole friend group after a holiday",
        "a friendship I had since childhood turned toxic",
        "my friends drifted away when I moved cities",
    ],
    "loneliness": [
        "after I retired I went days without talking to anyone",
        "I moved to a new country and knew nobody",
        "I felt completely alone even in a busy office",
        "I lived alone through the pandemic and felt invisible",
    ],
    "caregiving": [
        "I cared for my husband through early dementia for six years",
        "I looked after my disabled son while working full time",
        "I became my mother's full-time carer and lost touch with my own life",
        "I juggled caring for my dad with raising two teenagers",
    ],
    "alcohol": [
        "my drinking got out of hand after a stressful promotion",
        "I have been sober for four years after a long struggle with alcohol",
        "I grew up with an alcoholic parent and repeated the pattern",
        "I used wine to get through every evening until I could not stop",
    ],
    "sleep-problems": [
        "I had insomnia for two years and barely functioned at work",
        "nightmares kept me awake after a frightening accident",
        "I would wake at three every morning with my heart racing",
        "shift work wrecked my sleep and my mood with it",
    ],
    "issues-with-parents": [
        "my parents never accepted the career I chose",
        "I grew up with a controlling mother and still feel her voice in my head",
        "I stopped talking to my father after years of arguments",
        "my parents' expectations crushed me as a teenager",
    ],
    "body-image": [
        "I hated my body for most of my twenties",
        "after gaining weight I stopped going out with friends",
        "I compared myself to everyone online and felt ugly",
        "an eating disorder took over my teenage years",
    ],
}
OPENINGS = [
    "A few years ago", "Last spring", "When I was nineteen", "In my thirties", "Not long ago",
    "During the pandemic", "Ten years ago", "Two winters ago",
]  # fmt: skip
FEELINGS = [
    "I felt like nobody understood what it was like.",
    "I was angry and ashamed in equal measure.",
    "I thought I would never feel like myself again.",
    "I kept it to myself for far too long.",
    "Some days I could barely get through the morning.",
    "I was frightened about the future.",
]
WHAT_HELPED = [
    "Talking to someone who had been there helped more than anything.",
    "Small routines and one honest friend got me through.",
    "A support group showed me I was not the only one.",
    "Writing things down and walking every day helped me slowly.",
    "Learning to ask for help was the turning point.",
    "Time, patience and a good counsellor made the difference.",
]
REQUEST_STARTS = [
    "I need to talk to someone because", "Honestly I don't know where to start,", "It's been a hard month:",
    "I can't stop thinking about it:", "My friends are tired of hearing it, but",
]  # fmt: skip


@dataclass(frozen=True)
class Timings:
    p50: float
    p95: float
    p99: float

    @classmethod
    def of(cls, seconds: list[float]) -> Timings:
        ms = np.asarray(seconds) * 1000.0
        return cls(*(float(np.percentile(ms, q)) for q in (50, 95, 99)))


def machine_description() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.system()} {platform.release()}"
    )


def rss_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class FragmentVectors:
    """Every fragment embedded once with the real model."""

    def __init__(self, embedder: MiniLMEmbedder) -> None:
        texts = sorted({*OPENINGS, *FEELINGS, *WHAT_HELPED, *(f for fs in EXPERIENCES.values() for f in fs)})
        vectors = embedder.embed_many(texts)
        self.of = dict(zip(texts, vectors, strict=True))

    def story_vector(self, parts: list[str], rng: np.random.Generator) -> np.ndarray:
        v = np.sum([self.of[p] for p in parts], axis=0) + 0.02 * rng.standard_normal(384).astype(np.float32)
        return (v / np.linalg.norm(v)).astype(np.float32)


def make_pool(size: int, fragments: FragmentVectors, seed: int) -> list[ListenerSnapshot]:
    rng = np.random.default_rng(seed)
    tags = list(EXPERIENCES)
    statuses = [ListenerStatus.APPROVED, ListenerStatus.PAUSED, ListenerStatus.SUSPENDED]
    pool = []
    for i in range(size):
        own = list(rng.choice(tags, size=int(rng.integers(1, 3)), replace=False))
        experience = [str(rng.choice(EXPERIENCES[t])) for t in own]
        parts = [str(rng.choice(OPENINGS)), *experience, str(rng.choice(FEELINGS)), str(rng.choice(WHAT_HELPED))]
        max_concurrent = int(rng.integers(1, 4))
        languages = {"en"} if rng.random() < 0.9 else {"es"}
        if rng.random() < 0.15:
            languages.add(str(rng.choice(["es", "fr", "pt", "ar"])))
        pool.append(
            ListenerSnapshot(
                id=f"listener-{i:06d}",
                display_name=f"Listener {i}",
                story_vector=fragments.story_vector(parts, rng),
                tags=tuple(own),
                languages=frozenset(languages),
                gender=str(rng.choice(["woman", "man", "non-binary"], p=[0.55, 0.4, 0.05])),
                age_range=str(rng.choice(["18-24", "25-34", "35-49", "50-64", "65+"])),
                veteran=bool(rng.random() < 0.08),
                declined_topics=frozenset({str(rng.choice(tags))}) if rng.random() < 0.1 else frozenset(),
                status=statuses[int(rng.choice(3, p=[0.9, 0.07, 0.03]))],
                modes=frozenset({ConversationMode.CHAT, ConversationMode.VOICE})
                if rng.random() < 0.6
                else frozenset({ConversationMode.CHAT}),
                active_conversations=int(rng.integers(0, max_concurrent + 1)),
                max_concurrent=max_concurrent,
                available_now=bool(rng.random() < 0.4),
                next_available_at=NOW + timedelta(hours=float(rng.uniform(0, 96))) if rng.random() < 0.7 else None,
                rating_count=int(rng.integers(0, 60)),
                rating_mean=float(rng.uniform(3.0, 5.0)),
                recent_assignments=int(rng.integers(0, 6)),
                blocked_member_ids=frozenset({f"member-{int(rng.integers(0, 50))}"})
                if rng.random() < 0.02
                else frozenset(),
            )
        )
    return pool


def make_requests(count: int, seed: int) -> list[tuple[MatchRequest, str]]:
    """Varied requests: most text-only, some with tags, language or other preferences, some for later."""
    rng = np.random.default_rng(seed)
    tags = list(EXPERIENCES)
    requests = []
    for i in range(count):
        tag = str(rng.choice(tags))
        text = f"{rng.choice(REQUEST_STARTS)} {rng.choice(EXPERIENCES[tag])}. {rng.choice(FEELINGS)}"
        prefs = Preferences(
            languages=frozenset({"es"}) if rng.random() < 0.1 else frozenset(),
            listener_genders=frozenset({"woman"}) if rng.random() < 0.15 else frozenset(),
            veteran=True if rng.random() < 0.03 else None,
        )
        requests.append(
            (
                MatchRequest(
                    text=text,
                    member_id=f"member-{i % 50}",
                    tags=(tag,) if rng.random() < 0.3 else (),
                    preferences=prefs,
                    timing=Timing.LATER if rng.random() < 0.2 else Timing.NOW,
                    blocked_listener_ids=frozenset({f"listener-{int(rng.integers(0, 1000)):06d}"}),
                    favourite_listener_ids=frozenset({f"listener-{int(rng.integers(0, 1000)):06d}"})
                    if rng.random() < 0.2
                    else frozenset(),
                ),
                text,
            )
        )
    return requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="pool sizes, comma-separated")
    parser.add_argument("--requests", type=int, default=400, help="requests timed per pool size")
    parser.add_argument("--baseline-requests", type=int, default=10, help="requests timed for the plain loop")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: half the cores)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    print(f"command: python {' '.join(sys.argv)}")
    print(f"machine: {machine_description()}")
    taxonomy = shipped_taxonomy()
    embedder = MiniLMEmbedder(threads=args.threads)
    embedder.embed("warm up")
    print(f"model:   {embedder.model_version}")

    requests = make_requests(args.requests, seed=7)
    embed_times = []
    request_vectors = []
    for _, text in requests:
        started = time.perf_counter()
        request_vectors.append(embedder.embed(text))
        embed_times.append(time.perf_counter() - started)
    embed = Timings.of(embed_times)
    # The app ranks with the taxonomy's embedded words too (services.matching.tag_prototypes).
    started = time.perf_counter()
    prototypes = TagPrototypes.build(taxonomy, embedder)
    print(f"tag prototypes: {len(prototypes.tag_ids)} tags built in {time.perf_counter() - started:.1f} s")
    fragments = FragmentVectors(embedder)

    rows = []
    for size in sizes:
        gc.collect()
        before = rss_bytes()
        pool = make_pool(size, fragments, seed=size)
        after_pool = rss_bytes()
        started = time.perf_counter()
        index = ListenerIndex(taxonomy, pool)
        build_seconds = time.perf_counter() - started
        for (request, _), vector in list(zip(requests, request_vectors, strict=True))[:20]:
            index.rank(request, vector, NOW, tag_prototypes=prototypes)  # warm the lazy taxonomy columns
        after_index = rss_bytes()

        rank_times = []
        offered = 0
        for (request, _), vector in zip(requests, request_vectors, strict=True):
            started = time.perf_counter()
            result = index.rank(request, vector, NOW, limit=10, tag_prototypes=prototypes)
            rank_times.append(time.perf_counter() - started)
            offered += len(result.matches)
        fast = Timings.of(rank_times)

        plain_times = []
        for (request, _), vector in list(zip(requests, request_vectors, strict=True))[: args.baseline_requests]:
            started = time.perf_counter()
            rank_listeners_plainly(request, vector, pool, taxonomy, NOW, limit=10, tag_prototypes=prototypes)
            plain_times.append(time.perf_counter() - started)
        plain = Timings.of(plain_times)

        rows.append(
            dict(
                size=size,
                fast=fast,
                plain=plain,
                speedup=plain.p50 / fast.p50,
                build=build_seconds,
                arrays=index.memory_bytes(),
                rss_index=max(after_index - after_pool, 0),
                rss_total=max(after_index - before, 0),
                offered=offered / len(requests),
            )
        )
        del index, pool

    print()
    print(f"embed one request ({len(embed_times)} requests, {embedder._threads} onnxruntime thread(s)): "
          f"p50 {embed.p50:.1f} ms · p95 {embed.p95:.1f} ms · p99 {embed.p99:.1f} ms")  # fmt: skip
    print()
    header = (
        f"{'listeners':>9} | {'rank p50':>8} {'p95':>7} {'p99':>7} | {'plain loop p50':>14} {'speed-up':>8} | "
        f"{'build':>7} | {'arrays':>9} {'index RSS':>9} {'pool+index RSS':>14} | {'offered':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['size']:>9,} | {r['fast'].p50:6.2f}ms {r['fast'].p95:5.2f}ms {r['fast'].p99:5.2f}ms | "
            f"{r['plain'].p50:12.1f}ms {r['speedup']:7.0f}x | {r['build']:6.2f}s | "
            f"{r['arrays'] / 2**20:7.1f}MB {r['rss_index'] / 2**20:7.1f}MB {r['rss_total'] / 2**20:12.1f}MB | "
            f"{r['offered']:7.1f}"
        )
    largest = rows[-1] if rows else None
    if largest:
        scale = 100_000 / largest["size"]
        print()
        print(
            f"memory per 100k listeners (from the {largest['size']:,} pool): numpy arrays "
            f"{largest['arrays'] * scale / 2**20:.0f} MB; index RSS {largest['rss_index'] * scale / 2**20:.0f} MB; "
            f"snapshots + index RSS {largest['rss_total'] * scale / 2**20:.0f} MB"
        )
    print(
        f"rank times exclude embedding the request; {len(requests)} requests per size "
        f"(plain loop: {min(args.baseline_requests, len(requests))}); limit 10; medians of the plain loop compared."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
