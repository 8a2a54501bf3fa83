"""The curated phrase layer: regular expressions written by the team (phrases.yaml) plus the rules that
decide whose words they are and how they are meant (negated, someone else's, quoted, past, hypothetical).

The stance rules work on one sentence at a time and look only a few words around a match, which is
what makes "I'd never kill myself" and "my friend said she wanted to die" come out differently from
"I want to kill myself" while keeping the rules short enough to read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from sameboat.domain.safety.risk.model import RiskLevel, Signal, SignalHit, Source, Stance
from sameboat.domain.safety.risk.prefilter import PatternPrefilter
from sameboat.domain.safety.risk.rules import METHOD_MENTION
from sameboat.domain.safety.risk.text import Span, has_laughter, quoted_spans

PHRASES_FILE = "phrases.yaml"

_MACRO = re.compile(r"%([a-z_]+)%")
_GROUP_NAME = re.compile(r"\(\?P<([a-z_]+)>")


class PhrasebookError(ValueError):
    """phrases.yaml is malformed (a bad regex, an unknown signal or level)."""


def _expand(pattern: str, macros: Mapping[str, str]) -> str:
    for _ in range(5):  # macros may use macros
        expanded = _MACRO.sub(lambda m: macros[m.group(1)] if m.group(1) in macros else m.group(0), pattern)
        if expanded == pattern:
            break
        pattern = expanded
    return pattern


def _unique_group_names(pattern: str) -> str:
    """Python's re refuses a group name twice even in different branches; number the repeats
    (refl, refl__2, ...). Readers of a match look at the prefix before ``__``."""
    seen: dict[str, int] = {}

    def rename(match: re.Match[str]) -> str:
        name = match.group(1)
        seen[name] = seen.get(name, 0) + 1
        return match.group(0) if seen[name] == 1 else f"(?P<{name}__{seen[name]}>"

    return _GROUP_NAME.sub(rename, pattern)


def _compile(pattern: str, macros: Mapping[str, str], where: str) -> re.Pattern[str]:
    source = _unique_group_names(_expand(pattern, macros))
    try:
        return re.compile(rf"(?<!\w)(?:{source})(?!\w)")
    except re.error as error:
        raise PhrasebookError(f"{where}: {error}: {pattern}") from error


@dataclass(frozen=True)
class PhraseGroup:
    signal: Signal
    level: RiskLevel
    reason: str
    patterns: tuple[re.Pattern[str], ...]
    person: str = "infer"  # infer | fixed | any
    fallback: bool = False
    means_at_hand: bool = False


@dataclass(frozen=True)
class Phrasebook:
    """The compiled contents of phrases.yaml."""

    version: str
    digest: str
    groups: tuple[PhraseGroup, ...]
    idioms: tuple[re.Pattern[str], ...]
    markers: Mapping[str, re.Pattern[str]]
    method_terms: tuple[tuple[str, re.Pattern[str]], ...]
    #: All groups' patterns in one RE2 set: which could match a sentence, in one pass (prefilter.py).
    prefilter: PatternPrefilter | None = None
    #: Where each group's patterns start in that set.
    offsets: tuple[int, ...] = ()
    #: The same for the idioms.
    idiom_filter: PatternPrefilter | None = None

    @classmethod
    def from_yaml(cls, text: str) -> Phrasebook:
        data: dict[str, Any] = yaml.safe_load(text)
        macros: dict[str, str] = {k: str(v) for k, v in (data.get("macros") or {}).items()}
        groups = []
        for index, entry in enumerate(data["signals"]):
            where = f"signals[{index}] ({entry.get('signal')})"
            try:
                signal = Signal(entry["signal"])
                level = RiskLevel.parse(entry["level"])
            except (KeyError, ValueError) as error:
                raise PhrasebookError(f"{where}: {error}") from error
            person = entry.get("person", "infer")
            if person not in ("infer", "fixed", "any"):
                raise PhrasebookError(f"{where}: person must be infer, fixed or any")
            groups.append(
                PhraseGroup(
                    signal=signal,
                    level=level,
                    reason=str(entry["reason"]),
                    patterns=tuple(_compile(p, macros, where) for p in entry["patterns"]),
                    person=person,
                    fallback=bool(entry.get("fallback", False)),
                    means_at_hand=bool(entry.get("means_at_hand", False)),
                )
            )
        idioms = tuple(_compile(p, macros, "idioms") for p in data.get("idioms") or ())
        markers = {name: _compile(p, macros, f"markers.{name}") for name, p in (data.get("markers") or {}).items()}
        for required in ("laughter", "distal_past", "current", "recent", "recovery", "soon", "media"):
            if required not in markers:
                raise PhrasebookError(f"markers.{required} is missing")
        method_terms = tuple(
            (name, _compile(p, macros, f"method_terms.{name}")) for name, p in (data.get("method_terms") or {}).items()
        )
        offsets = tuple(sum(len(g.patterns) for g in groups[:i]) for i in range(len(groups)))
        return cls(
            prefilter=PatternPrefilter([p for g in groups for p in g.patterns]),
            offsets=offsets,
            idiom_filter=PatternPrefilter(idioms),
            version=str(data.get("version", "0")),
            digest=hashlib.sha256(text.encode("utf-8")).hexdigest()[:10],
            groups=tuple(groups),
            idioms=idioms,
            markers=markers,
            method_terms=method_terms,
        )

    def marker(self, name: str, text: str) -> re.Match[str] | None:
        pattern = self.markers.get(name)
        return pattern.search(text) if pattern is not None else None


@cache
def shipped_phrasebook() -> Phrasebook:
    return Phrasebook.from_yaml(resources.files(__package__).joinpath(PHRASES_FILE).read_text("utf-8"))


# --- whose words, and how meant -----------------------------------------------------------------------

_NEGATOR = re.compile(r"\b(not|never|no longer|no|nor|zero|cannot|nobody|without|hardly|barely)\b")
# Negators that do not govern what follows: "I don't know why I want to die", "can't stop thinking".
_NOT_A_NEGATION = re.compile(
    r"^(?:not|never|no|cannot) (?:(?:even |really |quite |honestly )?(?:know|understand|get|see|care|remember|sure|"
    r"certain|wait|help|stop|shake|escape|seem|matter|only|just|one|where|tell|decide|figure out|"
    r"that|again|alone|ok|okay|fine|good|well|better|happy|enough|point|reason|hope|idea|clue|doubt|"
    r"joke|joking|kidding|lie|lying|exaggerating)\b|matter)|^no (?:one|body|way)\b"
    # comparatives: "I've never been closer to killing myself", "never felt this suicidal"
    r"|^(?:never|not) (?:been|felt|was|wanted|had|thought about it) "
    r"(?:\w+ ){0,2}?(?:closer|close|more|so|this|as|worse)\b"
)
# "Trying not to kill myself" is an urge being resisted, not a denial.
_RESISTING = re.compile(
    r"\b(?:try|trying|tried|tries|fight|fighting|fought|struggle|struggling|struggled|hard|harder|resist|resisting|"
    r"effort|best|promised|promise|forcing myself|force myself|telling myself|tell myself|reminding myself|"
    # deterrents imply the thought: "the only reason I haven't ended my life yet"
    r"only reason i|only reason|the reason i|why i|only thing|only thing that|what|keeping me|stopping me|"
    r"keeps me|kept me|stops me|stopped me)\s*$"
)
_NEGATED_AFTER = re.compile(
    r"\s*(?:is|was|would be|will be)\s+(?:not|never|no longer)\s+(?:something|an option|on the table|happening|"
    r"a thing|in my plans|what i want)"
)
_TITLE_BEFORE = re.compile(r"\b(?:called|titled|named|entitled)\s*['\"]?\s*$")
_CLAUSE_BREAK = re.compile(r"[,;:!?.()]|\s(?:but|because|cause|though|although|yet|so|and|or|then|however|except)\s")
_FIRST_PERSON = re.compile(r"\b(i|me|my|myself|mine|we|us|our|ourselves)\b")
_NOMINATIVE = re.compile(r"\b(i|we|he|she|they|you)\b")
_NOUN_SUBJECT = re.compile(
    r"\b(?:my|his|her|their|our|your|a|the|this) (?:(?:best|close|old|little|big|younger|older|new|online|ex|step) )?"
    r"(?:friend|sister|brother|sibling|mom|mum|mother|dad|father|parents?|husband|wife|boyfriend|girlfriend|partner|"
    r"son|daughter|kid|child|cousin|aunt|uncle|grandma|grandpa|roommate|classmate|coworker|colleague|boss|teacher|"
    r"neighbou?r|girl|guy|boy|man|woman|person|client|student|character|singer|rapper)s?"
    r"(?= (?:is|was|are|were|has|had|have|wants?|wanted|said|says|told|tells|keeps?|kept|thinks?|thought|feels?|felt|"
    r"will|would|does|did|tried|tries|can|could|might|may|just|always|never|also|even|really|\w+s|\w+ed)\b)"
)
_SOMEONE = re.compile(
    r"\b(someone|somebody|everyone|everybody|people|anyone|anybody)\b(?= \w+s\b| (?:is|was|has|who)\b)"
)


def _person_of_word(word: str) -> str:
    word = word.strip()
    if word in ("i", "we", "me", "my", "myself", "ourselves", "our", "meself", "me self"):
        return "first"
    if word in ("you", "your", "yourself", "yourselves", "u"):
        return "second"
    return "third"


def _group_values(match: re.Match[str], prefix: str) -> list[str]:
    return [v for k, v in match.groupdict().items() if v and (k == prefix or k.startswith(prefix + "__"))]


def _clause_start(sentence: str, position: int) -> int:
    start = 0
    for brk in _CLAUSE_BREAK.finditer(sentence, 0, position):
        start = brk.end()
    return start


def _clause_end(sentence: str, position: int) -> int:
    brk = _CLAUSE_BREAK.search(sentence, position)
    return brk.start() if brk else len(sentence)


def _subject_before(text: str) -> str | None:
    """Person ("first", "second", "third") of the last subject in ``text``, or None."""
    candidates: list[tuple[int, str]] = []
    for m in _NOMINATIVE.finditer(text):
        candidates.append((m.start(), _person_of_word(m.group(1))))
    for m in _NOUN_SUBJECT.finditer(text):
        candidates.append((m.start(), "third"))
    for m in _SOMEONE.finditer(text):
        candidates.append((m.start(), "third"))
    if not candidates:
        return None
    return max(candidates)[1]


@dataclass(frozen=True)
class SentenceFacts:
    """What the markers say about one sentence; computed once, used by both layers."""

    text: str  # normalised, idioms removed
    idioms: tuple[str, ...]
    laughter: bool
    soon: bool
    recent: bool
    distal_past: bool
    current: bool
    media: bool
    protective: bool
    hypothetical: bool
    first_person: bool
    quotes: tuple[Span, ...]
    reported_by_other: bool  # "my friend said ..." somewhere in the sentence


def sentence_facts(book: Phrasebook, sentence: str) -> SentenceFacts:
    idioms: list[str] = []
    text = sentence

    def blank(m: re.Match[str]) -> str:
        idioms.append(m.group(0))
        return ","

    candidates = book.idiom_filter.candidates(text) if book.idiom_filter is not None else None
    for index, idiom in enumerate(book.idioms):
        if candidates is not None and index not in candidates:
            continue  # cannot match (prefilter.py); after a change, ask again
        blanked = idiom.sub(blank, text)
        if blanked != text and book.idiom_filter is not None:
            candidates = book.idiom_filter.candidates(blanked)
        text = blanked
    text = re.sub(r"\s*,(?:\s*,)+", ",", text).strip(" ,")
    frame = book.marker("reporting_frame", text)
    return SentenceFacts(
        text=text,
        idioms=tuple(idioms),
        laughter=has_laughter(sentence) or bool(book.marker("laughter", sentence)),
        soon=bool(book.marker("soon", text)),
        recent=bool(book.marker("recent", text)),
        distal_past=bool(book.marker("distal_past", text)),
        current=bool(book.marker("current", text)),
        media=bool(book.marker("media", text)),
        protective=bool(book.marker("protective", text)),
        hypothetical=bool(book.marker("hypothetical", text)),
        first_person=bool(_FIRST_PERSON.search(text)),
        quotes=tuple(quoted_spans(text)),
        reported_by_other=bool(frame and _person_of_word(frame.group("frame_subj")) != "first"),
    )


def _negated(text: str, head_start: int, match_start: int) -> bool:
    """A negator governs the head if it sits inside the match before the head, or at most five words
    before the match in the same clause."""
    clause_from = _clause_start(text, match_start)
    before = text[clause_from:match_start].split()[-5:]
    inside = text[match_start:head_start]
    window = " ".join(before) + " " + inside
    for neg in _NEGATOR.finditer(window):
        if _NOT_A_NEGATION.match(window[neg.start() :]) or _RESISTING.search(window[: neg.start()]):
            continue
        return True
    return False


def _reported_frame_before(book: Phrasebook, text: str, position: int) -> str | None:
    """Person of the nearest reporting frame ("she told me", "I keep thinking") before ``position``."""
    best: tuple[int, str] | None = None
    pattern = book.markers.get("reporting_frame")
    if pattern is not None:
        for m in pattern.finditer(text, 0, position):
            best = (m.start(), _person_of_word(m.group("frame_subj")))
    own = book.markers.get("own_frame")
    if own is not None:
        for m in own.finditer(text, 0, position):
            if best is None or m.start() >= best[0]:
                best = (m.start(), "first")
    return best[1] if best else None


def stance_of(
    book: Phrasebook, facts: SentenceFacts, match: re.Match[str], group: PhraseGroup, recovery: bool
) -> Stance:
    text = facts.text
    head_start = match.start("head") if "head" in match.groupdict() and match.group("head") else match.start()

    if facts.hypothetical:
        return Stance.HYPOTHETICAL

    # Whose words: explicit pronouns in the match first, then reporting frames and quotes, then the
    # nearest subject. A pattern marked "fixed" names the person itself (abuse: "he hits me").
    person: str | None = None
    if group.person == "infer":
        explicit = _group_values(match, "refl") + _group_values(match, "subj") + _group_values(match, "poss")
        if explicit:
            # "my mum" is someone else; a lone "my" (as in "my life") is the member.
            first = explicit[0]
            person = "third" if " " in first.strip() else _person_of_word(first)
        frame = _reported_frame_before(book, text, match.start())
        inside_quote = any(q.contains(match.start(), match.end()) for q in facts.quotes)
        if inside_quote and frame != "first":
            return Stance.OTHER_PERSON if frame in ("second", "third") else Stance.QUOTED
        if frame in ("second", "third") and person in (None, "first"):
            return Stance.OTHER_PERSON
        if person is None:
            clause_from = _clause_start(text, match.start())
            person = _subject_before(text[clause_from : match.start()]) or _subject_before(text[: match.start()])
        if person in ("second", "third"):
            return Stance.OTHER_PERSON
        if facts.media and person is None and not facts.first_person:
            return Stance.QUOTED
    else:
        # "fixed" and "any" patterns name the people themselves ("he hits me", "how many pills does it
        # take"); only a quotation in someone else's voice makes them not the member's own.
        inside_quote = any(q.contains(match.start(), match.end()) for q in facts.quotes)
        if inside_quote and _reported_frame_before(book, text, match.start()) in ("second", "third"):
            return Stance.OTHER_PERSON
    if _negated(text, head_start, match.start()):
        return Stance.NEGATED
    if _NEGATED_AFTER.match(text[match.end() :]):
        return Stance.NEGATED  # "killing myself isn't something I'd ever do"
    if group.fallback and _NEGATOR.search(text[match.end() : _clause_end(text, match.end())]):
        return Stance.NEGATED  # a bare topic word: "suicide has never crossed my mind"
    if _TITLE_BEFORE.search(text[: match.start()]):
        return Stance.QUOTED  # "a song called kill myself"
    if group.fallback and facts.media:
        return Stance.QUOTED  # "an article about suicide rates", "suicide awareness training"
    if facts.media and any(q.contains(match.start(), match.end()) for q in facts.quotes):
        return Stance.QUOTED

    clause = text[_clause_start(text, match.start()) : _clause_end(text, match.end())]
    current_here = bool(book.marker("current", clause))
    if facts.distal_past and not current_here:
        return Stance.PAST
    past_tense = re.search(
        r"\b(wanted|wished|tried|attempted|thought|was|were|used to|felt|had|did|cut|burned|"
        r"took|overdosed|planned|hurt|harmed|self harmed)\b",
        match.group(0),
    )
    if recovery and past_tense and not current_here:
        return Stance.PAST
    return Stance.OWN


# --- applying the phrasebook ------------------------------------------------------------------------

_SELF_SIGNALS = frozenset(
    {
        Signal.WISH_TO_BE_DEAD,
        Signal.SUICIDAL_THOUGHTS,
        Signal.METHOD,
        Signal.INTENT,
        Signal.PLAN,
        Signal.PREPARATORY,
        Signal.SUICIDAL_BEHAVIOUR,
        Signal.HOPELESSNESS,
        Signal.BURDENSOMENESS,
        Signal.SELF_HARM,
    }
)


def _short(text: str, limit: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def phrase_hits(book: Phrasebook, facts: SentenceFacts, *, recovery: bool) -> list[SignalHit]:
    """All phrase hits in one sentence, each with its stance and level."""
    text = facts.text
    hits: list[SignalHit] = []
    spans: list[tuple[int, int]] = []
    taken: list[tuple[int, int, Signal]] = []
    spectrum_found = False
    candidates = book.prefilter.candidates(text) if book.prefilter is not None else None
    # Fallback groups (a bare topic word) go last, so they only count where nothing better matched.
    for index, group in sorted(enumerate(book.groups), key=lambda item: item[1].fallback):
        if group.fallback and spectrum_found:
            continue
        for number, pattern in enumerate(group.patterns, start=book.offsets[index] if book.offsets else 0):
            if candidates is not None and number not in candidates:
                continue  # cannot match this sentence
            for match in pattern.finditer(text):
                start, end = match.span()
                if any(s <= start and end <= e and sig == group.signal for s, e, sig in taken):
                    continue  # a stronger pattern of the same signal already covers these words
                if group.fallback and any(s <= start < e or s < end <= e for s, e, _ in taken):
                    continue
                stance = stance_of(book, facts, match, group, recovery)
                hit = _hit_for(group, stance, match.group(0), facts, recovery)
                hits.append(hit)
                spans.append((start, end))
                taken.append((start, end, group.signal))
                if group.signal in _SELF_SIGNALS and stance in (Stance.OWN, Stance.PAST):
                    spectrum_found = True
    return _without_words_of_an_attempt(hits, spans)


def _without_words_of_an_attempt(hits: list[SignalHit], spans: list[tuple[int, int]]) -> list[SignalHit]:
    """ "I tried to end my life in 2015" is one past attempt, not also a current "end my life"."""
    attempts = [
        span
        for hit, span in zip(hits, spans, strict=True)
        if hit.signal in (Signal.PAST_ATTEMPT, Signal.SUICIDAL_BEHAVIOUR)
    ]
    kept = []
    for hit, (start, end) in zip(hits, spans, strict=True):
        inside = any(s <= start and end <= e and (s, e) != (start, end) for s, e in attempts)
        if inside and hit.signal in (Signal.SUICIDAL_THOUGHTS, Signal.WISH_TO_BE_DEAD, Signal.METHOD):
            continue
        kept.append(hit)
    return kept


_DOWNGRADED_BY_LAUGHTER = frozenset(
    {Signal.WISH_TO_BE_DEAD, Signal.SUICIDAL_THOUGHTS, Signal.HOPELESSNESS, Signal.BURDENSOMENESS, Signal.SELF_HARM}
)


def read_in_context(
    signal: Signal, level: RiskLevel, reason: str, stance: Stance, facts: SentenceFacts, recovery: bool
) -> tuple[Signal, RiskLevel, str, Stance]:
    """Adjust a hit for its stance and the sentence's markers (shared by both layers)."""
    if signal is Signal.PAST_ATTEMPT and facts.recent and not facts.distal_past and stance is Stance.OWN:
        # "I tried to kill myself last week" is recent suicidal behaviour, not history.
        return Signal.SUICIDAL_BEHAVIOUR, RiskLevel.HIGH, "recent suicide attempt", stance
    if signal is Signal.PAST_ATTEMPT and stance in (Stance.OWN, Stance.PAST):
        return signal, RiskLevel.LOW, "past suicide attempt" + (", doing better now" if recovery else ""), Stance.PAST
    if stance is Stance.PAST:
        return signal, RiskLevel.LOW, f"in the past: {reason}", stance
    if stance is Stance.OWN and facts.laughter:
        if signal in (Signal.HARM_TO_OTHERS, Signal.DANGER_AT_HOME):
            return signal, min(level, RiskLevel.LOW), f"{reason} (said jokingly)", stance
        if signal in _DOWNGRADED_BY_LAUGHTER:
            return signal, level.lowered(1, floor=RiskLevel.LOW), f"{reason} (with laughter)", stance
    return signal, level, reason, stance


def _hit_for(group: PhraseGroup, stance: Stance, words: str, facts: SentenceFacts, recovery: bool) -> SignalHit:
    signal, level, reason, stance = read_in_context(group.signal, group.level, group.reason, stance, facts, recovery)
    return SignalHit(
        signal=signal,
        level=level,
        reason=f"{reason}: \u201c{_short(words)}\u201d",
        source=Source.PHRASE,
        stance=stance,
        evidence=words,
        soon=facts.soon,
        means_at_hand=group.means_at_hand and stance is Stance.OWN,
    )


def method_mentions(book: Phrasebook, facts: SentenceFacts) -> list[SignalHit]:
    """ "method mentioned: pills" hits; the caller keeps them only next to other suicide signals."""
    hits = []
    for name, pattern in book.method_terms:
        m = pattern.search(facts.text)
        if m is None:
            continue
        if _negated(facts.text, m.start(), m.start()):
            continue
        hits.append(
            SignalHit(
                signal=Signal.METHOD,
                level=RiskLevel.MODERATE,
                reason=f"{METHOD_MENTION}{name}",
                source=Source.PHRASE,
                evidence=m.group(0),
                soon=facts.soon,
            )
        )
    return hits


def recovery_in(book: Phrasebook, texts: Iterable[str]) -> bool:
    return any(book.marker("recovery", t) for t in texts)
