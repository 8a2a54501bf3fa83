"""Working out what the member's situation is about when they picked no tags.

Two kinds of evidence, both available at run time and neither learnt from any data set:

* the listener pool itself: the stories closest to the member's words vote with the tags their
  listeners declared, each vote weighted by how close the story is (a k-nearest-neighbour vote);
* the taxonomy's own words: labels and synonyms found in the text (``Taxonomy.tags_in_text``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sameboat.domain.matching.model import TopicGuess

#: Topics below this weight are dropped (and the rest renormalised): they would only add noise and work.
MIN_TOPIC_WEIGHT = 0.05
#: An inferred topic at least this likely counts as "the member's topic" for listeners' declined topics.
DECLINE_TOPIC_WEIGHT = 0.2


Votes = list[tuple[float, tuple[str, ...]]]


def blend_votes(neighbours: Votes, others: Votes, share: float) -> Votes:
    """Two sets of (similarity, tags) votes, each scaled so that its votes add up to its share: ``others``
    get ``share`` (clamped to 0..1), ``neighbours`` the rest. Negative similarities count as nothing; with no
    usable votes at all, ``neighbours`` unchanged."""
    share = min(max(share, 0.0), 1.0)
    blended: Votes = []
    for part, voters in ((1.0 - share, neighbours), (share, others)):
        total = sum(max(similarity, 0.0) for similarity, _ in voters)
        if part > 0 and total > 0:
            blended.extend((part * max(similarity, 0.0) / total, tags) for similarity, tags in voters)
    return blended or neighbours


def vote_topics(
    neighbours: Iterable[tuple[float, Sequence[str]]],
    keyword_tags: Sequence[str],
    keyword_share: float,
) -> tuple[TopicGuess, ...]:
    """Combine the neighbours' similarity-weighted tag votes with the taxonomy words in the text.

    ``neighbours`` are (cosine similarity, tags of that listener). A listener with several tags splits
    its vote between them. Keywords get ``keyword_share`` of the total when any are found (all of it
    when there are no usable neighbours). Returns topics with weights summing to 1, heaviest first.
    """
    story_votes: dict[str, float] = defaultdict(float)
    for similarity, tags in neighbours:
        if similarity <= 0 or not tags:
            continue
        for tag in tags:
            story_votes[tag] += similarity / len(tags)
    story_total = sum(story_votes.values())

    keywords = list(dict.fromkeys(keyword_tags))
    combined: dict[str, float] = defaultdict(float)
    if story_total > 0:
        story_weight = 1.0 - keyword_share if keywords else 1.0
        for tag, vote in story_votes.items():
            combined[tag] += story_weight * vote / story_total
    if keywords:
        keyword_weight = keyword_share if story_total > 0 else 1.0
        for tag in keywords:
            combined[tag] += keyword_weight / len(keywords)
    return normalised_topics(combined.items())


def normalised_topics(
    weights: Iterable[tuple[str, float]], min_weight: float = MIN_TOPIC_WEIGHT
) -> tuple[TopicGuess, ...]:
    kept = [(tag, w) for tag, w in weights if w >= min_weight and w > 0]
    total = sum(w for _, w in kept)
    if total <= 0:
        return ()
    # Sorting by tag as well keeps the result identical whatever order the evidence arrived in.
    kept.sort(key=lambda item: (-item[1], item[0]))
    return tuple(TopicGuess(tag=tag, weight=round(w / total, 6)) for tag, w in kept)


def member_topics(explicit_tags: Sequence[str], known: Iterable[str]) -> tuple[TopicGuess, ...]:
    """The member's own tags (those the taxonomy knows), equally weighted."""
    known_set = set(known)
    tags = [t for t in dict.fromkeys(explicit_tags) if t in known_set]
    return normalised_topics(((t, 1.0) for t in tags), min_weight=0.0)
