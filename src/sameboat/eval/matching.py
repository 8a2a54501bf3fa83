"""Offline evaluation of lived-experience matching on ESConv-format data.

The pool file's situations become listeners, each declaring the one taxonomy tag its ``problem_type``
maps to; the query file's situations become member requests given as text only (no tags). A ranked
listener is a correct match when its problem type is the request's. The engine is scored next to
baselines measured in the same run: random order, tags-only, TF-IDF and plain MiniLM cosine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from sameboat.domain.matching import (
    ListenerIndex,
    ListenerSnapshot,
    MatchRequest,
    MatchWeights,
)
from sameboat.domain.matching.ports import TextEmbedder
from sameboat.domain.taxonomy import Taxonomy
from sameboat.eval.esconv import Situation
from sameboat.eval.metrics import RankingScores, RankingTally
from sameboat.eval.tfidf import TfIdf

#: A fixed instant: the evaluation must not depend on when it runs.
EVALUATION_NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
RANDOM_SEED = 20250101


@dataclass(frozen=True)
class MethodResult:
    name: str
    scores: RankingScores
    #: Share of requests whose most likely inferred topic was the right one (engine rows only).
    topic_accuracy: float | None = None


@dataclass
class MatchingEvaluation:
    pool_size: int
    query_count: int
    model_version: str
    rows: list[MethodResult] = field(default_factory=list)
    embed_seconds: float = 0.0
    needs_more_detail: int = 0
    #: The pool's story vectors, kept for a leave-one-out run in the same process.
    pool_vectors: np.ndarray | None = None


def pool_snapshots(pool: Sequence[Situation], vectors: np.ndarray) -> list[ListenerSnapshot]:
    """One approved, available listener per pool situation, declaring the tag of its problem type."""
    return [
        ListenerSnapshot(
            id=f"pool-{i:05d}",
            display_name=f"Listener {i}",
            story_vector=vectors[i],
            tags=(s.tag,) if s.tag else (),
            available_now=True,
            max_concurrent=1,
        )
        for i, s in enumerate(pool)
    ]


def _correct(order: Sequence[int], pool_labels: Sequence[str], label: str) -> list[bool]:
    return [pool_labels[i] == label for i in order]


def _order_with_random_ties(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # Baselines break ties at random rather than by position in the file, which may follow the labels.
    tiebreak = rng.permutation(scores.size)
    return np.lexsort((tiebreak, -scores))


def engine_ranking(
    index: ListenerIndex,
    query: Situation,
    query_vector: np.ndarray,
    weights: MatchWeights,
    pool_row_of: dict[str, int],
) -> tuple[list[int], str | None, bool]:
    """Full ranking of the pool for one text-only request: (pool positions, top topic, needs more)."""
    result = index.rank(MatchRequest(text=query.text), query_vector, EVALUATION_NOW, weights, limit=len(index))
    order = [pool_row_of[m.listener_id] for m in result.matches]
    top_topic = result.topics[0].tag if result.topics else None
    return order, top_topic, result.needs_more_detail


def leave_one_out(
    pool: Sequence[Situation],
    pool_vectors: np.ndarray,
    taxonomy: Taxonomy,
    weights: MatchWeights,
) -> MethodResult:
    """The engine on the pool itself, each story asking with itself taken out of the pool.

    This is where the engine's few knobs may be chosen (docs/matching.md): it never looks at the
    query file.
    """
    snapshots = pool_snapshots(pool, pool_vectors)
    index = ListenerIndex(taxonomy, snapshots, dimension=pool_vectors.shape[1])
    labels = [s.label for s in pool]
    tally = RankingTally()
    topic_hits = 0
    for i, (story, snapshot) in enumerate(zip(pool, snapshots, strict=True)):
        index.remove(snapshot.id)
        row_of = {s.id: j for j, s in enumerate(snapshots)}
        order, top_topic, _ = engine_ranking(index, story, pool_vectors[i], weights, row_of)
        index.upsert(snapshot)
        tally.add(_correct(order, labels, story.label))
        topic_hits += int(top_topic is not None and top_topic == story.tag)
    return MethodResult("engine, leave-one-out on pool", tally.scores(), topic_hits / max(len(pool), 1))


def evaluate_matching(
    pool: Sequence[Situation],
    queries: Sequence[Situation],
    embedder: TextEmbedder,
    taxonomy: Taxonomy,
    weights: MatchWeights | None = None,
    progress: Callable[[str], None] | None = None,
) -> MatchingEvaluation:
    weights = weights or MatchWeights()
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    say(f"embedding {len(pool)} pool stories and {len(queries)} requests ...")
    pool_vectors = embedder.embed_many([s.text for s in pool])
    query_vectors = embedder.embed_many([q.text for q in queries])
    evaluation = MatchingEvaluation(
        pool_size=len(pool),
        query_count=len(queries),
        model_version=embedder.model_version,
        embed_seconds=time.perf_counter() - started,
        pool_vectors=pool_vectors,
    )
    pool_labels = [s.label for s in pool]
    snapshots = pool_snapshots(pool, pool_vectors)
    pool_row_of = {s.id: i for i, s in enumerate(snapshots)}
    rng = np.random.default_rng(RANDOM_SEED)

    say("ranking ...")
    tallies: dict[str, RankingTally] = {}
    topic_hits: dict[str, int] = {}

    def tally(name: str) -> RankingTally:
        return tallies.setdefault(name, RankingTally())

    # Baselines.
    tfidf = TfIdf([s.text for s in pool])
    cosine = query_vectors @ pool_vectors.T
    for qi, query in enumerate(queries):
        tally("random").add(_correct(rng.permutation(len(pool)), pool_labels, query.label))

        keyword_tags = taxonomy.tags_in_text(query.text)
        tag_scores = np.array(
            [max((taxonomy.similarity(k, s.tag) for k in keyword_tags), default=0.0) if s.tag else 0.0 for s in pool]
        )
        tally("tags only (taxonomy words)").add(
            _correct(_order_with_random_ties(tag_scores, rng), pool_labels, query.label)
        )
        tally("TF-IDF cosine").add(
            _correct(_order_with_random_ties(tfidf.similarities(query.text), rng), pool_labels, query.label)
        )
        tally("MiniLM cosine").add(_correct(_order_with_random_ties(cosine[qi], rng), pool_labels, query.label))

    # The engine, and the engine without each kind of topic evidence (to show what each adds).
    variants = {
        "engine (Sameboat)": weights,
        "  engine, story vote only": replace(weights, keyword_share=0.0),
        "  engine, taxonomy words only": replace(weights, topic_neighbours=0),
    }
    index = ListenerIndex(taxonomy, snapshots, dimension=pool_vectors.shape[1])
    for name, variant in variants.items():
        topic_hits[name] = 0
        for qi, query in enumerate(queries):
            order, top_topic, needs_more = engine_ranking(index, query, query_vectors[qi], variant, pool_row_of)
            # Filtered or unranked listeners (none here: all are approved and free) count as misses.
            tally(name).add(_correct(order, pool_labels, query.label))
            topic_hits[name] += int(top_topic == query.tag and top_topic is not None)
            if name == "engine (Sameboat)":
                evaluation.needs_more_detail += int(needs_more)

    for name in ("random", "tags only (taxonomy words)", "TF-IDF cosine", "MiniLM cosine", *variants):
        accuracy = topic_hits[name] / max(len(queries), 1) if name in topic_hits else None
        evaluation.rows.append(MethodResult(name=name, scores=tallies[name].scores(), topic_accuracy=accuracy))
    return evaluation


def format_table(evaluation: MatchingEvaluation) -> str:
    header = f"{'method':<32} {'P@1':>6} {'P@5':>6} {'MRR':>6} {'topic acc':>9}"
    lines = [header, "-" * len(header)]
    for row in evaluation.rows:
        s = row.scores
        topic = f"{row.topic_accuracy:9.3f}" if row.topic_accuracy is not None else f"{'':>9}"
        lines.append(f"{row.name:<32} {s.precision_at_1:6.3f} {s.precision_at_5:6.3f} {s.mrr:6.3f} {topic}")
    return "\n".join(lines)
