"""What members ask about, and what listeners have lived through, for the simulation.

**Demand.** The weights below are our assumption, written from general knowledge of what peer-support lines,
text lines and listening apps say people bring to them, not from measured data: low mood and anxiety lead,
then relationships and breakups, work stress and job loss, loneliness, family conflict, grief and academic
pressure. Those dominate (the eight leading tags take about two thirds of requests); every other tag of the
shipped taxonomy gets a small share, and a few members only pick a broad area ("relationships").
``DemandMix.WIDE`` is the simulation's earlier, longer-tailed assumption (the same eight tags under half of
requests), kept to show how much the figures depend on it.

**Listeners.** A service recruits and rosters volunteers for the topics its members bring, so by default
(``ListenerMix.DEMAND``) each volunteer's lived experiences are drawn from the demand mix, with a share
(``LISTENER_SPREAD``) drawn uniformly over the specific tags instead, because volunteers also bring lives
nobody recruited for. ``ListenerMix.UNIFORM`` draws every specific tag equally often, without regard to
demand. Either way a listener's second and third experiences are often close to the first (grief and loss of
a parent, divorce and co-parenting, depression and anxiety), because that is how lives go.

**Sharing a topic.** A listener *strictly* shares a member's topic when one of their tags is the member's tag,
its parent or one of its children (``Taxonomy.similarity >= 0.7``); they are in the *same boat* when one is
also a sibling under the same parent, e.g. divorce and breakup, loss of a parent and loss of a partner
(``Taxonomy.similarity >= 0.5``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from importlib import resources
from types import MappingProxyType

import numpy as np

from sameboat.domain.taxonomy import Taxonomy

#: Percent of requests by taxonomy tag id (sums to about 100). Tags not listed get ``OTHER_TAG_WEIGHT``.
CONCENTRATED_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        # low mood and anxiety (health > mental-health)
        "depression": 14.0,
        "anxiety": 13.0,
        "trauma": 2.0,
        "self-harm": 1.5,
        "mental-health": 1.5,
        "sleep-problems": 0.8,
        "body-image": 0.8,
        "eating-difficulties": 0.6,
        # relationships and breakups
        "breakup": 7.0,
        "relationship-struggles": 4.0,
        "divorce": 2.0,
        "infidelity": 1.0,
        "dating": 1.0,
        "friendship-problems": 1.0,
        "co-parenting": 0.4,
        "relationships": 0.3,
        # work stress and job loss
        "burnout": 4.5,
        "job-loss": 3.5,
        "workplace-conflict": 1.2,
        "career-change": 0.6,
        "running-a-business": 0.2,
        "retirement": 0.2,
        "work": 0.2,
        # loneliness
        "loneliness": 8.0,
        # family conflict
        "family-conflict": 4.5,
        "issues-with-parents": 2.0,
        "issues-with-children": 0.5,
        "new-parent": 0.5,
        "parenting-teenagers": 0.4,
        "single-parenting": 0.4,
        "special-needs-parenting": 0.2,
        "parenting": 0.2,
        "infertility": 0.3,
        "family": 0.2,
        # grief
        "grief": 3.0,
        "grief-parent": 1.5,
        "grief-partner": 0.6,
        "grief-pet": 0.4,
        "grief-child": 0.2,
        "grief-sibling": 0.2,
        "suicide-loss": 0.3,
        "miscarriage": 0.3,
        # academic pressure
        "academic-pressure": 4.5,
        "bullying": 0.6,
        "student-life": 0.5,
        "procrastination": 0.4,
        # the rest
        "financial-stress": 2.0,
        "alcohol": 0.5,
        "substance-use": 0.4,
        "loved-one-addiction": 0.4,
        "addiction-recovery": 0.3,
        "gambling": 0.2,
        "domestic-violence": 0.5,
        "abuse-survivor": 0.4,
        "housing-insecurity": 0.3,
        "chronic-illness": 1.0,
        "neurodivergence": 0.6,
        "caregiving": 0.5,
        "cancer": 0.4,
        "disability": 0.4,
        "dementia-caregiving": 0.3,
        "coming-out": 0.5,
        "gender-identity": 0.4,
        "lgbtq": 0.2,
        "immigration": 0.3,
        "between-cultures": 0.3,
        "race-discrimination": 0.3,
        "faith": 0.2,
        "relocation": 0.4,
        "midlife": 0.3,
        "military-transition": 0.2,
        "empty-nest": 0.1,
        "life-after-prison": 0.1,
    }
)

#: The previous assumption: leading topics about 40 % of requests, a long tail over everything else.
WIDE_WEIGHTS: Mapping[str, float] = MappingProxyType(
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
#: Weight of a tag a mix does not list (in the concentrated mix: the broad areas nobody listed, e.g. "loss").
OTHER_TAG_WEIGHT = {"concentrated": 0.1, "wide": 0.2}

#: The commonest topics, for the docs and the printed header: tag ids and a label for the group.
LEADING_TOPICS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "low mood": ("depression",),
        "anxiety": ("anxiety",),
        "relationships and breakups": ("breakup", "relationship-struggles"),
        "work stress and job loss": ("burnout", "job-loss"),
        "loneliness": ("loneliness",),
        "family conflict": ("family-conflict",),
        "grief": ("grief",),
        "academic pressure": ("academic-pressure",),
    }
)


class DemandMix(StrEnum):
    CONCENTRATED = "concentrated"
    WIDE = "wide"


class ListenerMix(StrEnum):
    #: Recruited and rostered for the demand: experiences drawn from the request mix, plus some spread.
    DEMAND = "demand"
    #: Without regard to demand: every specific tag equally often.
    UNIFORM = "uniform"


#: In ``ListenerMix.DEMAND``, the share of experience draws made uniformly over specific tags instead.
LISTENER_SPREAD = 0.2

#: Chance that a listener's second or third experience is near the first (parent, child or sibling).
RELATED_EXPERIENCE_SHARE = 0.6

#: ``Taxonomy.similarity`` at or above which a listener strictly shares the member's topic (same tag, parent or
#: child), and is in the same boat (also a sibling under the same parent).
STRICT_SIMILARITY = 0.7
SAME_BOAT_SIMILARITY = 0.5
SHARED_TOPIC_SIMILARITY = STRICT_SIMILARITY  # the target is judged on the strict definition


def request_topic_distribution(
    taxonomy: Taxonomy, mix: DemandMix = DemandMix.CONCENTRATED
) -> tuple[list[str], np.ndarray]:
    """Tag ids and the probability that a request is about each (sums to 1), in taxonomy order."""
    weights_by_tag = CONCENTRATED_WEIGHTS if mix is DemandMix.CONCENTRATED else WIDE_WEIGHTS
    unknown = [t for t in weights_by_tag if t not in taxonomy]
    if unknown:
        raise ValueError(f"simulation topics not in the taxonomy: {unknown}")
    tags = list(taxonomy.tags)
    other = OTHER_TAG_WEIGHT[mix.value]
    weights = np.array([weights_by_tag.get(t, other) for t in tags])
    return tags, weights / weights.sum()


def listener_topic_distribution(
    taxonomy: Taxonomy, tags: list[str], demand: np.ndarray, mix: ListenerMix = ListenerMix.DEMAND
) -> np.ndarray:
    """Probability that a listener's (first) lived experience is each tag. Broad areas ("relationships",
    "health") are not experiences: the spread and the uniform mix cover the specific tags only."""
    specific = np.array([taxonomy.tags[t].parent is not None for t in tags], dtype=float)
    uniform = specific / specific.sum()
    if mix is ListenerMix.UNIFORM:
        return uniform
    return (1.0 - LISTENER_SPREAD) * demand + LISTENER_SPREAD * uniform


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
    count_weights: tuple[float, ...] | None = None,
) -> tuple[str, ...]:
    """Lived-experience tags for a listener: between ``how_many[0]`` and ``how_many[1]`` of them (equally likely,
    or weighted by ``count_weights``), each drawn from ``probabilities`` (a listener distribution), the second
    and third often near the first."""
    if count_weights is None:
        count = int(rng.integers(how_many[0], how_many[1] + 1))
    else:
        weights = np.asarray(count_weights, dtype=float)
        count = how_many[0] + int(rng.choice(len(weights), p=weights / weights.sum()))
    index = {t: i for i, t in enumerate(tags)}
    chosen = [tags[int(rng.choice(len(tags), p=probabilities))]]
    while len(chosen) < count:
        near = [t for t in related_tags(taxonomy, chosen[0]) if t not in chosen and probabilities[index[t]] > 0]
        if near and rng.random() < RELATED_EXPERIENCE_SHARE:
            weights = np.array([probabilities[index[t]] for t in near])
            pick = near[int(rng.choice(len(near), p=weights / weights.sum()))]
        else:
            pick = tags[int(rng.choice(len(tags), p=probabilities))]
        if pick not in chosen:
            chosen.append(pick)
    return tuple(chosen)


def similarity_matrix(taxonomy: Taxonomy, tags: list[str]) -> np.ndarray:
    """``Taxonomy.similarity`` for every pair of tags (rows and columns in ``tags`` order)."""
    return np.array([[taxonomy.similarity(a, b) for b in tags] for a in tags])


def leading_share(probabilities: np.ndarray, tags: list[str]) -> float:
    """Share of requests on the ``LEADING_TOPICS`` tags."""
    index = {t: i for i, t in enumerate(tags)}
    return float(sum(probabilities[index[t]] for group in LEADING_TOPICS.values() for t in group))


def demo_experience_counts() -> dict[int, int]:
    """How many lived-experience tags each of the demo's listeners (``sameboat/demo/listeners.yaml``, written
    to look like a real roster) has: {number of tags: listeners}. 52 listeners: 8 with one, 37 with two, 7 with
    three."""
    import yaml

    data = yaml.safe_load(resources.files("sameboat.demo").joinpath("listeners.yaml").read_text("utf-8"))
    counts: dict[int, int] = {}
    for listener in data["listeners"]:
        n = len(listener["tags"])
        counts[n] = counts.get(n, 0) + 1
    return dict(sorted(counts.items()))
