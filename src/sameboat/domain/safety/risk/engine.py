"""The risk engine: text (+ the member's recent context) in, a :class:`RiskAssessment` out.

Pure domain code. The only outside help is an injected sentence embedder; without one the engine runs
the phrase layer alone (the assessment's ``model_version`` says so).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sameboat.domain.safety.risk.model import (
    SUICIDE_SPECTRUM,
    RecentContext,
    RiskAssessment,
    RiskLevel,
    Signal,
    SignalHit,
    Source,
    Stance,
)
from sameboat.domain.safety.risk.phrases import (
    Phrasebook,
    SentenceFacts,
    method_mentions,
    phrase_hits,
    read_in_context,
    recovery_in,
    sentence_facts,
    shipped_phrasebook,
)
from sameboat.domain.safety.risk.rules import CONCRETE_ACTS, judge
from sameboat.domain.safety.risk.semantic import (
    PrototypeIndex,
    PrototypeSet,
    SentenceEmbedder,
    shipped_prototypes,
)
from sameboat.domain.safety.risk.text import normalise, split_sentences, windows, words

#: Bump when the rules or their thresholds change: it is part of every assessment's model_version.
ENGINE_VERSION = "1"

_SELF_SIGNALS = SUICIDE_SPECTRUM | {Signal.SELF_HARM}
_UNLOCK_METHOD_MENTIONS = frozenset(
    {Signal.WISH_TO_BE_DEAD, Signal.SUICIDAL_THOUGHTS, Signal.INTENT, Signal.PLAN, Signal.PREPARATORY}
)
_THIRD_PERSON_SUBJECT = re.compile(
    r"^(?:(?:and|but|so|then|also|now|because|like|well|honestly|apparently) )*(?:he|she|they|someone|somebody|"
    r"(?:my|his|her|their|our|a|the|this) (?:[a-z]+ )?(?:friend|sister|brother|mom|mum|mother|dad|father|son|"
    r"daughter|cousin|partner|husband|wife|boyfriend|girlfriend|roommate|classmate|coworker|kid|child|character|"
    r"singer|guy|girl|man|woman|person))\b"
)


@dataclass(frozen=True)
class RiskConfig:
    """The few numbers of the engine; docs/safety.md says how they were chosen."""

    #: A sentence fires a prototype group when its cosine similarity reaches this...
    similarity_threshold: float = 0.57
    #: ...and beats its best benign prototype by at least this much.
    benign_margin: float = 0.02
    #: A group's similarity is the mean over its this-many closest prototypes (1 = nearest only).
    neighbours: int = 1
    #: Sentences shorter than this many words are left to the phrase layer ("ok", "thanks", "kms").
    min_words_to_embed: int = 3
    #: Sentences longer than this are embedded as overlapping windows of this many words.
    window_words: int = 32
    #: Cap on embeddings per text, so a pasted novel cannot stall the queue (phrases still run on all).
    max_embeddings_per_text: int = 48


class RiskAssessor:
    """Holds the phrasebook, the prototype vectors and the embedder; assesses texts.

    Build one per process (embedding the prototypes takes about a second) and share it: ``assess`` is
    safe to call from several threads.
    """

    def __init__(
        self,
        embedder: SentenceEmbedder | None = None,
        *,
        config: RiskConfig | None = None,
        phrasebook: Phrasebook | None = None,
        prototypes: PrototypeSet | None = None,
    ) -> None:
        self.config = config or RiskConfig()
        self.phrasebook = phrasebook or shipped_phrasebook()
        self._prototypes = prototypes or shipped_prototypes()
        self._index = PrototypeIndex(embedder, self._prototypes) if embedder is not None else None
        layers = f"phrases-v{self.phrasebook.version}.{self.phrasebook.digest}"
        if self._index is not None:
            layers += (
                f"+prototypes-v{self._prototypes.version}.{self._prototypes.digest}"
                f"@{self.config.similarity_threshold:.2f}/{self.config.benign_margin:.2f}"
                f"+{self._index.embedder_version}"
            )
        else:
            layers += "+no-embedder"
        self.model_version = f"sameboat-risk-{ENGINE_VERSION}:{layers}"

    @property
    def uses_embeddings(self) -> bool:
        return self._index is not None

    # --- public -------------------------------------------------------------------------------------

    def assess(self, text: str, context: RecentContext | None = None) -> RiskAssessment:
        """Assess one text: a chat message, an intake, or one part of a longer post."""
        normalised = normalise(text or "")
        sentences = split_sentences(normalised)
        if not sentences:
            return self._empty()
        recovery = recovery_in(self.phrasebook, [normalised])
        hits: list[SignalHit] = []
        notes: list[str] = []
        facts_list = [sentence_facts(self.phrasebook, s) for s in sentences]
        budget = [self.config.max_embeddings_per_text]
        for number, facts in enumerate(facts_list):
            sentence_hits = phrase_hits(self.phrasebook, facts, recovery=recovery)
            if self._index is not None:
                sentence_hits += self._semantic_hits(facts, sentence_hits, recovery, budget)
            for note in facts.idioms:
                notes.append(f"figure of speech: \u201c{note}\u201d")
            hits += [dataclasses.replace(h, sentence=number) for h in sentence_hits]

        # "method mentioned: pills" only means something next to suicidal ideation (now or just before).
        earlier = _earlier_hits(context)
        unlocks_methods = _UNLOCK_METHOD_MENTIONS
        if any(h.counts and h.stance is Stance.OWN and h.signal in unlocks_methods for h in [*hits, *earlier]):
            for number, facts in enumerate(facts_list):
                if not (facts.protective or facts.reported_by_other or facts.hypothetical):
                    mentions = method_mentions(self.phrasebook, facts)
                    hits += [dataclasses.replace(h, sentence=number) for h in mentions if not _covered(h, hits)]

        counted, notes = _sort_out(hits, notes)
        alone = judge(counted)
        verdict = alone
        if earlier and any(h.signal is not Signal.CONCERN_FOR_OTHERS for h in counted):
            combined = judge(counted, [dataclasses.replace(h, source=Source.CONTEXT) for h in earlier])
            if combined.level > alone.level:
                used = _earlier_reasons(earlier, combined.reasons)
                extra = (f"builds on earlier messages: {used}",) if used else ()
                verdict = dataclasses.replace(combined, reasons=combined.reasons + extra)
                counted = counted + [dataclasses.replace(h, source=Source.CONTEXT) for h in earlier]

        strongest = verdict.strongest
        score = 0.0
        if verdict.level > RiskLevel.NONE and strongest is not None:
            score = round((verdict.level - 1 + min(1.0, max(0.0, strongest.confidence))) / 4.0, 4)
        ordered = tuple(sorted(counted, key=lambda h: (-h.level, h.source is not Source.PHRASE, h.signal.value)))
        return RiskAssessment(
            level=verdict.level,
            score=score,
            signals=ordered,
            reasons=verdict.reasons,
            model_version=self.model_version,
            notes=tuple(dict.fromkeys(notes)),
            level_without_context=alone.level,
        )

    def assess_sequence(self, texts: Iterable[str], context: RecentContext | None = None) -> list[RiskAssessment]:
        """Assess messages in order, each with the ones before it as context (also: a long post, sentence
        by sentence)."""
        context = context or RecentContext()
        out = []
        for text in texts:
            assessment = self.assess(text, context)
            out.append(assessment)
            context = context.add(assessment)
        return out

    def context_from(self, texts: Sequence[str]) -> RecentContext:
        """Rebuild a member's context from their recent message texts (oldest first), e.g. after a restart."""
        context = RecentContext()
        for text in texts[-RecentContext.MAX_MESSAGES :]:
            context = context.add(self.assess(text, context))
        return context

    # --- internals ----------------------------------------------------------------------------------

    def _empty(self) -> RiskAssessment:
        return RiskAssessment(RiskLevel.NONE, 0.0, (), (), self.model_version)

    def _semantic_hits(
        self, facts: SentenceFacts, phrase_found: list[SignalHit], recovery: bool, budget: list[int]
    ) -> list[SignalHit]:
        assert self._index is not None
        if len(words(facts.text)) < self.config.min_words_to_embed:
            return []
        stance = _sentence_stance(facts, phrase_found)
        found: dict[Signal, SignalHit] = {}
        for piece in windows(facts.text, size=self.config.window_words, stride=self.config.window_words // 2):
            if budget[0] <= 0:
                break
            budget[0] -= 1
            for match in self._index.matches(piece, neighbours=self.config.neighbours):
                if match.similarity < self.config.similarity_threshold:
                    break  # sorted best first
                if match.similarity - match.benign_similarity < self.config.benign_margin:
                    continue
                group = match.group
                if any(h.signal is group.signal and h.source is Source.PHRASE for h in phrase_found):
                    continue  # the phrase layer already said it, with its stance
                confidence = min(1.0, (match.similarity - self.config.similarity_threshold) / 0.15 + 0.25)
                signal, level, reason, hit_stance = read_in_context(
                    group.signal, group.level, _SEMANTIC_REASON[group.signal], stance, facts, recovery
                )
                if signal in CONCRETE_ACTS:
                    # Similarity is good at attitudes and bad at acts: "I gave my dog to my sister" sits
                    # close to a goodbye. A concrete act found only this way counts as a warning sign.
                    level = min(level, RiskLevel.MODERATE)
                hit = SignalHit(
                    signal=signal,
                    level=min(level, RiskLevel.HIGH),  # similarity alone never makes it imminent
                    reason=f"{reason} (similar to \u201c{match.nearest_prototype}\u201d)",
                    source=Source.SEMANTIC,
                    stance=hit_stance,
                    evidence=piece,
                    confidence=round(confidence, 3),
                    soon=facts.soon,
                )
                previous = found.get(signal)
                if previous is None or (hit.level, hit.confidence) > (previous.level, previous.confidence):
                    found[signal] = hit
        return list(found.values())


_SEMANTIC_REASON: dict[Signal, str] = {
    Signal.WISH_TO_BE_DEAD: "sounds like a wish to be dead",
    Signal.SUICIDAL_THOUGHTS: "sounds like thoughts of suicide",
    Signal.METHOD: "sounds like thinking about a method",
    Signal.INTENT: "sounds like intent to act",
    Signal.PLAN: "sounds like a plan",
    Signal.PREPARATORY: "sounds like preparing to die",
    Signal.SUICIDAL_BEHAVIOUR: "sounds like an attempt in progress",
    Signal.HOPELESSNESS: "sounds hopeless",
    Signal.BURDENSOMENESS: "sounds like feeling a burden",
    Signal.SELF_HARM: "sounds like self-harm",
    Signal.PAST_ATTEMPT: "sounds like a past attempt",
    Signal.HARM_TO_OTHERS: "sounds like wanting to hurt someone",
    Signal.ABUSE: "sounds like abuse",
    Signal.DANGER_AT_HOME: "sounds like danger at home",
    Signal.CONCERN_FOR_OTHERS: "sounds like worry for someone else",
}


def _sentence_stance(facts: SentenceFacts, phrase_found: Sequence[SignalHit]) -> Stance:
    """Stance for similarity hits, which have no words of their own to inspect: reuse what the phrase
    layer decided for this sentence, else read the sentence's markers."""
    if facts.hypothetical:
        return Stance.HYPOTHETICAL
    self_hits = [h for h in phrase_found if h.signal in _SELF_SIGNALS or h.signal is Signal.PAST_ATTEMPT]
    if self_hits and not any(h.stance is Stance.OWN for h in self_hits):
        return self_hits[0].stance
    if self_hits:
        return Stance.OWN
    if facts.protective:
        return Stance.NEGATED
    if facts.reported_by_other:
        return Stance.OTHER_PERSON
    if not facts.first_person and _THIRD_PERSON_SUBJECT.search(facts.text):
        return Stance.OTHER_PERSON
    if facts.media and not facts.first_person:
        return Stance.QUOTED
    if facts.distal_past and not facts.current:
        return Stance.PAST
    return Stance.OWN


def _earlier_hits(context: RecentContext | None) -> list[SignalHit]:
    """The member's own hits from earlier messages, each message's sentences numbered apart from the
    current message's (and from each other's)."""
    if context is None:
        return []
    out = []
    for age, assessment in enumerate(reversed(context.assessments), start=1):
        for hit in assessment.signals:
            if hit.source is not Source.CONTEXT and hit.counts:
                out.append(dataclasses.replace(hit, sentence=-1000 * age + hit.sentence))
    return out


def _covered(hit: SignalHit, hits: Sequence[SignalHit]) -> bool:
    return any(h.signal is hit.signal and h.reason == hit.reason for h in hits)


_NOTE_PREFIX = {
    Stance.NEGATED: "negated",
    Stance.HYPOTHETICAL: "hypothetical",
    Stance.QUOTED: "quoted or from media",
}


def _sort_out(hits: Sequence[SignalHit], notes: list[str]) -> tuple[list[SignalHit], list[str]]:
    """Split hits into the member's own (counted) and notes; someone else's risk becomes concern."""
    counted: list[SignalHit] = []
    for hit in hits:
        if hit.stance in (Stance.OWN, Stance.PAST):
            if hit.level > RiskLevel.NONE:
                counted.append(hit)
            continue
        if hit.stance is Stance.OTHER_PERSON:
            # The member is worried about someone: worth a listener's attention, not the member's risk.
            level = RiskLevel.MODERATE if hit.level >= RiskLevel.IMMINENT else RiskLevel.LOW
            counted.append(
                dataclasses.replace(
                    hit,
                    signal=Signal.CONCERN_FOR_OTHERS,
                    level=level,
                    stance=Stance.OWN,
                    reason=f"worried about someone else ({hit.reason})",
                    soon=False,
                    means_at_hand=False,
                )
            )
            continue
        notes.append(f"{_NOTE_PREFIX.get(hit.stance, hit.stance.value)}: {hit.reason}")
    return _dedupe(counted), notes


def _dedupe(hits: list[SignalHit]) -> list[SignalHit]:
    seen: set[tuple[Signal, str]] = set()
    out = []
    for hit in hits:
        key = (hit.signal, hit.reason)
        if key not in seen:
            seen.add(key)
            out.append(hit)
    return out


def _earlier_reasons(earlier: Sequence[SignalHit], already: Sequence[str]) -> str:
    reasons: list[str] = []
    for hit in earlier:
        if hit.reason not in reasons and hit.reason not in already:
            reasons.append(hit.reason)
    return "; ".join(reasons[:4])


def assess(text: str, context: RecentContext | None = None, *, model: RiskAssessor) -> RiskAssessment:
    """Assess one member text with ``model`` (see :class:`RiskAssessor`)."""
    return model.assess(text, context)
