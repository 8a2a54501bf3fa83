"""Ordinary bad input gets a friendly answer, never an exception."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sameboat.domain.matching import (
    MAX_REQUEST_CHARS,
    ConversationMode,
    ListenerStatus,
    MatchRequest,
    Preferences,
    Timing,
    rank_listeners,
)
from tests.unit.matching.helpers import NOW, TAXONOMY, listener, unit_vector

POOL = [
    listener("ana", tags=("divorce",), languages=frozenset({"en", "es"}), story_vector=unit_vector(1)),
    listener("ben", tags=("job-loss",), story_vector=unit_vector(2)),
    listener("cam", tags=("grief-parent",), story_vector=unit_vector(3), veteran=True),
]


def test_an_empty_pool_gives_a_reason() -> None:
    result = rank_listeners(MatchRequest(text="I lost my job last week"), unit_vector(1), [], TAXONOMY, NOW)
    assert result.matches == ()
    assert result.reason and "no listeners" in result.reason.lower()


def test_an_empty_request_asks_for_more() -> None:
    for text in ("", "   ", "\n\t"):
        result = rank_listeners(MatchRequest(text=text), None, POOL, TAXONOMY, NOW)
        assert result.matches == ()
        assert result.needs_more_detail
        assert result.prompt and "a little more" in result.prompt


def test_a_one_word_request_asks_for_more_but_still_matches_what_it_can() -> None:
    result = rank_listeners(MatchRequest(text="divorce"), unit_vector(1), POOL, TAXONOMY, NOW)
    assert result.needs_more_detail
    assert result.prompt
    assert result.matches and result.matches[0].listener_id == "ana"


def test_very_long_text_is_cut_not_refused() -> None:
    text = "My wife and I are divorcing and it is very hard. " * 500
    result = rank_listeners(MatchRequest(text=text), unit_vector(1), POOL, TAXONOMY, NOW)
    assert result.text_truncated
    assert len(text) > MAX_REQUEST_CHARS
    assert result.matches[0].listener_id == "ana"


def test_text_in_another_language_still_matches_on_tags_and_filters() -> None:
    request = MatchRequest(
        text="Mi esposa me dejó en marzo y estoy tratando de criar a dos niños en dos casas",
        tags=("divorce",),
        preferences=Preferences(languages=frozenset({"es"})),
    )
    result = rank_listeners(request, unit_vector(9), POOL, TAXONOMY, NOW)
    assert not result.text_language_supported
    assert [m.listener_id for m in result.matches] == ["ana"]
    assert result.matches[0].breakdown.semantic == 0.0
    assert "speaks Spanish" in result.matches[0].explanation


def test_unknown_tags_are_ignored() -> None:
    request = MatchRequest(text="I lost my job and feel useless", tags=("no-such-tag",))
    result = rank_listeners(request, unit_vector(2), POOL, TAXONOMY, NOW)
    assert result.topics_inferred
    assert result.matches


def test_a_listener_without_a_story_vector_is_still_matched_on_tags() -> None:
    pool = [listener("dee", tags=("job-loss",), story_vector=None)]
    result = rank_listeners(
        MatchRequest(text="I was laid off", tags=("job-loss",)), unit_vector(2), pool, TAXONOMY, NOW
    )
    assert [m.listener_id for m in result.matches] == ["dee"]


def test_nobody_available_now_says_so_and_suggests_later() -> None:
    offline = [dataclasses.replace(x, available_now=False) for x in POOL]
    result = rank_listeners(MatchRequest(text="I lost my job last week"), unit_vector(2), offline, TAXONOMY, NOW)
    assert result.matches == ()
    assert result.reason == "No approved listener is available right now. You can book a time for later instead."


def test_nobody_approved_says_so() -> None:
    paused = [dataclasses.replace(x, status=ListenerStatus.PAUSED) for x in POOL]
    result = rank_listeners(MatchRequest(text="I lost my job last week"), unit_vector(2), paused, TAXONOMY, NOW)
    assert result.reason and result.reason.startswith("No approved listener is available right now")
    assert result.excluded["not approved"] == 3


def test_empty_results_name_the_filter_that_emptied_them() -> None:
    def reason(**request_fields: object) -> str | None:
        request = MatchRequest(text="I lost my job last week", **request_fields)  # type: ignore[arg-type]
        return rank_listeners(request, unit_vector(2), POOL, TAXONOMY, NOW).reason

    assert "speaks Japanese" in (reason(preferences=Preferences(languages=frozenset({"ja"}))) or "")
    assert "preferences" in (reason(preferences=Preferences(listener_genders=frozenset({"nobody"}))) or "")
    full = [dataclasses.replace(x, active_conversations=x.max_concurrent) for x in POOL]
    result = rank_listeners(MatchRequest(text="I lost my job last week"), unit_vector(2), full, TAXONOMY, NOW)
    assert result.reason and "busy" in result.reason
    voice_less = [dataclasses.replace(x, modes=frozenset({ConversationMode.CHAT})) for x in POOL]
    request = MatchRequest(text="I lost my job last week", mode=ConversationMode.VOICE)
    assert "voice" in (rank_listeners(request, unit_vector(2), voice_less, TAXONOMY, NOW).reason or "")


def test_booking_later_prefers_listeners_free_sooner() -> None:
    pool = [
        listener("soon", tags=("job-loss",), story_vector=unit_vector(2), available_now=False,
                 next_available_at=NOW + timedelta(hours=2)),
        listener("late", tags=("job-loss",), story_vector=unit_vector(2), available_now=False,
                 next_available_at=NOW + timedelta(days=6)),
        listener("unknown", tags=("job-loss",), story_vector=unit_vector(2), available_now=False),
    ]  # fmt: skip
    request = MatchRequest(text="I lost my job last week", tags=("job-loss",), timing=Timing.LATER)
    result = rank_listeners(request, unit_vector(2), pool, TAXONOMY, NOW)
    assert [m.listener_id for m in result.matches] == ["soon", "late", "unknown"]
    assert "available in about 2 hours" in result.matches[0].explanation


def test_explanations_name_the_shared_experience_and_practicalities() -> None:
    request = MatchRequest(
        text="My husband and I are getting divorced",
        tags=("divorce",),
        preferences=Preferences(languages=frozenset({"es"})),
    )
    result = rank_listeners(request, unit_vector(1), POOL, TAXONOMY, NOW)
    explanation = result.matches[0].explanation
    assert explanation.startswith("Both went through divorce or separation")
    assert "speaks Spanish" in explanation
    assert "available now" in explanation


def test_partial_credit_through_the_taxonomy_is_explained() -> None:
    request = MatchRequest(text="Someone I loved died and I can't stop crying", tags=("grief",))
    result = rank_listeners(request, None, POOL, TAXONOMY, NOW)
    top = result.matches[0]
    assert top.listener_id == "cam"
    assert 0 < top.breakdown.topic < 1.0
    assert "Has been through loss of a parent, close to grief" in top.explanation


def test_the_topic_is_inferred_from_the_pool_when_no_tags_are_given() -> None:
    # Ten listeners whose stories sit near the request and who declared job loss outvote one other.
    near = unit_vector(5)
    pool = [listener(f"job{i}", tags=("job-loss",), story_vector=near + 0.05 * unit_vector(100 + i)) for i in range(10)]
    pool.append(listener("other", tags=("breakup",), story_vector=near))
    result = rank_listeners(MatchRequest(text="Everything fell apart this month"), near, pool, TAXONOMY, NOW)
    assert result.topics_inferred
    assert result.topics[0].tag == "job-loss"
    assert result.matches[0].listener_id.startswith("job")


def test_the_fast_keyword_finder_agrees_with_the_taxonomy() -> None:
    from sameboat.domain.matching.keywords import phrases_for

    texts = [
        "I got laid off and my wife left me",
        "My mum died and I can’t sleep, I’m up all night",
        "Divorce, DIVORCE! divorced...",
        "nothing here",
        "",
        "I drink too much since the breakup with my ex-boyfriend",
        "my parents don't understand me and I feel so alone",
    ]
    phrases = phrases_for(TAXONOMY)
    for text in texts:
        assert phrases.tags_in_text(text) == TAXONOMY.tags_in_text(text)


def test_text_in_another_language_without_tags_asks_for_topics() -> None:
    from sameboat.domain.matching import UNSUPPORTED_LANGUAGE_PROMPT

    request = MatchRequest(text="Mi esposa me dejó en marzo y estoy tratando de criar a dos niños en dos casas")
    result = rank_listeners(request, unit_vector(9), POOL, TAXONOMY, NOW)
    assert result.needs_more_detail
    assert result.prompt == UNSUPPORTED_LANGUAGE_PROMPT
    assert all(m.breakdown.semantic == 0.0 for m in result.matches)


def test_a_specific_taxonomy_word_outranks_its_parent() -> None:
    from sameboat.domain.matching.keywords import most_specific

    found = TAXONOMY.tags_in_text("My wife and I are getting divorced")
    assert "divorce" in found and "relationships" in found
    assert most_specific(found, TAXONOMY) == ["divorce"]
