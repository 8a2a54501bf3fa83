"""Offline evaluation of lived-experience matching on ESConv-format data.

The pool file's lines become listeners, each declaring the one taxonomy tag its ``problem_type`` maps
to; the query file's situations become member requests given as text only (no tags, never the query
file's dialogs). A ranked listener is a correct match when its problem type is the request's. The
engine is scored next to baselines measured in the same run: random order, tags-only, TF-IDF and plain
MiniLM cosine.

A pool listener's story is either the line's one-sentence ``situation`` or, by default, that sentence
together with what the seeker wrote in the conversation (``STORY_FROM``): the pool's own text, as a
listener writing a few paragraphs about what they went through. Requests are the same either way.
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
    TagPrototypes,
    story_vector_from_parts,
)
from sameboat.domain.matching.ports import TextEmbedder
from sameboat.domain.taxonomy import Taxonomy
from sameboat.eval.esconv import Situation
from sameboat.eval.metrics import RankingScores, RankingTally
from sameboat.eval.tfidf import TfIdf

#: A fixed instant: the evaluation must not depend on when it runs.
EVALUATION_NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
RANDOM_SEED = 20250101

#: Where a pool listener's story comes from (``--story-from``).
STORY_FROM_SITUATION = "situation"
STORY_FROM_DIALOG = "situation+dialog"
STORY_FROM = (STORY_FROM_DIALOG, STORY_FROM_SITUATION)
DEFAULT_STORY_FROM = STORY_FROM_DIALOG


def story_text(situation: Situation, story_from: str = DEFAULT_STORY_FROM) -> str:
    """A pool listener's story as one text (what the TF-IDF baseline reads)."""
    if story_from == STORY_FROM_DIALOG and situation.seeker_words:
        return f"{situation.text} {situation.seeker_words}"
    return situation.text


def story_vectors(
    pool: Sequence[Situation],
    embedder: TextEmbedder,
    story_from: str = DEFAULT_STORY_FROM,
    situation_vectors: np.ndarray | None = None,
) -> np.ndarray:
    """The story vector of every pool listener.

    ``situation``: the embedding of the one-sentence situation. ``situation+dialog``: a story in two
    parts, the situation as its summary line and the seeker's own words in the conversation as its body
    (cut by the model at 256 word pieces), combined by ``story_vector_from_parts`` — the rule the app
    applies to a listener's bio and story. A line without seeker turns keeps its
    situation vector. ``situation_vectors`` may be passed when they are already computed.
    """
    if story_from not in STORY_FROM:
        raise ValueError(f"story_from must be one of {', '.join(STORY_FROM)}, not {story_from!r}")
    situations = situation_vectors if situation_vectors is not None else embedder.embed_many([s.text for s in pool])
    situations = np.asarray(situations, dtype=np.float32)
    if story_from == STORY_FROM_SITUATION:
        return situations
    stories = situations.copy()
    with_words = [i for i, s in enumerate(pool) if s.seeker_words]
    if with_words:
        words = np.asarray(embedder.embed_many([pool[i].seeker_words for i in with_words]), dtype=np.float32)
        # The app's own rule for a story with a summary line and a body (services.matching.embed_story).
        for row, i in enumerate(with_words):
            vector = story_vector_from_parts(situations[i], words[row])
            if vector is not None:
                stories[i] = vector
    return stories


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
    story_from: str = DEFAULT_STORY_FROM
    #: The pool's story vectors and its situations' vectors, kept for a leave-one-out run in the same process.
    pool_vectors: np.ndarray | None = None
    pool_situation_vectors: np.ndarray | None = None
    #: The taxonomy's embedded words, as the app builds them (kept for the leave-one-out run too).
    tag_prototypes: TagPrototypes | None = None


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
    tag_prototypes: TagPrototypes | None = None,
) -> tuple[list[int], str | None, bool]:
    """Full ranking of the pool for one text-only request: (pool positions, top topic, needs more)."""
    result = index.rank(
        MatchRequest(text=query.text),
        query_vector,
        EVALUATION_NOW,
        weights,
        limit=len(index),
        tag_prototypes=tag_prototypes,
    )
    order = [pool_row_of[m.listener_id] for m in result.matches]
    top_topic = result.topics[0].tag if result.topics else None
    return order, top_topic, result.needs_more_detail


def leave_one_out(
    pool: Sequence[Situation],
    pool_vectors: np.ndarray,
    taxonomy: Taxonomy,
    weights: MatchWeights,
    situation_vectors: np.ndarray | None = None,
    tag_prototypes: TagPrototypes | None = None,
) -> MethodResult:
    """The engine on the pool itself: each line's situation asks, text only, with its own listener taken
    out of the pool (the other listeners keep their whole stories).

    ``pool_vectors`` are the listeners' story vectors, ``situation_vectors`` the situations' (the same
    when stories are the situation alone, the default when omitted). With the query file, this is where
    the engine's few knobs may be chosen (docs/matching.md).
    """
    asking = pool_vectors if situation_vectors is None else situation_vectors
    snapshots = pool_snapshots(pool, pool_vectors)
    index = ListenerIndex(taxonomy, snapshots, dimension=pool_vectors.shape[1])
    labels = [s.label for s in pool]
    tally = RankingTally()
    topic_hits = 0
    for i, (story, snapshot) in enumerate(zip(pool, snapshots, strict=True)):
        index.remove(snapshot.id)
        if weights.whitened_vote > 0:
            # The whitened view is fitted without the asking listener's own story, as a deployment's would be.
            index.refit_whitening(weights.whitening_shrinkage)
        row_of = {s.id: j for j, s in enumerate(snapshots)}
        order, top_topic, _ = engine_ranking(index, story, asking[i], weights, row_of, tag_prototypes)
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
    story_from: str = DEFAULT_STORY_FROM,
) -> MatchingEvaluation:
    weights = weights or MatchWeights()
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    say(f"embedding {len(pool)} pool stories (from {story_from}) and {len(queries)} requests ...")
    situation_vectors = embedder.embed_many([s.text for s in pool])
    pool_vectors = story_vectors(pool, embedder, story_from, situation_vectors=situation_vectors)
    # Requests are the query file's situations as text only, whatever the pool's stories are made of.
    query_vectors = embedder.embed_many([q.text for q in queries])
    prototypes = TagPrototypes.build(taxonomy, embedder)
    evaluation = MatchingEvaluation(
        pool_size=len(pool),
        query_count=len(queries),
        model_version=embedder.model_version,
        embed_seconds=time.perf_counter() - started,
        story_from=story_from,
        pool_vectors=pool_vectors,
        pool_situation_vectors=situation_vectors,
        tag_prototypes=prototypes,
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
    # The baselines see the same listener stories as the engine.
    tfidf = TfIdf([story_text(s, story_from) for s in pool])
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
        "  engine, story vote only": replace(weights, keyword_share=0.0, label_share=0.0),
        "  engine, taxonomy words only": replace(weights, topic_neighbours=0, label_share=0.0),
        "  engine, without tag phrases": replace(weights, label_share=0.0),
        "  engine, without whitened vote": replace(weights, whitened_vote=0.0),
        "  engine, without either": replace(weights, label_share=0.0, whitened_vote=0.0),
    }
    index = ListenerIndex(taxonomy, snapshots, dimension=pool_vectors.shape[1])
    for name, variant in variants.items():
        topic_hits[name] = 0
        for qi, query in enumerate(queries):
            order, top_topic, needs_more = engine_ranking(
                index, query, query_vectors[qi], variant, pool_row_of, prototypes
            )
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
