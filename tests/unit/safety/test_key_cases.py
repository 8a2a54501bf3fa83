"""The cases the issue names, and the stance rules, on the shipped engine (phrases + MiniLM)."""

from __future__ import annotations

import pytest

from sameboat.domain.safety.risk import RecentContext, RiskAssessor, RiskLevel, Signal, assess

NONE, LOW, MODERATE, HIGH, IMMINENT = (
    RiskLevel.NONE,
    RiskLevel.LOW,
    RiskLevel.MODERATE,
    RiskLevel.HIGH,
    RiskLevel.IMMINENT,
)


def test_direct_statement_is_high_with_a_readable_reason(engine: RiskAssessor) -> None:
    result = assess("I want to kill myself", model=engine)
    assert result.level == HIGH
    assert Signal.SUICIDAL_THOUGHTS in result.signal_names
    assert any("kill myself" in reason for reason in result.reasons)
    assert result.model_version == engine.model_version


@pytest.mark.parametrize(
    "text",
    [
        "I'd never kill myself",
        "I'm not suicidal, just tired of my job",
        "don't worry, I'm not going to hurt myself",
        "I have zero plans to kill myself",
        "Killing myself isn't something I'd ever do",
    ],
)
def test_negation_is_not_the_members_risk(engine: RiskAssessor, text: str) -> None:
    result = engine.assess(text)
    assert result.level <= LOW, result.reasons
    assert any(note.startswith("negated") for note in result.notes) or result.level == NONE


def test_resisting_an_urge_is_not_a_negation(engine: RiskAssessor) -> None:
    assert engine.assess("I'm trying so hard not to kill myself right now").level >= HIGH


@pytest.mark.parametrize(
    "text",
    [
        "this exam is killing me",
        "I could murder a pizza",
        "dying to see you",
        "you're going to kill it at the interview",
        "my mum is going to kill me when she sees my grades",
    ],
)
def test_idioms_are_not_risk(engine: RiskAssessor, text: str) -> None:
    result = engine.assess(text)
    assert result.level <= LOW, result.reasons


def test_third_person_is_concern_not_the_members_own_risk(engine: RiskAssessor) -> None:
    result = engine.assess("my friend said she wanted to die")
    assert result.level == LOW
    assert result.signal_names == {Signal.CONCERN_FOR_OTHERS}
    assert "worried about someone else" in result.reasons[0]


def test_someone_else_in_imminent_danger_is_moderate(engine: RiskAssessor) -> None:
    result = engine.assess("my friend is planning to kill herself tonight, what do I do")
    assert result.level in (LOW, MODERATE)
    assert result.signal_names == {Signal.CONCERN_FOR_OTHERS}


def test_past_attempt_with_recovery_is_low_with_a_past_attempt_signal_only(engine: RiskAssessor) -> None:
    result = engine.assess("I attempted years ago and I'm doing well now")
    assert result.level == LOW
    assert result.signal_names == {Signal.PAST_ATTEMPT}


def test_a_recent_attempt_is_not_history(engine: RiskAssessor) -> None:
    assert engine.assess("I tried to kill myself last week").level >= HIGH


def test_quotes_and_media_are_not_the_members_risk(engine: RiskAssessor) -> None:
    assert engine.assess('"I want to die" is literally the chorus of that song lol').level <= LOW
    assert engine.assess("my favourite rapper has a song called kill myself").level <= LOW


@pytest.mark.parametrize("text", ["kms", "i want to unalive myself", "thinking about sewerslide again"])
def test_slang_is_understood(engine: RiskAssessor, text: str) -> None:
    assert engine.assess(text).level >= HIGH


def test_intent_with_a_time_is_imminent(engine: RiskAssessor) -> None:
    result = engine.assess("I'm going to kill myself tonight")
    assert result.level == IMMINENT
    assert Signal.INTENT in result.signal_names


def test_method_is_named_in_the_reasons(engine: RiskAssessor) -> None:
    result = engine.assess("I want to die and I keep thinking about the pills in the cabinet")
    assert result.level >= HIGH
    assert "method mentioned: pills" in result.reasons


def test_indirect_goodbye(engine: RiskAssessor) -> None:
    assert engine.assess("you won't have to worry about me much longer").level >= HIGH


def test_danger_at_home_and_abuse(engine: RiskAssessor) -> None:
    assert engine.assess("he threatened to kill me if I leave").level >= HIGH
    abuse = engine.assess("my boyfriend hits me when he's drunk")
    assert abuse.level == MODERATE and Signal.ABUSE in abuse.signal_names


def test_harm_to_others_and_its_figure_of_speech(engine: RiskAssessor) -> None:
    assert engine.assess("I'm going to shoot up my school").level >= HIGH
    assert engine.assess("I'm going to kill my brother, he ate my leftovers lol").level <= LOW


def test_ordinary_stress_stays_low(engine: RiskAssessor) -> None:
    for text in ("I'm so stressed about my finals", "I got dumped and I can't stop crying", "work is a nightmare"):
        assert engine.assess(text).level <= LOW, text


def test_empty_text_is_none(engine: RiskAssessor) -> None:
    for text in ("", "   ", "...", "\n\n"):
        result = engine.assess(text)
        assert result.level == NONE and result.score == 0.0 and result.signals == ()


# --- conversation context ----------------------------------------------------------------------------


def test_risk_builds_over_several_messages(engine: RiskAssessor) -> None:
    first = engine.assess("I'm so tired of everything")
    assert first.level <= MODERATE
    second = engine.assess("I keep thinking about death lately", RecentContext().add(first))
    assert second.level == HIGH
    assert second.level_without_context < HIGH
    assert any(reason.startswith("builds on earlier messages") for reason in second.reasons)


def test_ideation_then_means_at_hand_is_imminent(engine: RiskAssessor) -> None:
    context = engine.context_from(["I've been thinking about ending it"])
    result = engine.assess("I have the pills right here", context)
    assert result.level == IMMINENT
    assert engine.assess("I have the pills right here").level < IMMINENT


def test_calm_message_after_a_high_one_is_not_raised_by_context(engine: RiskAssessor) -> None:
    context = engine.context_from(["I wish I was dead"])
    assert engine.assess("thanks for listening, I feel a bit better", context).level == NONE


def test_context_is_bounded() -> None:
    context = RecentContext()
    filler = RiskAssessor(None).assess("hello")
    for _ in range(RecentContext.MAX_MESSAGES + 5):
        context = context.add(filler)
    assert len(context.assessments) == RecentContext.MAX_MESSAGES


# --- determinism ---------------------------------------------------------------------------------------


def test_same_text_same_model_same_assessment(engine: RiskAssessor) -> None:
    texts = ["I want to die", "my friend said she wanted to die", "I keep thinking nobody would miss me"]
    first = [engine.assess(text) for text in texts]
    engine._index._cache.clear()  # type: ignore[union-attr]  # recompute every embedding from scratch
    assert [engine.assess(text) for text in texts] == first
    context = engine.context_from(texts[:2])
    assert engine.assess(texts[2], context) == engine.assess(texts[2], context)


def test_model_version_names_every_part(engine: RiskAssessor, phrases_only: RiskAssessor) -> None:
    assert "phrases-v" in engine.model_version and "prototypes-v" in engine.model_version
    assert "all-MiniLM-L6-v2" in engine.model_version
    assert phrases_only.model_version.endswith("+no-embedder")


def test_score_is_ordered_like_the_level(engine: RiskAssessor) -> None:
    texts = ["hello", "I feel hopeless", "I wish I could disappear forever", "I want to die", "I took all my pills"]
    results = sorted((engine.assess(t) for t in texts), key=lambda r: r.level)
    for lower, higher in zip(results, results[1:], strict=False):
        if higher.level > lower.level:
            assert higher.score > lower.score
    assert all(0.0 <= r.score <= 1.0 for r in results)
