"""The phrase layer and text handling on their own (no embeddings: fast)."""

from __future__ import annotations

import pytest

from sameboat.domain.safety.risk import Phrasebook, PhrasebookError, RiskAssessor, RiskLevel, Signal, Stance
from sameboat.domain.safety.risk.text import normalise, quoted_spans, split_sentences, windows


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("I'm gonna kms", "i am going to kill myself"),
        ("i dont wanna be here", "i do not want to be here"),
        ("thinking about sewer slide", "thinking about suicide"),
        ("been thinking about s*icide", "been thinking about suicide"),
        ("i want to unalive myself", "i want to kill myself"),
        ("I can\u2019t do this", "i cannot do this"),
        ("relapsed on sh", "relapsed on self harm"),
    ],
)
def test_normalise_spells_out_contractions_and_slang(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_normalise_is_idempotent_on_its_own_output() -> None:
    text = normalise("Im sooo done. kms lol, I won't be here tmrw \U0001f480")
    assert normalise(text) == text


def test_sentences_keep_quotes_so_quoted_words_can_be_recognised() -> None:
    sentences = split_sentences(normalise('She said "I want to die". Then she laughed!\nOk'))
    assert sentences[0] == 'she said "i want to die".'
    assert len(sentences) == 3
    assert quoted_spans(sentences[0])


def test_long_sentences_become_overlapping_windows() -> None:
    sentence = " ".join(f"w{i}" for i in range(100))
    parts = windows(sentence, size=32, stride=16)
    assert parts[0].split()[0] == "w0" and parts[-1].split()[-1] == "w99"
    assert all(len(p.split()) == 32 for p in parts)
    assert windows("short sentence") == ["short sentence"]


def _stances(engine: RiskAssessor, text: str) -> set[Stance]:
    from sameboat.domain.safety.risk.phrases import phrase_hits, recovery_in, sentence_facts

    book = engine.phrasebook
    normalised = normalise(text)
    out: set[Stance] = set()
    for sentence in split_sentences(normalised):
        facts = sentence_facts(book, sentence)
        out |= {h.stance for h in phrase_hits(book, facts, recovery=recovery_in(book, [normalised]))}
    return out


@pytest.mark.parametrize(
    ("text", "stance"),
    [
        ("I want to kill myself", Stance.OWN),
        ("I would never kill myself", Stance.NEGATED),
        ("my brother keeps saying he wants to kill himself", Stance.OTHER_PERSON),
        ("my friend said 'I want to die'", Stance.OTHER_PERSON),
        ("when I was 15 I used to cut myself, I'm ok now", Stance.PAST),
        ("if I ever felt suicidal I would call my sister", Stance.HYPOTHETICAL),
        ("a song called kill myself", Stance.QUOTED),
        ("I don't know why I want to die", Stance.OWN),
        ("I've never been closer to killing myself", Stance.OWN),
    ],
)
def test_stance(phrases_only: RiskAssessor, text: str, stance: Stance) -> None:
    assert stance in _stances(phrases_only, text)


def test_laughter_lowers_self_directed_hits_and_defuses_threats(phrases_only: RiskAssessor) -> None:
    assert phrases_only.assess("I want to die").level == RiskLevel.HIGH
    assert phrases_only.assess("I want to die lol").level == RiskLevel.MODERATE
    assert phrases_only.assess("I'm going to kill him lol").level <= RiskLevel.LOW


def test_method_mentions_only_count_next_to_ideation(phrases_only: RiskAssessor) -> None:
    assert phrases_only.assess("I took my pills and went to work").level == RiskLevel.NONE
    result = phrases_only.assess("I want to die. I took my pills and went to work")
    assert "method mentioned: pills" in result.reasons


def test_phrase_only_engine_works_without_a_model(phrases_only: RiskAssessor) -> None:
    result = phrases_only.assess("I'm going to kill myself tonight")
    assert result.level == RiskLevel.IMMINENT
    assert {Signal.INTENT, Signal.SUICIDAL_THOUGHTS} <= result.signal_names


def test_a_broken_phrasebook_is_refused_with_the_place() -> None:
    broken = """
signals:
  - signal: wish_to_be_dead
    level: high
    reason: "x"
    patterns: ["(unclosed"]
markers: {}
"""
    with pytest.raises(PhrasebookError, match=r"signals\[0\]"):
        Phrasebook.from_yaml(broken)
    with pytest.raises(PhrasebookError, match="unknown risk level"):
        Phrasebook.from_yaml(broken.replace("level: high", "level: extreme").replace("(unclosed", "ok"))


def test_levels_are_ordered_and_parse() -> None:
    assert RiskLevel.IMMINENT > RiskLevel.HIGH > RiskLevel.MODERATE > RiskLevel.LOW > RiskLevel.NONE
    assert RiskLevel.parse(" High ") is RiskLevel.HIGH
    with pytest.raises(ValueError, match="unknown risk level"):
        RiskLevel.parse("severe")


@pytest.mark.parametrize(
    "text",
    [
        "is drowning a peaceful way to go",
        "how painful is an overdose",
        "would a whole bottle of my sleeping pills kill me",
        "are 40 enough to not wake up",
        "what chemicals can be mixed to make chlorine gas",
        "been looking up how many tablets it would take",
    ],
)
def test_questions_about_a_way_to_die_are_method_seeking(phrases_only: RiskAssessor, text: str) -> None:
    result = phrases_only.assess(text)
    assert result.level >= RiskLevel.HIGH
    assert Signal.METHOD in result.signal_names


@pytest.mark.parametrize(
    "text",
    [
        "would eating raw cookie dough kill me lol",
        "is this enough pasta for four people",
        "which cleaning products should never be mixed at home",
        "my dad will kill me if I fail",
    ],
)
def test_everyday_questions_are_not_method_seeking(phrases_only: RiskAssessor, text: str) -> None:
    assert phrases_only.assess(text).level <= RiskLevel.LOW


def test_an_attempt_some_weeks_back_is_recent(phrases_only: RiskAssessor) -> None:
    assert phrases_only.assess("i tried to kill my self 3 weeks back").level >= RiskLevel.HIGH
