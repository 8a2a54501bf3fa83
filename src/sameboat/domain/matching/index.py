"""The listener index: every listener as one row of numpy arrays, so a request is ranked with a handful
of vector operations instead of a Python loop.

* Story vectors are a float32 matrix; similarity is one exact matrix-vector product (no approximation:
  at 100k listeners it takes a few milliseconds, see docs/matching.md).
* Hard filters are boolean masks built from columns (status, capacity, availability, modes, gender, age,
  veteran) and from small inverted indexes (language → rows, declined topic → rows, blocked member →
  rows).
* Taxonomy credit ("how well does this listener's experience cover tag t") is one float32 column per
  tag, computed the first time a request needs it and kept up to date on every upsert.

Not thread-safe: the service that owns an index should update it under a lock (or build a new one and
swap it in) while other threads rank.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np

from sameboat.domain.matching.explain import language_name, listener_reasons
from sameboat.domain.matching.keywords import most_specific, phrases_for
from sameboat.domain.matching.labels import TagPrototypes, with_label_evidence
from sameboat.domain.matching.model import (
    ConversationMode,
    ListenerSnapshot,
    ListenerStatus,
    MatchRequest,
    MatchResult,
    MatchWeights,
    RankedListener,
    ScoreBreakdown,
    Timing,
    TopicGuess,
)
from sameboat.domain.matching.signals import (
    later_availability,
    recent_load,
    smoothed_rating,
    spare_capacity,
)
from sameboat.domain.matching.text import (
    MORE_DETAIL_PROMPT,
    UNSUPPORTED_LANGUAGE_PROMPT,
    PreparedText,
    prepare_request_text,
)
from sameboat.domain.matching.topics import DECLINE_TOPIC_WEIGHT, blend_votes, member_topics, vote_topics
from sameboat.domain.matching.whitening import Whitening, fit_whitening_with_norms
from sameboat.domain.taxonomy import Taxonomy

DEFAULT_DIMENSION = 384
DEFAULT_LIMIT = 10

_STATUS_CODE = {ListenerStatus.APPROVED: 0, ListenerStatus.PAUSED: 1, ListenerStatus.SUSPENDED: 2}
_MODE_BIT = {ConversationMode.CHAT: 1, ConversationMode.VOICE: 2}
_NO_CODE = -1

# Filters in the order they are applied; the first one that leaves nobody explains an empty result.
FILTER_ORDER = (
    "not approved",
    "blocked",
    "declines the topic",
    "mode not offered",
    "language",
    "preferences",
    "full",
    "not available now",
)


def _unit_or_none(vector: np.ndarray | None, dimension: int) -> np.ndarray | None:
    if vector is None:
        return None
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    if v.shape[0] != dimension:
        # From another model (a model change is being re-embedded in the background): not comparable,
        # so treat it as not embedded yet rather than fail the request.
        return None
    norm = float(np.linalg.norm(v))
    if not np.isfinite(norm) or norm < 1e-6:
        return None
    return v / norm


class ListenerIndex:
    """All listeners of a deployment, ready to rank. Build once, then ``upsert`` / ``remove`` changes."""

    def __init__(
        self,
        taxonomy: Taxonomy,
        snapshots: Iterable[ListenerSnapshot] = (),
        *,
        dimension: int = DEFAULT_DIMENSION,
    ) -> None:
        self._taxonomy = taxonomy
        self._phrases = phrases_for(taxonomy)
        self._dimension = dimension
        self._size = 0
        self._snapshots: list[ListenerSnapshot] = []
        self._row_of: dict[str, int] = {}
        self._language_rows: dict[str, np.ndarray] = {}
        self._tag_rows: dict[str, set[int]] = {}
        self._declined_rows: dict[str, set[int]] = {}
        self._blocking_rows: dict[str, set[int]] = {}
        self._gender_code: dict[str, int] = {}
        self._age_code: dict[str, int] = {}
        self._credit: dict[str, np.ndarray] = {}
        # The pool's whitened view for the topic vote: fitted lazily, refitted after enough changes.
        self._whitening: Whitening | None = None
        self._whitening_shrinkage: float | None = None
        self._changes_since_fit = 0
        self._fitted_rows = 0
        self._allocate(0)
        snapshots = list(snapshots)
        self._grow_to(len(snapshots))
        for snapshot in snapshots:
            self.upsert(snapshot)

    # ------------------------------------------------------------------ storage of rows

    def _allocate(self, capacity: int) -> None:
        self._capacity = capacity
        self._vectors = np.zeros((capacity, self._dimension), dtype=np.float32)
        self._has_vector = np.zeros(capacity, dtype=bool)
        self._status = np.zeros(capacity, dtype=np.int8)
        self._modes = np.zeros(capacity, dtype=np.uint8)
        self._gender = np.full(capacity, _NO_CODE, dtype=np.int32)
        self._age = np.full(capacity, _NO_CODE, dtype=np.int32)
        self._veteran = np.zeros(capacity, dtype=bool)
        self._active = np.zeros(capacity, dtype=np.int32)
        self._max_concurrent = np.zeros(capacity, dtype=np.int32)
        self._available_now = np.zeros(capacity, dtype=bool)
        self._next_free = np.full(capacity, np.nan, dtype=np.float64)
        self._rating_count = np.zeros(capacity, dtype=np.float32)
        self._rating_mean = np.zeros(capacity, dtype=np.float32)
        self._recent = np.zeros(capacity, dtype=np.float32)
        self._has_tags = np.zeros(capacity, dtype=bool)
        self._white_norm = np.zeros(capacity, dtype=np.float32)

    _ROW_ARRAYS = (
        "_vectors", "_has_vector", "_status", "_modes", "_gender", "_age", "_veteran", "_active",
        "_max_concurrent", "_available_now", "_next_free", "_rating_count", "_rating_mean", "_recent",
        "_has_tags", "_white_norm",
    )  # fmt: skip

    def _grow_to(self, needed: int) -> None:
        if needed <= self._capacity:
            return
        new_capacity = max(needed, 2 * self._capacity, 64)
        for name in self._ROW_ARRAYS:
            old = getattr(self, name)
            fresh = np.zeros((new_capacity, *old.shape[1:]), dtype=old.dtype)
            if name in ("_gender", "_age"):
                fresh.fill(_NO_CODE)
            elif name == "_next_free":
                fresh.fill(np.nan)
            fresh[: self._size] = old[: self._size]
            setattr(self, name, fresh)
        for name, column in list(self._language_rows.items()):
            self._language_rows[name] = self._extended(column, new_capacity)
        for tag, column in list(self._credit.items()):
            self._credit[tag] = self._extended(column, new_capacity)
        self._capacity = new_capacity

    def _extended(self, column: np.ndarray, capacity: int) -> np.ndarray:
        fresh = np.zeros(capacity, dtype=column.dtype)
        fresh[: self._size] = column[: self._size]
        return fresh

    def __len__(self) -> int:
        return self._size

    def __contains__(self, listener_id: object) -> bool:
        return listener_id in self._row_of

    @property
    def taxonomy(self) -> Taxonomy:
        return self._taxonomy

    def snapshot(self, listener_id: str) -> ListenerSnapshot:
        return self._snapshots[self._row_of[listener_id]]

    def snapshots(self) -> list[ListenerSnapshot]:
        return list(self._snapshots)

    def memory_bytes(self) -> int:
        """Bytes held in numpy arrays (the Python snapshot objects come on top)."""
        total = sum(getattr(self, name).nbytes for name in self._ROW_ARRAYS)
        total += sum(c.nbytes for c in self._language_rows.values())
        total += sum(c.nbytes for c in self._credit.values())
        return total

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        """Use a changed taxonomy (an admin added tags): drop the cached credit columns."""
        self._taxonomy = taxonomy
        self._phrases = phrases_for(taxonomy)
        self._credit.clear()

    def upsert(self, snapshot: ListenerSnapshot) -> None:
        """Add a listener or replace what the index knows about them.

        The story vector is copied into the index's matrix and not kept on the stored snapshot, so a
        pool is held in memory once (``snapshot(id)`` returns it with ``story_vector=None``).
        """
        vector = _unit_or_none(snapshot.story_vector, self._dimension)
        if snapshot.story_vector is not None:
            snapshot = replace(snapshot, story_vector=None)
        row = self._row_of.get(snapshot.id)
        if row is None:
            self._grow_to(self._size + 1)
            row = self._size
            self._size += 1
            self._snapshots.append(snapshot)
            self._row_of[snapshot.id] = row
        else:
            self._forget_row(row, self._snapshots[row])
            self._snapshots[row] = snapshot
        self._write_row(row, snapshot, vector)

    def update_many(self, snapshots: Iterable[ListenerSnapshot]) -> None:
        for snapshot in snapshots:
            self.upsert(snapshot)

    def remove(self, listener_id: str) -> None:
        """Forget a listener (moves the last row into the gap, so rows stay dense)."""
        row = self._row_of.pop(listener_id, None)
        if row is None:
            return
        self._forget_row(row, self._snapshots[row])
        last = self._size - 1
        if row != last:
            moved = self._snapshots[last]
            moved_vector = self._vectors[last].copy() if self._has_vector[last] else None
            self._forget_row(last, moved)
            self._snapshots[row] = moved
            self._row_of[moved.id] = row
            self._write_row(row, moved, moved_vector)
        self._snapshots.pop()
        self._size -= 1
        self._clear_row(last)
        self._changes_since_fit += 1

    def _clear_row(self, row: int) -> None:
        for name in self._ROW_ARRAYS:
            column = getattr(self, name)
            column[row] = np.nan if name == "_next_free" else (_NO_CODE if name in ("_gender", "_age") else 0)
        for column in (*self._language_rows.values(), *self._credit.values()):
            column[row] = 0

    def _forget_row(self, row: int, snapshot: ListenerSnapshot) -> None:
        for tag in snapshot.tags:
            self._tag_rows.get(tag, set()).discard(row)
        for tag in snapshot.declined_topics:
            self._declined_rows.get(tag, set()).discard(row)
        for member in snapshot.blocked_member_ids:
            self._blocking_rows.get(member, set()).discard(row)
        for language in snapshot.languages:
            column = self._language_rows.get(language.lower())
            if column is not None:
                column[row] = False

    def _write_row(self, row: int, s: ListenerSnapshot, vector: np.ndarray | None) -> None:
        self._has_vector[row] = vector is not None
        self._vectors[row] = vector if vector is not None else 0.0
        self._changes_since_fit += 1
        self._white_norm[row] = (
            self._whitening.row_norms(vector[None, :])[0] if self._whitening is not None and vector is not None else 0.0
        )
        self._status[row] = _STATUS_CODE.get(s.status, _STATUS_CODE[ListenerStatus.SUSPENDED])
        self._modes[row] = sum(_MODE_BIT.get(m, 0) for m in s.modes)
        self._gender[row] = self._code(self._gender_code, s.gender)
        self._age[row] = self._code(self._age_code, s.age_range)
        self._veteran[row] = bool(s.veteran)
        self._active[row] = max(int(s.active_conversations), 0)
        self._max_concurrent[row] = max(int(s.max_concurrent), 0)
        self._available_now[row] = bool(s.available_now)
        self._next_free[row] = s.next_available_at.timestamp() if s.next_available_at else np.nan
        self._rating_count[row] = max(int(s.rating_count), 0)
        self._rating_mean[row] = float(s.rating_mean) if np.isfinite(s.rating_mean) else 0.0
        self._recent[row] = max(int(s.recent_assignments), 0)
        self._has_tags[row] = bool(s.tags)
        for tag in s.tags:
            self._tag_rows.setdefault(tag, set()).add(row)
        for tag in s.declined_topics:
            self._declined_rows.setdefault(tag, set()).add(row)
        for member in s.blocked_member_ids:
            self._blocking_rows.setdefault(member, set()).add(row)
        for language in s.languages:
            key = language.lower()
            if key not in self._language_rows:
                self._language_rows[key] = np.zeros(self._capacity, dtype=bool)
            self._language_rows[key][row] = True
        for tag, column in self._credit.items():
            column[row] = self._tag_credit_for(tag, s.tags)

    @staticmethod
    def _code(codes: dict[str, int], value: str | None) -> int:
        if value is None:
            return _NO_CODE
        return codes.setdefault(value.lower(), len(codes))

    def _tag_credit_for(self, member_tag: str, listener_tags: Sequence[str]) -> float:
        return max((self._taxonomy.similarity(member_tag, t) for t in listener_tags), default=0.0)

    def _credit_column(self, member_tag: str) -> np.ndarray:
        """How well each listener's tags cover ``member_tag`` (1 exact, partial through the tree)."""
        column = self._credit.get(member_tag)
        if column is None:
            column = np.zeros(self._capacity, dtype=np.float32)
            for listener_tag, rows in self._tag_rows.items():
                credit = self._taxonomy.similarity(member_tag, listener_tag)
                if credit > 0 and rows:
                    index = np.fromiter(rows, dtype=np.int64, count=len(rows))
                    np.maximum.at(column, index, np.float32(credit))
            self._credit[member_tag] = column
        return column[: self._size]

    def _rows(self, rows: Iterable[int]) -> np.ndarray:
        return np.fromiter(rows, dtype=np.int64)

    # ------------------------------------------------------------------ ranking

    def rank(
        self,
        request: MatchRequest,
        request_vector: np.ndarray | None,
        now: datetime,
        weights: MatchWeights | None = None,
        limit: int = DEFAULT_LIMIT,
        tag_prototypes: TagPrototypes | None = None,
    ) -> MatchResult:
        """Rank the listeners for one request. Never raises for ordinary bad input.

        ``tag_prototypes`` (made with the same model as ``request_vector``) add the taxonomy's embedded
        words to the evidence for an inferred topic.
        """
        weights = weights or MatchWeights()
        taxonomy = self._taxonomy
        text = prepare_request_text(request.text)
        chosen = member_topics(request.tags, taxonomy.tags)
        if text.word_count == 0 and not chosen:
            return MatchResult(matches=(), reason=MORE_DETAIL_PROMPT, needs_more_detail=True, prompt=MORE_DETAIL_PROMPT)

        n = self._size
        query = self._usable_query(text, request_vector) if n else None
        direction = None
        if not chosen and not text.too_short and query is not None and weights.whitened_vote > 0:
            whitening = self._current_whitening(weights)
            direction = whitening.query_direction(query) if whitening is not None else None
        similarities, whitened_dots = self._dot_products(query, direction[0] if direction else None)
        keyword_tags = self._phrases.tags_in_text(text.text) if text.word_count else []
        if chosen:
            topics, inferred = chosen, False
        else:
            # One word embeds too vaguely for its neighbours to say much; then only taxonomy words count.
            neighbours = [] if text.too_short else self._nearest_stories(similarities, weights.topic_neighbours)
            if neighbours and direction is not None and whitened_dots is not None:
                neighbours = self._with_whitened_neighbours(neighbours, whitened_dots, direction[1], weights)
            topics = vote_topics(neighbours, most_specific(keyword_tags, taxonomy), weights.keyword_share)
            label_tag = None
            if tag_prototypes is not None and not text.too_short:
                label_tag = tag_prototypes.nearest(self._usable_query(text, request_vector), taxonomy.tags)
            topics = with_label_evidence(topics, label_tag, weights.label_share)
            inferred = True

        candidates, excluded, empty_reason = self._filter(request, topics, inferred, keyword_tags)
        prompt = None
        if text.too_short:
            prompt = MORE_DETAIL_PROMPT
        elif not text.looks_english and not chosen:
            prompt = UNSUPPORTED_LANGUAGE_PROMPT
        common = dict(
            needs_more_detail=prompt is not None,
            prompt=prompt,
            topics=topics,
            topics_inferred=inferred,
            text_truncated=text.truncated,
            text_language_supported=text.looks_english,
            excluded=excluded,
        )
        if n == 0 or candidates.size == 0:
            return MatchResult(matches=(), reason=empty_reason, **common)

        parts = self._signal_parts(request, topics, similarities, now, weights, candidates)
        total = parts["total"]
        chosen_rows = self._top_rows(candidates, total, limit)
        matches = tuple(
            self._ranked(row, parts, position, request, topics, not inferred, now, weights)
            for position, row in chosen_rows
        )
        return MatchResult(matches=matches, **common)

    def _usable_query(self, text: PreparedText, request_vector: np.ndarray | None) -> np.ndarray | None:
        """The request's unit vector, or None when it is missing, of another model or not English."""
        if request_vector is None or text.word_count == 0 or not text.looks_english:
            return None
        return _unit_or_none(request_vector, self._dimension)

    def _dot_products(
        self, query: np.ndarray | None, whitened_direction: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Cosine similarities to the request and, when given, dot products with the whitened direction.

        Both come from one pass over the story matrix (the scan is bound by memory bandwidth, so two
        columns cost far less than two scans: ~7 ms instead of ~10 ms at 100k listeners here).
        """
        n = self._size
        if query is None or n == 0:
            return np.zeros(n, dtype=np.float32), None
        if whitened_direction is None:
            return self._similarities_to(query), None
        both = np.einsum("ij,kj->ik", self._vectors[:n], np.stack([query, whitened_direction]))
        return np.ascontiguousarray(both[:, 0]), np.ascontiguousarray(both[:, 1])

    def _similarities_to(self, query: np.ndarray) -> np.ndarray:
        n = self._size
        # einsum rather than BLAS: one thread streams the matrix as fast as two (the product is bound by
        # memory bandwidth), leaves the other core to a concurrent request, and has a far steadier p99.
        similarities = np.einsum("ij,j->i", self._vectors[:n], query)
        # Rows without a story vector are zeros already, so their similarity is 0.
        return similarities

    def refit_whitening(self, shrinkage: float) -> None:
        """Fit the whitened view on the stories that may vote, in id order (same pool, same transform)."""
        n = self._size
        eligible = np.flatnonzero(self._has_vector[:n] & self._has_tags[:n] & (self._status[:n] != 2))
        rows = sorted(eligible.tolist(), key=lambda r: self._snapshots[r].id)
        groups = [tuple(sorted(self._snapshots[r].tags)) for r in rows]
        self._white_norm[:n] = 0.0
        self._whitening = None
        if rows:
            self._whitening, norms = fit_whitening_with_norms(self._vectors[rows], groups, shrinkage)
            # Only voters need a norm: rows that may not vote are never looked at in the whitened view.
            self._white_norm[np.asarray(rows, dtype=np.int64)] = norms
        self._whitening_shrinkage = shrinkage
        self._changes_since_fit = 0
        self._fitted_rows = len(rows)

    def _current_whitening(self, weights: MatchWeights) -> Whitening | None:
        if weights.whitened_vote <= 0:
            return None
        # Refit when the settings changed or a twentieth of the pool changed since (at 100k listeners a
        # fit takes a few seconds; a slightly stale covariance barely moves the vote).
        stale = self._changes_since_fit > max(16, self._fitted_rows // 20)
        if self._whitening_shrinkage != weights.whitening_shrinkage or stale:
            self.refit_whitening(weights.whitening_shrinkage)
        return self._whitening

    def _with_whitened_neighbours(
        self,
        neighbours: list[tuple[float, tuple[str, ...]]],
        whitened_dots: np.ndarray,
        offset: float,
        weights: MatchWeights,
    ) -> list[tuple[float, tuple[str, ...]]]:
        """The plain neighbours and the whitened ones, each set's votes scaled to its share."""
        n = self._size
        norms = self._white_norm[:n]
        usable = norms > 1e-9
        whitened = np.zeros(n, dtype=np.float32)
        np.divide(whitened_dots - np.float32(offset), norms, out=whitened, where=usable)
        others = self._nearest_stories(whitened, weights.topic_neighbours, usable)
        return blend_votes(neighbours, others, weights.whitened_vote)

    def _nearest_stories(
        self, similarities: np.ndarray, k: int, usable: np.ndarray | None = None
    ) -> list[tuple[float, tuple[str, ...]]]:
        """The k closest stories that may vote on the topic: tagged, embedded, not suspended."""
        n = self._size
        if n == 0 or k <= 0 or not similarities.any():
            return []
        eligible = self._has_vector[:n] & self._has_tags[:n] & (self._status[:n] != 2)
        if usable is not None:
            eligible &= usable
        masked = np.where(eligible, similarities, -np.inf)
        voters = int(np.count_nonzero(eligible))
        if voters == 0:
            return []
        if voters > k:
            # Every row tied with the k-th comes along, so that ties are settled by id, not by position.
            kth = np.partition(masked, -k)[-k]
            pool = np.flatnonzero(masked >= kth)
        else:
            pool = np.flatnonzero(eligible)
        scores = similarities[pool]
        order = sorted(range(pool.size), key=lambda i: (-float(scores[i]), self._snapshots[pool[i]].id))[:k]
        return [(float(scores[i]), self._snapshots[pool[i]].tags) for i in order]

    def _member_topic_tags(self, topics: Sequence[TopicGuess], inferred: bool, keyword_tags: Sequence[str]) -> set[str]:
        """Tags that count as the member's topic for listeners' declined topics.

        The member's own tags, or the likely inferred topics; and in both cases every taxonomy word in the
        text, so that a listener who declines "alcohol" never gets a member who writes about drinking,
        whatever tag the member picked.
        """
        if not inferred:
            return {t.tag for t in topics} | set(keyword_tags)
        return {t.tag for t in topics if t.weight >= DECLINE_TOPIC_WEIGHT} | set(keyword_tags)

    def _filter(
        self,
        request: MatchRequest,
        topics: Sequence[TopicGuess],
        inferred: bool,
        keyword_tags: Sequence[str],
    ) -> tuple[np.ndarray, dict[str, int], str]:
        n = self._size
        if n == 0:
            return np.zeros(0, dtype=np.int64), {}, "No listeners have joined yet. Please try again later."
        prefs = request.preferences
        masks: list[tuple[str, np.ndarray]] = []
        masks.append(("not approved", self._status[:n] == 0))

        blocked = np.ones(n, dtype=bool)
        blocked_rows = [self._row_of[i] for i in request.blocked_listener_ids if i in self._row_of]
        if request.member_id is not None:
            blocked_rows.extend(self._blocking_rows.get(request.member_id, ()))
        if blocked_rows:
            blocked[self._rows(blocked_rows)] = False
        masks.append(("blocked", blocked))

        declined = np.ones(n, dtype=bool)
        for tag in self._member_topic_tags(topics, inferred, keyword_tags):
            lineage = [tag, *self._taxonomy.ancestors(tag)] if tag in self._taxonomy else [tag]
            for declined_tag in lineage:
                rows = self._declined_rows.get(declined_tag)
                if rows:
                    declined[self._rows(rows)] = False
        masks.append(("declines the topic", declined))

        masks.append(("mode not offered", (self._modes[:n] & _MODE_BIT.get(request.mode, 1)) > 0))

        if prefs.languages:
            speaks = np.zeros(n, dtype=bool)
            for language in prefs.languages:
                column = self._language_rows.get(language.lower())
                if column is not None:
                    speaks |= column[:n]
            masks.append(("language", speaks))
        else:
            masks.append(("language", np.ones(n, dtype=bool)))

        fits = np.ones(n, dtype=bool)
        if prefs.listener_genders:
            wanted = [self._gender_code[g.lower()] for g in prefs.listener_genders if g.lower() in self._gender_code]
            fits &= np.isin(self._gender[:n], wanted)
        if prefs.listener_age_ranges:
            wanted = [self._age_code[a.lower()] for a in prefs.listener_age_ranges if a.lower() in self._age_code]
            fits &= np.isin(self._age[:n], wanted)
        if prefs.veteran:
            fits &= self._veteran[:n]
        masks.append(("preferences", fits))

        masks.append(("full", self._active[:n] < self._max_concurrent[:n]))
        if request.timing is Timing.NOW:
            masks.append(("not available now", self._available_now[:n]))
        else:
            masks.append(("not available now", np.ones(n, dtype=bool)))

        alive = np.ones(n, dtype=bool)
        excluded: dict[str, int] = {}
        emptied_by: str | None = None
        for name, mask in masks:
            before = int(np.count_nonzero(alive))
            alive &= mask
            after = int(np.count_nonzero(alive))
            excluded[name] = before - after
            if after == 0 and before > 0 and emptied_by is None:
                emptied_by = name
        return np.flatnonzero(alive), excluded, self._empty_reason(emptied_by, request)

    @staticmethod
    def _empty_reason(emptied_by: str | None, request: MatchRequest) -> str:
        later_hint = " You can book a time for later instead." if request.timing is Timing.NOW else ""
        if emptied_by == "declines the topic":
            return "No available listener takes conversations about this topic right now." + later_hint
        if emptied_by == "mode not offered":
            return f"No listener offers {request.mode.value} conversations right now. You could try " + (
                "chat." if request.mode is ConversationMode.VOICE else "voice."
            )
        if emptied_by == "language":
            names = " or ".join(sorted(language_name(c) for c in request.preferences.languages))
            return f"No listener who speaks {names} is available right now." + later_hint
        if emptied_by == "preferences":
            return "No listener matches your preferences right now. You could relax them." + later_hint
        if emptied_by == "full":
            return "Every matching listener is busy with other members right now." + (
                " Try again in a few minutes, or book a time for later."
                if request.timing is Timing.NOW
                else " Try again in a few minutes."
            )
        return "No approved listener is available right now." + later_hint

    def _signal_parts(
        self,
        request: MatchRequest,
        topics: Sequence[TopicGuess],
        similarities: np.ndarray,
        now: datetime,
        weights: MatchWeights,
        rows: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Weighted contribution of every signal for the candidate rows (arrays aligned with rows)."""
        overlap = np.zeros(rows.size, dtype=np.float32)
        for topic in topics:
            overlap += np.float32(topic.weight) * self._credit_column(topic.tag)[rows]
        quality = smoothed_rating(
            self._rating_count[rows], self._rating_mean[rows], weights.rating_prior_mean, weights.rating_prior_weight
        )
        if request.timing is Timing.NOW:
            availability = spare_capacity(self._active[rows], self._max_concurrent[rows])
        else:
            hours = (self._next_free[rows] - now.timestamp()) / 3600.0
            availability = later_availability(self._available_now[rows], hours, weights.availability_half_life_hours)
        recent = self._recent[rows]
        load = recent_load(recent, float(recent.min()) if rows.size else 0.0, weights.fairness_full_load)
        favourite = np.zeros(rows.size, dtype=np.float32)
        favourite_rows = {self._row_of[i] for i in request.favourite_listener_ids if i in self._row_of}
        if favourite_rows:
            favourite[np.isin(rows, list(favourite_rows))] = 1.0

        parts = {
            "similarity": similarities[rows].astype(np.float32),
            "semantic": np.float32(weights.semantic) * similarities[rows],
            "topic": np.float32(weights.topic) * overlap,
            "quality": np.float32(weights.quality) * quality,
            "quality_raw": quality,
            "availability": np.float32(weights.availability) * availability,
            "fairness": -np.float32(weights.fairness) * load,
            "continuity": np.float32(weights.continuity) * favourite,
            "rows": rows,
        }
        total = (
            parts["semantic"] + parts["topic"] + parts["quality"] + parts["availability"]
            + parts["fairness"] + parts["continuity"]
        )  # fmt: skip
        # Rounded so that last-bit differences never decide an order; ties then go to the smaller id.
        parts["total"] = np.round(total.astype(np.float64), 6)
        return parts

    def _top_rows(self, rows: np.ndarray, total: np.ndarray, limit: int) -> list[tuple[int, int]]:
        """(position in ``rows``, row) of the best ``limit`` candidates, best first, ties by id."""
        limit = max(int(limit), 0)
        if limit == 0:
            return []
        positions = np.arange(rows.size)
        if rows.size > limit:
            kth = np.partition(total, -limit)[-limit]
            positions = np.flatnonzero(total >= kth)
        order = sorted(positions.tolist(), key=lambda p: (-float(total[p]), self._snapshots[rows[p]].id))
        return [(p, int(rows[p])) for p in order[:limit]]

    def _ranked(
        self,
        row: int,
        parts: dict[str, np.ndarray],
        position: int,
        request: MatchRequest,
        topics: Sequence[TopicGuess],
        member_chose_tags: bool,
        now: datetime,
        weights: MatchWeights,
    ) -> RankedListener:
        listener = self._snapshots[row]
        member_tag, listener_tag = self._best_tag_pair(topics, listener.tags)
        is_favourite = bool(parts["continuity"][position] > 0)
        similarity = float(parts["similarity"][position])
        breakdown = ScoreBreakdown(
            semantic=round(float(parts["semantic"][position]), 6) + 0.0,
            topic=round(float(parts["topic"][position]), 6),
            quality=round(float(parts["quality"][position]), 6),
            availability=round(float(parts["availability"][position]), 6),
            fairness=round(float(parts["fairness"][position]), 6) + 0.0,  # never "-0.0"
            continuity=round(float(parts["continuity"][position]), 6),
            total=float(parts["total"][position]),
            similarity=round(similarity, 6),
        )
        reasons = listener_reasons(
            taxonomy=self._taxonomy,
            listener=listener,
            request=request,
            now=now,
            similarity=similarity,
            member_tag=member_tag,
            listener_tag=listener_tag,
            member_chose_tags=member_chose_tags,
            is_favourite=is_favourite,
            smoothed_quality=float(parts["quality_raw"][position]),
        )
        return RankedListener(
            listener_id=listener.id,
            display_name=listener.display_name,
            score=breakdown.total,
            breakdown=breakdown,
            reasons=reasons,
            matched_tag=listener_tag,
        )

    def _best_tag_pair(
        self, topics: Sequence[TopicGuess], listener_tags: Sequence[str]
    ) -> tuple[str | None, str | None]:
        best: tuple[float, str | None, str | None] = (0.0, None, None)
        for topic in topics:
            for tag in sorted(listener_tags):
                value = topic.weight * self._taxonomy.similarity(topic.tag, tag)
                if value > best[0]:
                    best = (value, topic.tag, tag)
        # Only worth saying when the listener's experience really covers a likely topic.
        if best[0] < 0.15:
            return None, None
        return best[1], best[2]
