"""Builders for matching tests: small deterministic vectors and listener snapshots."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import numpy as np
from hypothesis import strategies as st

from sameboat.domain.matching import (
    ConversationMode,
    ListenerSnapshot,
    ListenerStatus,
    MatchRequest,
    Preferences,
    Timing,
)
from sameboat.domain.taxonomy import shipped_taxonomy

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
DIMENSION = 8
TAXONOMY = shipped_taxonomy()
SOME_TAGS = (
    "depression", "job-loss", "breakup", "friendship-problems", "academic-pressure", "sleep-problems",
    "issues-with-parents", "divorce", "grief", "grief-parent", "loneliness", "caregiving", "alcohol",
)  # fmt: skip
LANGUAGES = ("en", "es", "fr")
GENDERS = ("woman", "man", "non-binary")
AGE_RANGES = ("18-24", "25-34", "35-49", "50+")


def unit_vector(seed: int, dimension: int = DIMENSION) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dimension).astype(np.float32)
    return v / np.linalg.norm(v)


def listener(listener_id: str, **fields: object) -> ListenerSnapshot:
    """An approved, available, idle listener unless told otherwise."""
    defaults: dict[str, object] = dict(
        display_name=listener_id.title(),
        story_vector=unit_vector(zlib.crc32(listener_id.encode())),
        tags=("depression",),
        available_now=True,
        max_concurrent=2,
    )
    defaults.update(fields)
    return ListenerSnapshot(id=listener_id, **defaults)  # type: ignore[arg-type]


@st.composite
def listener_snapshots(draw: st.DrawFn, listener_id: str) -> ListenerSnapshot:
    max_concurrent = draw(st.integers(0, 3))
    return ListenerSnapshot(
        id=listener_id,
        display_name=listener_id,
        story_vector=draw(st.none() | st.integers(0, 10_000).map(unit_vector)),
        tags=tuple(draw(st.lists(st.sampled_from(SOME_TAGS), max_size=3, unique=True))),
        languages=frozenset(draw(st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=2))),
        gender=draw(st.none() | st.sampled_from(GENDERS)),
        age_range=draw(st.none() | st.sampled_from(AGE_RANGES)),
        veteran=draw(st.booleans()),
        declined_topics=frozenset(draw(st.lists(st.sampled_from(SOME_TAGS), max_size=2))),
        status=draw(st.sampled_from(list(ListenerStatus))),
        modes=frozenset(draw(st.lists(st.sampled_from(list(ConversationMode)), min_size=1, max_size=2))),
        active_conversations=draw(st.integers(0, 3)),
        max_concurrent=max_concurrent,
        available_now=draw(st.booleans()),
        rating_count=draw(st.integers(0, 50)),
        rating_mean=draw(st.floats(1.0, 5.0)),
        recent_assignments=draw(st.integers(0, 10)),
        blocked_member_ids=frozenset(draw(st.lists(st.sampled_from(["m1", "m2"]), max_size=1))),
    )


@st.composite
def pools(draw: st.DrawFn, max_size: int = 12) -> list[ListenerSnapshot]:
    size = draw(st.integers(0, max_size))
    return [draw(listener_snapshots(f"l{i:02d}")) for i in range(size)]


@st.composite
def requests(draw: st.DrawFn) -> MatchRequest:
    return MatchRequest(
        text=draw(
            st.sampled_from(
                [
                    "",
                    "help",
                    "I lost my job last month and I feel hopeless",
                    "My mum died in the spring and I can't sleep",
                    "We are getting divorced and the kids are caught in the middle",
                    "I drink too much since the breakup",
                ]
            )
        ),
        member_id=draw(st.sampled_from(["m1", "m2", None])),
        tags=tuple(draw(st.lists(st.sampled_from(SOME_TAGS), max_size=2, unique=True))),
        preferences=Preferences(
            languages=frozenset(draw(st.lists(st.sampled_from(LANGUAGES), max_size=2))),
            listener_genders=frozenset(draw(st.lists(st.sampled_from(GENDERS), max_size=2))),
            listener_age_ranges=frozenset(draw(st.lists(st.sampled_from(AGE_RANGES), max_size=2))),
            veteran=draw(st.sampled_from([None, True, False])),
        ),
        mode=draw(st.sampled_from(list(ConversationMode))),
        timing=draw(st.sampled_from(list(Timing))),
        blocked_listener_ids=frozenset(draw(st.lists(st.sampled_from([f"l{i:02d}" for i in range(12)]), max_size=4))),
        favourite_listener_ids=frozenset(draw(st.lists(st.sampled_from([f"l{i:02d}" for i in range(12)]), max_size=2))),
    )


class LetterEmbedder:
    """Letter counts: a tiny, deterministic stand-in for the model (texts sharing letters are close)."""

    dimension = 26
    model_version = "letters-1"

    def embed(self, text: str) -> np.ndarray:
        v = np.zeros(26, dtype=np.float32)
        for ch in text.lower():
            if "a" <= ch <= "z":
                v[ord(ch) - 97] += 1
        return v / max(float(np.linalg.norm(v)), 1e-6)

    def embed_many(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self.embed(t) for t in texts]) if texts else np.zeros((0, 26), dtype=np.float32)
