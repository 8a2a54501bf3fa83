"""Lived-experience matching: rank the listeners who have been in the same boat as a member.

Pure domain code: no I/O, no framework, the clock is passed in. The caller embeds the request text
(``sameboat.adapters.embedding``) and builds :class:`ListenerSnapshot` read models; see
docs/matching.md for how the score is made and how to call it.
"""

from sameboat.domain.matching.engine import rank_listeners, rank_listeners_plainly
from sameboat.domain.matching.index import FILTER_ORDER, ListenerIndex
from sameboat.domain.matching.labels import TagPrototypes
from sameboat.domain.matching.model import (
    ConversationMode,
    ListenerSnapshot,
    ListenerStatus,
    MatchRequest,
    MatchResult,
    MatchWeights,
    Preferences,
    RankedListener,
    ScoreBreakdown,
    Timing,
    TopicGuess,
)
from sameboat.domain.matching.ports import TextEmbedder, needs_reembedding
from sameboat.domain.matching.stories import (
    STORY_VECTOR_SCHEME,
    embed_story,
    story_embedding_version,
    story_vector_from_parts,
)
from sameboat.domain.matching.text import MAX_REQUEST_CHARS, MORE_DETAIL_PROMPT, UNSUPPORTED_LANGUAGE_PROMPT

__all__ = [
    "FILTER_ORDER",
    "MAX_REQUEST_CHARS",
    "MORE_DETAIL_PROMPT",
    "STORY_VECTOR_SCHEME",
    "ConversationMode",
    "ListenerIndex",
    "ListenerSnapshot",
    "ListenerStatus",
    "MatchRequest",
    "MatchResult",
    "MatchWeights",
    "Preferences",
    "RankedListener",
    "ScoreBreakdown",
    "TagPrototypes",
    "TextEmbedder",
    "Timing",
    "TopicGuess",
    "UNSUPPORTED_LANGUAGE_PROMPT",
    "embed_story",
    "needs_reembedding",
    "rank_listeners",
    "rank_listeners_plainly",
    "story_embedding_version",
    "story_vector_from_parts",
]
