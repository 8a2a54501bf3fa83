"""The shipped lived-experience taxonomy, its loader, and the demo listeners that depend on it."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
import yaml

from sameboat.domain.accounts import AGE_RANGES, GENDERS
from sameboat.domain.listeners import ListenerProfileDraft, clean_listener_profile
from sameboat.domain.taxonomy import Tag, Taxonomy, TaxonomyError, shipped_taxonomy

# Ids other code depends on; they must never disappear from the shipped file.
FIXED_IDS = [
    "divorce", "breakup", "infidelity", "co-parenting", "friendship-problems",
    "job-loss",
    "grief", "grief-parent", "grief-partner", "grief-child", "grief-pet", "miscarriage",
    "mental-health", "depression", "sleep-problems", "body-image", "caregiving", "dementia-caregiving",
    "parenting", "issues-with-children", "issues-with-parents",
    "lgbtq",
    "military-transition", "student-life", "academic-pressure", "procrastination", "bullying",
    "addiction-recovery", "alcohol", "abuse-survivor",
    "loneliness",
]

# (child, parent) pairs the rest of the code relies on.
FIXED_PARENTS = [
    ("grief-parent", "grief"), ("grief-partner", "grief"), ("grief-child", "grief"), ("grief-pet", "grief"),
    ("depression", "mental-health"), ("sleep-problems", "mental-health"), ("body-image", "mental-health"),
    ("dementia-caregiving", "caregiving"), ("issues-with-children", "parenting"),
    ("academic-pressure", "student-life"), ("procrastination", "student-life"), ("bullying", "student-life"),
    ("alcohol", "addiction-recovery"),
]

# The top-level areas: one root each. A representative tag must live under each one.
AREAS = {
    "relationships": "divorce",
    "work": "job-loss",
    "loss": "grief-parent",
    "health": "depression",
    "family": "issues-with-parents",
    "identity": "lgbtq",
    "life-transitions": "military-transition",
    "hardship": "addiction-recovery",
    "loneliness": "loneliness",
}

# Each of these needs at least two demo listeners so a demo always has a choice.
NEEDS_TWO_LISTENERS = [
    "divorce", "breakup", "job-loss", "grief-parent", "depression", "caregiving", "issues-with-parents",
    "academic-pressure", "friendship-problems", "loneliness", "addiction-recovery",
]

LISTENER_KEYS = {
    "display_name", "bio", "story", "tags", "languages", "gender", "age_range", "veteran",
    "declined_topics", "certified_high_risk", "timezone",
}
MEMBER_KEYS = {"pseudonym", "email", "languages", "preferences"}
PREFERENCE_KEYS = {"listener_gender", "listener_age_range", "listener_veteran"}
LANGUAGE = re.compile(r"^[a-z]{2}$")  # ISO 639-1


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return shipped_taxonomy()


@pytest.fixture(scope="module")
def demo() -> dict:
    text = resources.files("sameboat.demo").joinpath("listeners.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def root_of(taxonomy: Taxonomy, tag_id: str) -> str:
    return ([tag_id, *taxonomy.ancestors(tag_id)])[-1]


# --- the shipped taxonomy ------------------------------------------------------------------------


def test_shipped_taxonomy_loads(taxonomy: Taxonomy) -> None:
    assert 60 <= len(taxonomy.tags) <= 90
    assert shipped_taxonomy() is taxonomy  # read once


@pytest.mark.parametrize("tag_id", FIXED_IDS)
def test_fixed_ids_exist(taxonomy: Taxonomy, tag_id: str) -> None:
    assert tag_id in taxonomy


@pytest.mark.parametrize(("child", "parent"), FIXED_PARENTS)
def test_fixed_ids_sit_under_their_parent(taxonomy: Taxonomy, child: str, parent: str) -> None:
    assert taxonomy.tags[child].parent == parent


def test_required_areas_are_roots(taxonomy: Taxonomy) -> None:
    roots = {t.id for t in taxonomy.roots()}
    assert set(AREAS) <= roots
    for area, example in AREAS.items():
        assert root_of(taxonomy, example) == area


def test_every_tag_has_a_plain_label_and_some_synonyms(taxonomy: Taxonomy) -> None:
    for tag in taxonomy.tags.values():
        assert tag.label.strip(), tag.id
        assert len(tag.label) <= 60, tag.id
        assert all(isinstance(s, str) and s.strip() for s in tag.synonyms), tag.id
        if taxonomy.children_of(tag.id) == [] and tag.id not in AREAS:
            assert len(tag.synonyms) >= 5, f"{tag.id} needs more of the words people actually write"


def test_no_synonym_is_shared_between_tags(taxonomy: Taxonomy) -> None:
    counts = Counter(s.lower() for tag in taxonomy.tags.values() for s in tag.synonyms)
    assert [s for s, n in counts.items() if n > 1] == []


# --- similarity ----------------------------------------------------------------------------------


def test_similarity_is_one_for_the_same_tag(taxonomy: Taxonomy) -> None:
    for tag_id in FIXED_IDS:
        assert taxonomy.similarity(tag_id, tag_id) == 1.0


@pytest.mark.parametrize(
    ("a", "b"),
    [("grief", "grief-parent"), ("grief-parent", "grief"), ("mental-health", "depression"),
     ("caregiving", "dementia-caregiving"), ("addiction-recovery", "alcohol")],
)
def test_similarity_gives_partial_credit_between_parent_and_child(taxonomy: Taxonomy, a: str, b: str) -> None:
    assert 0.0 < taxonomy.similarity(a, b) < 1.0


def test_similarity_ranks_closer_relatives_higher(taxonomy: Taxonomy) -> None:
    parent_child = taxonomy.similarity("grief", "grief-parent")
    siblings = taxonomy.similarity("grief-partner", "grief-parent")
    cousins = taxonomy.similarity("grief-parent", "miscarriage")
    assert 1.0 > parent_child > siblings > cousins > 0.0


@pytest.mark.parametrize(
    ("a", "b"),
    [("divorce", "job-loss"), ("grief-parent", "depression"), ("alcohol", "academic-pressure"),
     ("loneliness", "friendship-problems"), ("lgbtq", "caregiving")],
)
def test_similarity_is_zero_across_areas(taxonomy: Taxonomy, a: str, b: str) -> None:
    assert taxonomy.similarity(a, b) == 0.0
    assert taxonomy.similarity(b, a) == 0.0


def test_similarity_is_zero_for_unknown_tags(taxonomy: Taxonomy) -> None:
    assert taxonomy.similarity("divorce", "no-such-tag") == 0.0


# --- finding tags in what people write -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my divorce was final last month", "divorce"),
        ("I got laid off", "job-loss"),
        ("We broke up in March and I can't stop thinking about her", "breakup"),
        ("My mom passed away in the spring", "grief-parent"),
        ("I can\u2019t sleep, I'm awake all night", "sleep-problems"),  # a phone keyboard's apostrophe
        ("I've been so depressed and numb lately", "depression"),
        ("my dad has dementia and doesn't recognize me anymore", "dementia-caregiving"),
        ("finals are next week and my GPA is tanking", "academic-pressure"),
        ("My best friend ghosted me", "friendship-problems"),
        ("I'm so lonely since moving here", "loneliness"),
        ("Six months sober and scared of a relapse", "addiction-recovery"),
        ("Getting out of the military after twelve years", "military-transition"),
        ("I'm LGBTQ+ and my family doesn't know", "lgbtq"),
    ],
)
def test_tags_in_text_finds_the_topic(taxonomy: Taxonomy, text: str, expected: str) -> None:
    assert expected in taxonomy.tags_in_text(text)


def test_tags_in_text_puts_the_most_specific_first(taxonomy: Taxonomy) -> None:
    found = taxonomy.tags_in_text("grief has been hard since my dad died")
    assert found[0] == "grief-parent"
    assert "grief" in found


@pytest.mark.parametrize(
    ("text", "not_expected"),
    [
        ("we broke up last week", "financial-stress"),
        ("I'm scared to death of my exams", "grief"),
        ("my friend came out of the hospital yesterday", "coming-out"),
        ("I need to add this to my list", "neurodivergence"),
        ("my phone died", "grief"),
    ],
)
def test_tags_in_text_matches_whole_phrases_only(taxonomy: Taxonomy, text: str, not_expected: str) -> None:
    assert not_expected not in taxonomy.tags_in_text(text)


def test_tags_in_text_finds_nothing_in_small_talk(taxonomy: Taxonomy) -> None:
    assert taxonomy.tags_in_text("hello, the weather is nice today") == []


# --- malformed data ------------------------------------------------------------------------------


def test_duplicate_id_is_rejected() -> None:
    data = {"tags": [
        {"id": "work", "label": "Work", "children": [{"id": "burnout", "label": "Burnout"}]},
        {"id": "health", "label": "Health", "children": [{"id": "burnout", "label": "Burnout again"}]},
    ]}
    with pytest.raises(TaxonomyError, match="burnout"):
        Taxonomy.from_mapping(data)


def test_unknown_parent_is_rejected() -> None:
    with pytest.raises(TaxonomyError, match="unknown parent"):
        Taxonomy.from_tags([Tag(id="grief", label="Grief", parent=None),
                            Tag(id="grief-pet", label="Loss of a pet", parent="pets")])


def test_admin_tag_with_unknown_parent_is_rejected(taxonomy: Taxonomy) -> None:
    with pytest.raises(TaxonomyError):
        taxonomy.extended([Tag(id="long-covid-fatigue", label="Long covid", parent="no-such-parent")])


def test_admin_tag_clashing_with_a_shipped_id_is_rejected(taxonomy: Taxonomy) -> None:
    with pytest.raises(TaxonomyError):
        taxonomy.extended([Tag(id="divorce", label="Divorce again", parent=None)])


@pytest.mark.parametrize("bad_id", ["Grief", "grief parent", "grief_parent", "-grief", "grief-", ""])
def test_bad_ids_are_rejected(bad_id: str) -> None:
    with pytest.raises(TaxonomyError):
        Taxonomy.from_mapping({"tags": [{"id": bad_id, "label": "Grief"}]})


def test_synonyms_given_as_one_string_are_rejected() -> None:
    # A bare string would otherwise become one-letter synonyms that match almost any text.
    with pytest.raises(TaxonomyError, match="list"):
        Taxonomy.from_mapping({"tags": [{"id": "grief", "label": "Grief", "synonyms": "bereaved"}]})


def test_admin_tags_extend_the_tree(taxonomy: Taxonomy) -> None:
    bigger = taxonomy.extended([Tag(id="long-covid-fatigue", label="Long covid fatigue", parent="chronic-illness",
                                    synonyms=("long covid fog",))])
    assert bigger.similarity("long-covid-fatigue", "chronic-illness") == 0.7
    assert "long-covid-fatigue" in bigger.tags_in_text("the long covid fog is awful")
    assert "long-covid-fatigue" not in taxonomy


# --- demo listeners and members ------------------------------------------------------------------


def test_demo_has_enough_listeners_with_unique_names(demo: dict) -> None:
    listeners = demo["listeners"]
    assert len(listeners) >= 40
    names = [listener["display_name"] for listener in listeners]
    assert len(names) == len(set(names))


def test_demo_listener_tags_exist(taxonomy: Taxonomy, demo: dict) -> None:
    for listener in demo["listeners"]:
        name = listener["display_name"]
        assert 1 <= len(listener["tags"]) <= 4, name
        assert taxonomy.unknown(listener["tags"]) == [], name
        assert taxonomy.unknown(listener["declined_topics"]) == [], name
        assert not set(listener["tags"]) & set(listener["declined_topics"]), name


def test_demo_listener_fields_have_allowed_values(demo: dict) -> None:
    for listener in demo["listeners"]:
        name = listener["display_name"]
        assert set(listener) == LISTENER_KEYS, name
        assert isinstance(name, str) and 2 <= len(name) <= 40
        assert isinstance(listener["bio"], str) and 0 < len(listener["bio"]) <= 200, name
        story = listener["story"]
        assert isinstance(story, str) and 200 <= len(story) <= 1200, name
        assert 3 <= len(re.findall(r"[.!?](?:\s|$)", story)) <= 6, f"{name}: story should be 3-6 sentences"
        assert listener["languages"] and all(LANGUAGE.match(lang) for lang in listener["languages"]), name
        assert listener["gender"] is None or listener["gender"] in GENDERS, name
        assert listener["age_range"] in AGE_RANGES, name
        assert isinstance(listener["veteran"], bool), name
        assert isinstance(listener["certified_high_risk"], bool), name
        assert isinstance(listener["declined_topics"], list), name
        ZoneInfo(listener["timezone"])  # raises for an unknown zone


def test_demo_listeners_pass_profile_validation(taxonomy: Taxonomy, demo: dict) -> None:
    for listener in demo["listeners"]:
        draft = ListenerProfileDraft(**{k: v for k, v in listener.items() if k != "certified_high_risk"})
        clean_listener_profile(draft, taxonomy)


def test_demo_listeners_cover_every_area(taxonomy: Taxonomy, demo: dict) -> None:
    per_area: Counter[str] = Counter()
    for listener in demo["listeners"]:
        for area in {root_of(taxonomy, t) for t in listener["tags"]}:
            per_area[area] += 1
    for area in AREAS:
        assert per_area[area] >= 3, f"only {per_area[area]} demo listeners in {area}"


@pytest.mark.parametrize("tag_id", NEEDS_TWO_LISTENERS)
def test_demo_has_two_listeners_for_common_topics(demo: dict, tag_id: str) -> None:
    assert sum(tag_id in listener["tags"] for listener in demo["listeners"]) >= 2


def test_demo_listeners_are_varied(demo: dict) -> None:
    listeners = demo["listeners"]
    assert sum("es" in listener["languages"] for listener in listeners) >= 5
    assert sum(listener["veteran"] for listener in listeners) >= 3
    assert sum(listener["certified_high_risk"] for listener in listeners) >= 5
    assert {listener["gender"] for listener in listeners} == {*GENDERS, None}
    assert {listener["age_range"] for listener in listeners} == set(AGE_RANGES)


def test_demo_members(demo: dict) -> None:
    members = demo["members"]
    assert len(members) == 4
    assert len({m["pseudonym"] for m in members}) == 4
    for member in members:
        assert set(member) <= MEMBER_KEYS
        assert member["email"].endswith("@example.org")
        assert member["languages"] and all(LANGUAGE.match(lang) for lang in member["languages"])
        prefs = member.get("preferences") or {}
        assert set(prefs) <= PREFERENCE_KEYS
        assert prefs.get("listener_gender") in (None, *GENDERS)
        assert prefs.get("listener_age_range") in (None, *AGE_RANGES)
        assert prefs.get("listener_veteran") in (None, True, False)
