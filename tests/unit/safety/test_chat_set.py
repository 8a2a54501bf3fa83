"""Accuracy on the team-written chat set stays above the floors measured when the engine was built.

Measured when these floors were set (docs/safety.md): shipped 1.000 on dev (331) and holdout (72, first
score before any fix 0.764); phrases only 0.961 / 0.931. The floors leave room for deliberate trade-offs
but catch a regression in any category.
"""

from __future__ import annotations

import pytest

from sameboat.domain.safety.risk import RiskAssessor
from sameboat.eval.safety import engine_detector, parse_chat_cases, read_chat_set, score_chat

SHIPPED_FLOOR = 0.97
PHRASES_ONLY_FLOOR = 0.90
CATEGORY_FLOOR = 0.85


def test_the_chat_set_is_big_and_varied() -> None:
    cases = read_chat_set()
    assert len(cases) >= 300
    categories = {c.category for c in cases}
    assert {
        "direct", "negation", "idiom", "past_attempt", "third_person", "quotes_media", "slang", "indirect",
        "method_plan", "self_harm", "harm_to_others", "abuse_danger", "ordinary_stress", "context",
    } <= categories  # fmt: skip
    assert len({c.messages for c in cases}) == len(cases), "duplicate messages"


@pytest.mark.parametrize("part", ["dev", "holdout"])
def test_shipped_engine_accuracy_floor(engine: RiskAssessor, part: str) -> None:
    cases = [c for c in read_chat_set() if c.set == part]
    scores = score_chat(cases, engine_detector(engine, "shipped"))
    assert scores.accuracy >= SHIPPED_FLOOR, [(c.messages[-1], level.label) for c, level in scores.misses]
    for category in scores.total:
        assert scores.category_accuracy(category) >= CATEGORY_FLOOR, category


def test_second_holdout_floor(engine: RiskAssessor) -> None:
    # Written later and first scored 0.83 before any change for it; its known misses stay in the file.
    cases = [c for c in read_chat_set() if c.set == "holdout2"]
    assert len(cases) >= 40
    assert score_chat(cases, engine_detector(engine, "shipped")).accuracy >= 0.89


def test_phrase_layer_alone_accuracy_floor(phrases_only: RiskAssessor) -> None:
    scores = score_chat(read_chat_set(), engine_detector(phrases_only, "phrases only"))
    assert scores.accuracy >= PHRASES_ONLY_FLOOR


def test_prototypes_do_not_copy_the_test_messages(engine: RiskAssessor) -> None:
    from sameboat.domain.safety.risk import shipped_prototypes
    from sameboat.domain.safety.risk.text import normalise

    prototypes = shipped_prototypes()
    written = {normalise(s) for g in prototypes.groups for s in g.sentences} | {normalise(s) for s in prototypes.benign}
    tests = {normalise(m) for c in read_chat_set() for m in c.messages}
    assert not written & tests


def test_chat_case_ranges_are_checked() -> None:
    with pytest.raises(ValueError, match="min is above max"):
        parse_chat_cases({"cases": [{"text": "x", "category": "c", "min": "high", "max": "low"}]})
    (case,) = parse_chat_cases({"cases": [{"messages": ["a", "b"], "category": "c", "level": "low"}]})
    assert case.expected == "low" and case.messages == ("a", "b")
