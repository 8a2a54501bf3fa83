"""The RE2 prefilter only skips patterns that cannot match: the phrase layer's answers are the same with it."""

from __future__ import annotations

import dataclasses
import re
import unicodedata

import pytest

from sameboat.domain.safety.risk import text as risk_text
from sameboat.domain.safety.risk.phrases import phrase_hits, sentence_facts, shipped_phrasebook
from sameboat.domain.safety.risk.prefilter import PatternPrefilter, Unloosenable, loosen
from sameboat.domain.safety.risk.text import normalise, split_sentences
from sameboat.eval.safety import read_chat_set

# Beyond the chat set: letters outside ASCII next to the words that matter, and odd spacing.
EXTRA = (
    "Je veux mourir. I want to die, café or not",
    "i want to kïll myself",
    "naïve me thought i'd never want to end it all 💀",
    "I’ve been thinking about suicide\u00a0a lot",
    "my bröther keeps saying he’ll kill himself",
    "I cut myself again last night, deeper than before",
    "He said he would kill me if I told anyone",
)


def sentences() -> list[str]:
    book = shipped_phrasebook()
    texts = [m for case in read_chat_set() for m in case.messages] + list(EXTRA)
    return [sentence_facts(book, s).text for t in texts for s in split_sentences(normalise(t))]


def test_loosening_widens_and_never_narrows() -> None:
    assert loosen(r"(?<!\w)(?:kill (?P<refl>myself|me))(?!\w)") == r"(?:kill (?:myself|me))"
    assert loosen(r"\bdie\b") == "die"
    assert loosen(r"[\w']+self") == r"[\pL\pN_']+self"
    assert loosen(r"[^]x]\d") == r"[^]x]\pN"
    assert loosen(r"(?<![)\]])die[]]") == "die[]]"  # brackets and parentheses inside classes are literals
    with pytest.raises(Unloosenable):
        loosen(r"(?P<a>x) (?P=a)")


def test_every_pattern_that_matches_is_a_candidate() -> None:
    book = shipped_phrasebook()
    assert book.prefilter is not None
    patterns = [p for g in book.groups for p in g.patterns]
    assert len(book.prefilter.always) < len(patterns) / 10  # nearly all go through RE2
    for sentence in sentences():
        candidates = book.prefilter.candidates(sentence)
        matching = {i for i, p in enumerate(patterns) if p.search(sentence)}
        assert matching <= candidates, (sentence, matching - candidates)


def test_the_phrase_layer_says_the_same_with_and_without_it() -> None:
    book = shipped_phrasebook()
    unfiltered = dataclasses.replace(book, prefilter=None)
    hits_seen = 0
    for text in sentences():
        facts = sentence_facts(book, text)
        with_filter = phrase_hits(book, facts, recovery=False)
        assert with_filter == phrase_hits(unfiltered, facts, recovery=False), text
        hits_seen += bool(with_filter)
    assert hits_seen > 200  # the chat set is mostly risk: the comparison covered real hits


def test_a_pattern_re2_cannot_read_is_always_a_candidate() -> None:
    patterns = [re.compile(r"(a)\1"), re.compile("needle"), re.compile("hay", re.IGNORECASE)]
    prefilter = PatternPrefilter(patterns)  # a back-reference, and a flag it does not translate
    assert prefilter.candidates("nothing here") == {0, 2}
    assert prefilter.candidates("a needle in HAY") == {0, 1, 2}


def _normalise_without_filter(text: str) -> str:
    """normalise() as it was before the filter: every rewrite tried in turn."""
    text = unicodedata.normalize("NFKC", text).translate(risk_text._QUOTE_CHARS)
    text = risk_text._LAUGHTER_EMOJI.sub(" lol ", text)
    text = risk_text._OTHER_EMOJI.sub(" ", text).lower()
    for pattern, replacement in risk_text._COMPILED_REWRITES:
        text = pattern.sub(replacement, text)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r" *\n[\n ]*", "\n", text).strip()


def test_normalising_and_idioms_are_the_same_with_and_without_it() -> None:
    book = shipped_phrasebook()
    unfiltered = dataclasses.replace(book, prefilter=None, idiom_filter=None)
    texts = [m for case in read_chat_set() for m in case.messages] + list(EXTRA)
    for text in texts:
        normalised = normalise(text)
        assert normalised == _normalise_without_filter(text), text
        for sentence in split_sentences(normalised):
            assert sentence_facts(book, sentence) == sentence_facts(unfiltered, sentence), sentence
