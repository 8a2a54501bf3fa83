"""Entry points of the matching engine.

``rank_listeners`` is the one call services make. Give it a list of snapshots for a small deployment (a
throw-away index is built per call) or a long-lived :class:`ListenerIndex` for a large one.

``rank_listeners_plainly`` scores the same way with a plain Python loop over snapshots. It is slower and
returns only ids and scores; the benchmark uses it as its baseline and the tests as an oracle.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from sameboat.domain.matching.index import DEFAULT_LIMIT, ListenerIndex
from sameboat.domain.matching.keywords import most_specific
from sameboat.domain.matching.labels import TagPrototypes, with_label_evidence
from sameboat.domain.matching.model import (
    ListenerSnapshot,
    ListenerStatus,
    MatchRequest,
    MatchResult,
    MatchWeights,
    Timing,
)
from sameboat.domain.matching.signals import (
    later_availability,
    recent_load,
    smoothed_rating,
    spare_capacity,
)
from sameboat.domain.matching.text import prepare_request_text
from sameboat.domain.matching.topics import DECLINE_TOPIC_WEIGHT, blend_votes, member_topics, vote_topics
from sameboat.domain.matching.whitening import fit_whitening
from sameboat.domain.taxonomy import Taxonomy


def rank_listeners(
    request: MatchRequest,
    request_vector: np.ndarray | None,
    listeners: Sequence[ListenerSnapshot] | ListenerIndex,
    taxonomy: Taxonomy,
    now: datetime,
    weights: MatchWeights | None = None,
    limit: int = DEFAULT_LIMIT,
    tag_prototypes: TagPrototypes | None = None,
) -> MatchResult:
    """Rank listeners for a member's request; see docs/matching.md.

    ``request_vector`` is the embedding of ``request.text`` (``MiniLMEmbedder.embed``), or None when it
    could not be computed (matching then uses tags, taxonomy words and filters only). ``now`` is the
    caller's clock. ``tag_prototypes`` (``TagPrototypes.build`` with the same model) let the taxonomy's
    embedded words count towards an inferred topic. Never raises for ordinary bad input: an empty pool,
    no text or unknown tags give an empty result with a reason or a ``needs_more_detail`` prompt.
    """
    if isinstance(listeners, ListenerIndex):
        index = listeners
        if index.taxonomy is not taxonomy:
            index.set_taxonomy(taxonomy)
    else:
        dimension = _dimension_of(listeners, request_vector)
        index = ListenerIndex(taxonomy, listeners, dimension=dimension)
    return index.rank(request, request_vector, now, weights, limit, tag_prototypes=tag_prototypes)


def _dimension_of(listeners: Sequence[ListenerSnapshot], request_vector: np.ndarray | None) -> int:
    if request_vector is not None:
        return int(np.asarray(request_vector).reshape(-1).shape[0])
    for listener in listeners:
        if listener.story_vector is not None:
            return int(np.asarray(listener.story_vector).reshape(-1).shape[0])
    return 384


def rank_listeners_plainly(
    request: MatchRequest,
    request_vector: np.ndarray | None,
    listeners: Sequence[ListenerSnapshot],
    taxonomy: Taxonomy,
    now: datetime,
    weights: MatchWeights | None = None,
    limit: int = DEFAULT_LIMIT,
    tag_prototypes: TagPrototypes | None = None,
) -> list[tuple[str, float]]:
    """The same ranking as :func:`rank_listeners`, one listener at a time: [(listener id, score)]."""
    weights = weights or MatchWeights()
    text = prepare_request_text(request.text)
    chosen = member_topics(request.tags, taxonomy.tags)
    if text.word_count == 0 and not chosen:
        return []

    query = None
    if request_vector is not None and text.word_count and text.looks_english:
        query = np.asarray(request_vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(query))
        query = query / norm if norm > 1e-6 else None

    def similarity_of(listener: ListenerSnapshot) -> float:
        if query is None or listener.story_vector is None:
            return 0.0
        story = np.asarray(listener.story_vector, dtype=np.float32).reshape(-1)
        if story.shape != query.shape:
            return 0.0  # another model's vector: not comparable (the index treats it the same way)
        norm = float(np.linalg.norm(story))
        return float(story @ query) / norm if norm > 1e-6 else 0.0

    similarities = {listener.id: similarity_of(listener) for listener in listeners}
    keyword_tags = taxonomy.tags_in_text(text.text) if text.word_count else []
    if chosen:
        topics, topic_tags = chosen, {t.tag for t in chosen} | set(keyword_tags)
    else:
        voters = sorted(
            (
                (similarities[x.id], x.id, x.tags)
                for x in listeners
                if x.tags and x.story_vector is not None and x.status is not ListenerStatus.SUSPENDED
            ),
            key=lambda item: (-item[0], item[1]),
        )[: weights.topic_neighbours]
        neighbours = [(s, tags) for s, _, tags in voters] if query is not None and not text.too_short else []
        if neighbours and weights.whitened_vote > 0:
            neighbours = _with_whitened_neighbours_plainly(neighbours, query, listeners, weights)
        topics = vote_topics(neighbours, most_specific(keyword_tags, taxonomy), weights.keyword_share)
        label_tag = None
        if tag_prototypes is not None and query is not None and not text.too_short:
            label_tag = tag_prototypes.nearest(query, taxonomy.tags)
        topics = with_label_evidence(topics, label_tag, weights.label_share)
        topic_tags = {t.tag for t in topics if t.weight >= DECLINE_TOPIC_WEIGHT} | set(keyword_tags)

    declined_lineage = set()
    for tag in topic_tags:
        declined_lineage.add(tag)
        if tag in taxonomy:
            declined_lineage.update(taxonomy.ancestors(tag))

    prefs = request.preferences
    candidates = []
    for listener in listeners:
        if listener.status is not ListenerStatus.APPROVED:
            continue
        if listener.id in request.blocked_listener_ids or (
            request.member_id is not None and request.member_id in listener.blocked_member_ids
        ):
            continue
        if listener.declined_topics & declined_lineage:
            continue
        if request.mode not in listener.modes:
            continue
        if prefs.languages and not {x.lower() for x in prefs.languages} & {x.lower() for x in listener.languages}:
            continue
        if prefs.listener_genders and (listener.gender or "").lower() not in {
            g.lower() for g in prefs.listener_genders
        }:
            continue
        if prefs.listener_age_ranges and (listener.age_range or "").lower() not in {
            a.lower() for a in prefs.listener_age_ranges
        }:
            continue
        if prefs.veteran and not listener.veteran:
            continue
        if listener.active_conversations >= listener.max_concurrent:
            continue
        if request.timing is Timing.NOW and not listener.available_now:
            continue
        candidates.append(listener)

    least_recent = min((max(x.recent_assignments, 0) for x in candidates), default=0)
    scored: list[tuple[float, str]] = []
    for listener in candidates:
        overlap = sum(
            t.weight * max((taxonomy.similarity(t.tag, mine) for mine in listener.tags), default=0.0) for t in topics
        )
        quality = float(
            smoothed_rating(
                listener.rating_count, listener.rating_mean, weights.rating_prior_mean, weights.rating_prior_weight
            )
        )
        if request.timing is Timing.NOW:
            availability = float(spare_capacity(listener.active_conversations, listener.max_concurrent))
        else:
            hours = (
                (listener.next_available_at.timestamp() - now.timestamp()) / 3600
                if listener.next_available_at
                else float("nan")
            )
            availability = float(
                later_availability(listener.available_now, hours, weights.availability_half_life_hours)
            )
        load = float(recent_load(listener.recent_assignments, least_recent, weights.fairness_full_load))
        favourite = 1.0 if listener.id in request.favourite_listener_ids else 0.0
        score = (
            weights.semantic * similarities[listener.id]
            + weights.topic * overlap
            + weights.quality * quality
            + weights.availability * availability
            - weights.fairness * load
            + weights.continuity * favourite
        )
        scored.append((round(score, 6), listener.id))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [(listener_id, score) for score, listener_id in scored[:limit]]


def _with_whitened_neighbours_plainly(
    neighbours: list[tuple[float, tuple[str, ...]]],
    query: np.ndarray | None,
    listeners: Sequence[ListenerSnapshot],
    weights: MatchWeights,
) -> list[tuple[float, tuple[str, ...]]]:
    """``ListenerIndex._with_whitened_neighbours``, one listener at a time."""
    if query is None:
        return neighbours
    stories: list[tuple[str, tuple[str, ...], np.ndarray]] = []
    for x in sorted(listeners, key=lambda item: item.id):
        if not x.tags or x.story_vector is None or x.status is ListenerStatus.SUSPENDED:
            continue
        story = np.asarray(x.story_vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(story))
        if story.shape == query.shape and np.isfinite(norm) and norm >= 1e-6:
            stories.append((x.id, x.tags, story / norm))
    if not stories:
        return neighbours
    whitening = fit_whitening(
        np.vstack([v for _, _, v in stories]), [tuple(sorted(t)) for _, t, _ in stories], weights.whitening_shrinkage
    )
    direction = whitening.query_direction(query) if whitening is not None else None
    if whitening is None or direction is None:
        return neighbours
    z, offset = direction
    scored = []
    for listener_id, tags, v in stories:
        norm = float(whitening.row_norms(v[None, :])[0])
        if norm > 1e-9:
            scored.append(((float(v @ z) - offset) / norm, listener_id, tags))
    scored.sort(key=lambda item: (-item[0], item[1]))
    others = [(s, tags) for s, _, tags in scored[: weights.topic_neighbours]]
    return blend_votes(neighbours, others, weights.whitened_vote)
