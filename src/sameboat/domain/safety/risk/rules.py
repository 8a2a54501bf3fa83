"""From signal hits to one level, with the reasons. The ladder follows the C-SSRS idea that risk rises
with each step from wishing to be dead, to thinking of suicide, to a method, intent, a plan and
preparations, and that combinations matter more than any single phrase.

Every rule is written out here, in order, with the reason a supervisor will read when it fires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sameboat.domain.safety.risk.model import (
    IDEATION,
    SUICIDE_SPECTRUM,
    RiskLevel,
    Signal,
    SignalHit,
    Source,
    Stance,
)

METHOD_MENTION = "method mentioned: "
#: Signals that name an act rather than a state of mind.
CONCRETE_ACTS = frozenset({Signal.METHOD, Signal.INTENT, Signal.PLAN, Signal.PREPARATORY, Signal.SUICIDAL_BEHAVIOUR})


@dataclass(frozen=True)
class Verdict:
    level: RiskLevel
    reasons: tuple[str, ...]
    strongest: SignalHit | None


def _strongest(hits: Sequence[SignalHit]) -> SignalHit | None:
    return max(hits, key=lambda h: (h.level, h.confidence, h.source is Source.PHRASE), default=None)


def judge(current: Sequence[SignalHit], earlier: Sequence[SignalHit] = ()) -> Verdict:
    """The level of a message from its own hits, raised by combinations with ``earlier`` hits (from the
    member's recent messages). Earlier hits never count on their own: only in a combination."""
    counted = [h for h in current if h.counts]
    if not counted:
        return Verdict(RiskLevel.NONE, (), None)
    prior = [h for h in earlier if h.counts and h.signal is not Signal.CONCERN_FOR_OTHERS]
    level = max(h.level for h in counted)
    reasons: list[str] = []
    for hit in sorted(counted, key=lambda h: (-h.level, h.source is not Source.PHRASE)):
        if hit.reason not in reasons:
            reasons.append(hit.reason)

    everything = counted + prior
    own = [h for h in everything if h.stance is Stance.OWN]
    kinds = {h.signal for h in own}
    # Acts (a plan, a goodbye, a method) that only the similarity layer saw may raise a message to HIGH but
    # never to IMMINENT: that needs the words themselves.
    firm = {h.signal for h in own if not (h.source is Source.SEMANTIC and h.signal in CONCRETE_ACTS)}
    ideation = bool(kinds & IDEATION)
    soon_intent_or_plan = any(
        h.soon for h in own if h.signal in (Signal.INTENT, Signal.PLAN) and h.source is not Source.SEMANTIC
    )
    means_at_hand = any(h.means_at_hand for h in own)

    def raise_to(new_level: RiskLevel, why: str) -> None:
        nonlocal level
        if new_level > level:
            level = new_level
            reasons.append(why)

    if Signal.INTENT in firm and (
        firm & {Signal.PLAN, Signal.METHOD, Signal.PREPARATORY} or soon_intent_or_plan or means_at_hand
    ):
        raise_to(RiskLevel.IMMINENT, "intent together with a plan, a method, preparations or a time")
    if ideation and (Signal.PREPARATORY in firm or means_at_hand):
        raise_to(RiskLevel.IMMINENT, "suicidal thoughts while preparing or with the means at hand")
    if Signal.PLAN in firm and soon_intent_or_plan and ideation:
        raise_to(RiskLevel.IMMINENT, "a plan for a time that is now or soon")
    if ideation and kinds & {Signal.METHOD, Signal.PLAN, Signal.INTENT}:
        raise_to(RiskLevel.HIGH, "suicidal thoughts with a method, a plan or intent")
    if ideation and any(h.signal is Signal.PAST_ATTEMPT for h in everything):
        raise_to(RiskLevel.HIGH, "suicidal thoughts after a past attempt")
    if ideation and Signal.SELF_HARM in kinds:
        raise_to(RiskLevel.HIGH, "suicidal thoughts and self-harm")
    # Several warning signs means several statements: each sentence counts once, with its strongest sign
    # (the phrase and similarity layers reading the same words are one sign). A bare "method mentioned"
    # only amplifies ideation (above); it is not a warning sign of its own.
    strongest_per_sentence: dict[int, SignalHit] = {}
    for hit in own:
        if hit.signal in SUICIDE_SPECTRUM and not hit.reason.startswith(METHOD_MENTION):
            best = strongest_per_sentence.get(hit.sentence)
            if best is None or hit.level > best.level:
                strongest_per_sentence[hit.sentence] = hit
    signs = list(strongest_per_sentence.values())
    if len({h.signal for h in signs}) >= 2 and max(h.level for h in signs) >= RiskLevel.MODERATE:
        raise_to(RiskLevel.HIGH, "several suicide warning signs together")
    for hit in own:
        if hit.signal in (Signal.HARM_TO_OTHERS, Signal.DANGER_AT_HOME) and hit.level >= RiskLevel.HIGH and hit.soon:
            raise_to(RiskLevel.IMMINENT, "danger that is happening now or tonight")

    return Verdict(level, tuple(reasons), _strongest(counted))
