"""What members ask about, and what listeners have lived through, for the simulation.

The weights are our assumption, not measured data: a long-tailed mix in which anxiety, depression,
relationships, loneliness and stress lead, as peer-support and helpline services commonly report, and every
other tag of the shipped taxonomy gets a small share. Members mostly pick (or are inferred to have) a specific
tag; a few only a broad area.

Listeners' lived experience follows the same mix (a service recruits for the demand it sees), and a listener's
second and third experiences are often close to the first (grief and loss of a parent, divorce and
co-parenting), because that is how lives go.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from sameboat.domain.taxonomy import Taxonomy

#: Relative share of requests by taxonomy tag id. Tags not listed get ``OTHER_TAG_WEIGHT``.
REQUEST_TOPIC_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "anxiety": 12.0,
        "depression": 10.0,
        "loneliness": 8.0,
        "breakup": 6.0,
        "relationship-struggles": 5.0,
        "burnout": 4.0,
        "family-conflict": 3.5,
        "issues-with-parents": 3.5,
        "grief": 3.0,
        "grief-parent": 2.5,
        "divorce": 3.0,
        "job-loss": 2.5,
        "financial-stress": 2.5,
        "trauma": 2.5,
        "academic-pressure": 2.5,
        "mental-health": 2.0,
        "chronic-illness": 1.8,
        "self-harm": 1.5,
        "body-image": 1.5,
        "infidelity": 1.5,
        "dating": 1.5,
        "friendship-problems": 1.5,
        "workplace-conflict": 1.5,
        "student-life": 1.5,
        "neurodivergence": 1.5,
        "caregiving": 1.5,
        "alcohol": 1.2,
        "new-parent": 1.2,
        "coming-out": 1.2,
        "gender-identity": 1.0,
        "grief-partner": 1.2,
        "grief-pet": 1.0,
        "sleep-problems": 1.0,
        "eating-difficulties": 1.0,
        "substance-use": 1.0,
        "loved-one-addiction": 1.0,
        "domestic-violence": 1.0,
        "abuse-survivor": 1.0,
        "parenting-teenagers": 1.0,
        "single-parenting": 1.0,
        "co-parenting": 1.0,
        "career-change": 1.0,
        "relocation": 1.0,
        "immigration": 0.8,
        "between-cultures": 0.8,
        "dementia-caregiving": 0.8,
        "disability": 0.8,
        "cancer": 0.8,
        "bullying": 0.8,
        "procrastination": 0.8,
        "issues-with-children": 0.8,
        "miscarriage": 0.7,
        "infertility": 0.7,
        "race-discrimination": 0.7,
        "housing-insecurity": 0.7,
        "grief-child": 0.5,
        "grief-sibling": 0.5,
        "suicide-loss": 0.5,
        "addiction-recovery": 0.5,
        "lgbtq": 0.5,
        "midlife": 0.5,
        "military-transition": 0.5,
        "special-needs-parenting": 0.5,
        "running-a-business": 0.4,
        "faith": 0.4,
        "gambling": 0.4,
        "empty-nest": 0.3,
        "retirement": 0.3,
        "life-after-prison": 0.2,
    }
)
OTHER_TAG_WEIGHT = 0.2  # broad areas ("relationships", "health"): a member who only picked an area

#: Chance that a listener's second or third experience is near the first (same parent, parent or child).
RELATED_EXPERIENCE_SHARE = 0.6


def request_topic_distribution(taxonomy: Taxonomy) -> tuple[list[str], np.ndarray]:
    """Tag ids and their probabilities (sums to 1), in taxonomy order."""
    unknown = [t for t in REQUEST_TOPIC_WEIGHTS if t not in taxonomy]
    if unknown:
        raise ValueError(f"simulation topics not in the taxonomy: {unknown}")
    tags = list(taxonomy.tags)
    weights = np.array([REQUEST_TOPIC_WEIGHTS.get(t, OTHER_TAG_WEIGHT) for t in tags])
    return tags, weights / weights.sum()


def related_tags(taxonomy: Taxonomy, tag: str) -> list[str]:
    """Tags one step away in the tree, and siblings."""
    tree_tag = taxonomy.tags[tag]
    near = [c.id for c in taxonomy.children_of(tag)]
    if tree_tag.parent is not None:
        near.append(tree_tag.parent)
        near.extend(s.id for s in taxonomy.children_of(tree_tag.parent) if s.id != tag)
    return near


def listener_experiences(
    taxonomy: Taxonomy,
    tags: list[str],
    probabilities: np.ndarray,
    rng: np.random.Generator,
    how_many: tuple[int, int] = (1, 3),
) -> tuple[str, ...]:
    """Lived-experience tags for a listener: between ``how_many[0]`` and ``how_many[1]`` of them."""
    count = int(rng.integers(how_many[0], how_many[1] + 1))
    chosen = [tags[int(rng.choice(len(tags), p=probabilities))]]
    while len(chosen) < count:
        near = [t for t in related_tags(taxonomy, chosen[0]) if t not in chosen]
        if near and rng.random() < RELATED_EXPERIENCE_SHARE:
            weights = np.array([probabilities[tags.index(t)] for t in near])
            pick = near[int(rng.choice(len(near), p=weights / weights.sum()))]
        else:
            pick = tags[int(rng.choice(len(tags), p=probabilities))]
        if pick not in chosen:
            chosen.append(pick)
    return tuple(chosen)


def similarity_matrix(taxonomy: Taxonomy, tags: list[str]) -> np.ndarray:
    """``Taxonomy.similarity`` for every pair of tags (rows and columns in ``tags`` order)."""
    return np.array([[taxonomy.similarity(a, b) for b in tags] for a in tags])


#: A listener "shares the member's topic" when one of their tags is the member's tag, its parent or a child.
SHARED_TOPIC_SIMILARITY = 0.7
