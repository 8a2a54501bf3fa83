"""Value objects of the matching engine: what goes in (a request, listener snapshots, weights) and what
comes out (ranked listeners with a score breakdown and an explanation, or an empty result with a reason).

Everything here is plain data. Listener snapshots are read models that the service layer builds from
storage; the engine never loads anything itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import numpy as np


class ConversationMode(StrEnum):
    CHAT = "chat"
    VOICE = "voice"


class Timing(StrEnum):
    NOW = "now"  # talk right away: only listeners online with room for one more conversation
    LATER = "later"  # book a time: listeners who are offline now still count


class ListenerStatus(StrEnum):
    APPROVED = "approved"
    PAUSED = "paused"  # the listener's own break: never offered
    SUSPENDED = "suspended"  # a supervisor's decision: never offered, and their story is not used at all


@dataclass(frozen=True)
class Preferences:
    """What the member asked for. An empty set means "no preference"."""

    #: ISO 639-1 codes the member can talk in; a listener must speak at least one of them.
    languages: frozenset[str] = frozenset()
    #: Listener genders the member is comfortable with (free text codes as stored by accounts).
    listener_genders: frozenset[str] = frozenset()
    #: Listener age ranges, as stored by accounts (for example "25-34").
    listener_age_ranges: frozenset[str] = frozenset()
    #: True: only listeners who are veterans. None: no preference. (False is treated as no preference.)
    veteran: bool | None = None


@dataclass(frozen=True)
class MatchRequest:
    """A member asking for someone to talk to."""

    text: str
    member_id: str | None = None
    #: Taxonomy tag ids the member picked themselves (may be empty: the topic is then inferred).
    tags: tuple[str, ...] = ()
    preferences: Preferences = field(default_factory=Preferences)
    mode: ConversationMode = ConversationMode.CHAT
    timing: Timing = Timing.NOW
    blocked_listener_ids: frozenset[str] = frozenset()
    favourite_listener_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, eq=False)
class ListenerSnapshot:
    """What matching needs to know about one listener, as of now.

    ``story_vector`` is the unit-length embedding of the listener's story (see
    ``sameboat.adapters.embedding``), or None while it has not been computed; such a listener can still be
    matched on tags and filters. ``recent_assignments`` is the number of conversations offered to or
    taken by the listener in the recent window the service chooses (24 hours by default).
    """

    id: str
    display_name: str
    story_vector: np.ndarray | None = None
    tags: tuple[str, ...] = ()
    languages: frozenset[str] = frozenset({"en"})
    gender: str | None = None
    age_range: str | None = None
    veteran: bool = False
    #: Topics the listener does not want to talk about (a tag declines its whole subtree).
    declined_topics: frozenset[str] = frozenset()
    status: ListenerStatus = ListenerStatus.APPROVED
    modes: frozenset[ConversationMode] = frozenset({ConversationMode.CHAT, ConversationMode.VOICE})
    active_conversations: int = 0
    max_concurrent: int = 1
    available_now: bool = False
    #: When a listener who is not available now next expects to be (used when the member books later).
    next_available_at: datetime | None = None
    rating_count: int = 0
    rating_mean: float = 0.0
    recent_assignments: int = 0
    #: Members this listener has blocked (a block in either direction keeps the pair apart).
    blocked_member_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MatchWeights:
    """How much each signal counts. Defaults are documented in docs/matching.md.

    The score of a listener is::

        semantic * cosine(request, story)            # in [-1, 1], typically 0.1 .. 0.8
      + topic * topic_overlap                         # in [0, 1], partial credit through the taxonomy
      + quality * smoothed_rating                     # in [0, 1], 0.75 for a new listener
      + availability * availability                   # in [0, 1]
      - fairness * recent_load                        # in [0, 1]
      + continuity * is_favourite                     # 0 or 1
    """

    semantic: float = 1.0
    #: Taxonomy overlap with the member's tags or inferred topic. Larger than the usual spread of cosine
    #: similarities, so the topic decides first and the story's closeness orders listeners within it.
    topic: float = 1.0
    quality: float = 0.1
    availability: float = 0.05
    fairness: float = 0.2
    #: Larger than all other signals together: an available favourite comes first.
    continuity: float = 3.0

    #: How many of the closest stories vote on the member's topic when they gave no tags.
    topic_neighbours: int = 20
    #: Share of the inferred topic that comes from taxonomy words found in the text (when any are).
    keyword_share: float = 0.25
    #: Share of the inferred topic given to the tag whose label and synonyms, embedded, are closest to the
    #: request (``labels.py``; used when the caller passes ``tag_prototypes``). Chosen on ESConv train
    #: leave-one-out and valid together (docs/matching.md).
    label_share: float = 0.25
    #: Share of the story vote cast by the stories nearest in the pool's whitened space (``whitening.py``);
    #: the rest by the plainly nearest. 0 turns it off. Chosen like ``label_share`` (docs/matching.md).
    whitened_vote: float = 0.5
    #: Shrinkage of the whitening towards plain cosine, in units of the mean within-topic variance.
    whitening_shrinkage: float = 2.0
    #: Bayesian smoothing of ratings (1..5): a new listener counts as ``prior_weight`` ratings of
    #: ``prior_mean``, so one bad (or one glowing) rating moves them only a little.
    rating_prior_mean: float = 4.0
    rating_prior_weight: float = 5.0
    #: Recent assignments (in the service's window) at which the fairness penalty reaches its full weight;
    #: each one before that costs ``fairness / fairness_full_load``.
    fairness_full_load: float = 10.0
    #: For LATER requests: a listener next free this many hours from now gets half the availability credit.
    availability_half_life_hours: float = 24.0


@dataclass(frozen=True)
class TopicGuess:
    tag: str
    weight: float


@dataclass(frozen=True)
class ScoreBreakdown:
    """Each signal's contribution to the total (already multiplied by its weight)."""

    semantic: float
    topic: float
    quality: float
    availability: float
    fairness: float  # zero or negative
    continuity: float
    total: float
    #: The raw cosine similarity of the request and the story, before weighting.
    similarity: float


@dataclass(frozen=True)
class RankedListener:
    listener_id: str
    display_name: str
    score: float
    breakdown: ScoreBreakdown
    #: Short phrases such as "Both went through divorce", "speaks Spanish", "available now".
    reasons: tuple[str, ...]
    #: The taxonomy tag of the listener that best matched the member's topic, if any.
    matched_tag: str | None = None

    @property
    def explanation(self) -> str:
        return " · ".join(self.reasons)


@dataclass(frozen=True)
class MatchResult:
    """Ranked listeners, or none and a reason that can be shown to the member as it is."""

    matches: tuple[RankedListener, ...]
    #: Set when ``matches`` is empty: why, in words fit for the member.
    reason: str | None = None
    #: Ask the member for more: the request is empty or one word, or in a language the engine cannot
    #: read and no topic was picked. ``prompt`` says what to ask, in words fit for the member.
    needs_more_detail: bool = False
    prompt: str | None = None
    #: The member's tags, or the topic inferred from their words (most likely first).
    topics: tuple[TopicGuess, ...] = ()
    topics_inferred: bool = False
    #: The text was longer than the engine reads and was cut (not refused).
    text_truncated: bool = False
    #: The text did not look like English, so its words were not used for similarity.
    text_language_supported: bool = True
    #: How many listeners each filter removed, in the order they are applied (for logs and admins only:
    #: never show this to a member).
    excluded: Mapping[str, int] = field(default_factory=dict)

    @property
    def best(self) -> RankedListener | None:
        return self.matches[0] if self.matches else None
