"""Hard filters: whatever the pool and the request, some listeners must never be offered."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sameboat.domain.matching import ListenerStatus, MatchRequest, Timing, rank_listeners
from tests.unit.matching.helpers import NOW, TAXONOMY, pools, requests, unit_vector

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _offered(request: MatchRequest, pool: list, vector_seed: int | None) -> list:
    vector = unit_vector(vector_seed) if vector_seed is not None else None
    result = rank_listeners(request, vector, pool, TAXONOMY, NOW, limit=50)
    by_id = {x.id: x for x in pool}
    return [by_id[m.listener_id] for m in result.matches]


def _member_topic_lineage(tags: tuple[str, ...]) -> set[str]:
    lineage: set[str] = set()
    for tag in tags:
        lineage |= {tag, *TAXONOMY.ancestors(tag)}
    return lineage


@PROPERTY_SETTINGS
@given(pool=pools(), request=requests(), vector_seed=st.none() | st.integers(0, 1000))
def test_no_offered_listener_breaks_a_hard_filter(pool: list, request: MatchRequest, vector_seed: int | None) -> None:
    prefs = request.preferences
    for x in _offered(request, pool, vector_seed):
        assert x.status is ListenerStatus.APPROVED, "paused and suspended listeners are never offered"
        assert x.id not in request.blocked_listener_ids, "the member blocked this listener"
        assert request.member_id is None or request.member_id not in x.blocked_member_ids, "listener blocked member"
        assert x.active_conversations < x.max_concurrent, "a full listener was offered"
        assert request.mode in x.modes
        if request.timing is Timing.NOW:
            assert x.available_now
        if prefs.languages:
            assert prefs.languages & x.languages
        if prefs.listener_genders:
            assert x.gender in prefs.listener_genders
        if prefs.listener_age_ranges:
            assert x.age_range in prefs.listener_age_ranges
        if prefs.veteran:
            assert x.veteran


@PROPERTY_SETTINGS
@given(pool=pools(), request=requests(), vector_seed=st.none() | st.integers(0, 1000))
def test_a_listener_who_declines_the_members_topic_is_never_offered(
    pool: list, request: MatchRequest, vector_seed: int | None
) -> None:
    vector = unit_vector(vector_seed) if vector_seed is not None else None
    result = rank_listeners(request, vector, pool, TAXONOMY, NOW, limit=50)
    # The member's topic: their own tags or else the likely inferred topics, plus the taxonomy words used.
    words = set(TAXONOMY.tags_in_text(request.text))
    if request.tags:
        topic_tags = set(request.tags) | words
    else:
        topic_tags = {t.tag for t in result.topics if t.weight >= 0.2} | words
    lineage = _member_topic_lineage(tuple(topic_tags))
    by_id = {x.id: x for x in pool}
    for match in result.matches:
        assert not (by_id[match.listener_id].declined_topics & lineage)


@PROPERTY_SETTINGS
@given(pool=pools(), request=requests(), vector_seed=st.none() | st.integers(0, 1000))
def test_ranking_never_raises_and_explains_an_empty_result(
    pool: list, request: MatchRequest, vector_seed: int | None
) -> None:
    vector = unit_vector(vector_seed) if vector_seed is not None else None
    result = rank_listeners(request, vector, pool, TAXONOMY, NOW, limit=5)
    assert len(result.matches) <= 5
    if not result.matches:
        assert result.reason
    for match in result.matches:
        assert match.explanation
        assert match.display_name


def test_declining_a_parent_topic_declines_its_subtree() -> None:
    from tests.unit.matching.helpers import listener

    pool = [
        listener("ana", tags=("grief-parent",), declined_topics=frozenset({"grief"})),
        listener("ben", tags=("grief",)),
    ]
    request = MatchRequest(text="My dad died last year", tags=("grief-parent",))
    result = rank_listeners(request, None, pool, TAXONOMY, NOW)
    assert [m.listener_id for m in result.matches] == ["ben"]


def test_words_in_the_text_count_for_declines_even_when_the_member_picked_tags() -> None:
    from tests.unit.matching.helpers import listener

    pool = [
        listener("ana", tags=("breakup",), declined_topics=frozenset({"alcohol"})),
        listener("ben", tags=("breakup",)),
    ]
    request = MatchRequest(text="Since the breakup I have been drinking too much", tags=("breakup",))
    result = rank_listeners(request, None, pool, TAXONOMY, NOW)
    assert [m.listener_id for m in result.matches] == ["ben"]
