"""Value objects of the risk engine: levels, signals, the hits that found them, and the assessment.

Everything here is plain, immutable data so an assessment can be stored, compared and shown to a
supervisor as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class RiskLevel(IntEnum):
    """Ordered: ``RiskLevel.HIGH > RiskLevel.MODERATE``. What each level triggers is per deployment."""

    NONE = 0
    LOW = 1
    MODERATE = 2
    HIGH = 3
    IMMINENT = 4

    @classmethod
    def parse(cls, name: str) -> RiskLevel:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            names = ", ".join(m.name.lower() for m in cls)
            raise ValueError(f"unknown risk level {name!r}; use one of {names}") from None

    @property
    def label(self) -> str:
        return self.name.lower()

    def raised(self, steps: int = 1) -> RiskLevel:
        return RiskLevel(min(RiskLevel.IMMINENT, self + steps))

    def lowered(self, steps: int = 1, floor: RiskLevel | None = None) -> RiskLevel:
        lowest = RiskLevel.NONE if floor is None else floor
        return RiskLevel(max(lowest, self - steps))


class Signal(StrEnum):
    """What the engine looks for. The first eight follow the Columbia (C-SSRS) ladder of ideation and
    behaviour; the rest are the other dangers a peer conversation can reveal."""

    WISH_TO_BE_DEAD = "wish_to_be_dead"  # C-SSRS 1: passive ideation
    SUICIDAL_THOUGHTS = "suicidal_thoughts"  # C-SSRS 2: active, non-specific thoughts of killing oneself
    METHOD = "method"  # C-SSRS 3: thinking of or seeking a way to do it
    INTENT = "intent"  # C-SSRS 4: some intention of acting
    PLAN = "plan"  # C-SSRS 5: details worked out (how, when, where)
    PREPARATORY = "preparatory_behaviour"  # C-SSRS behaviour: note, giving things away, saying goodbye
    SUICIDAL_BEHAVIOUR = "suicidal_behaviour"  # an attempt now or very recently (actual, interrupted, aborted)
    PAST_ATTEMPT = "past_attempt"  # C-SSRS lifetime behaviour: history, not present danger on its own
    HOPELESSNESS = "hopelessness"  # warning sign: no reason to live, no future, trapped
    BURDENSOMENESS = "burdensomeness"  # warning sign: "everyone would be better off without me"
    SELF_HARM = "self_harm"
    HARM_TO_OTHERS = "harm_to_others"
    ABUSE = "abuse"
    DANGER_AT_HOME = "danger_at_home"
    CONCERN_FOR_OTHERS = "concern_for_others"  # someone else's risk, told by the member


#: The signals that describe the member's own suicidal ideation and behaviour.
SUICIDE_SPECTRUM: frozenset[Signal] = frozenset(
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
    }
)
IDEATION: frozenset[Signal] = frozenset({Signal.WISH_TO_BE_DEAD, Signal.SUICIDAL_THOUGHTS})


class Stance(StrEnum):
    """Whose words, and how meant. Only ``OWN`` (and ``PAST`` as history) counts as the member's risk."""

    OWN = "own"
    NEGATED = "negated"  # "I'd never kill myself"
    HYPOTHETICAL = "hypothetical"  # "if I ever felt suicidal I would call you"
    OTHER_PERSON = "other_person"  # "my friend said she wanted to die"
    QUOTED = "quoted"  # song lyrics, films, books, someone's words in quotes
    PAST = "past"  # "when I was 15 I used to cut myself" (and the member says it is over)


class Source(StrEnum):
    PHRASE = "phrase"  # curated phrase layer
    SEMANTIC = "semantic"  # sentence-embedding similarity to prototype sentences
    CONTEXT = "context"  # built from the member's earlier messages


@dataclass(frozen=True)
class SignalHit:
    """One signal found in one sentence."""

    signal: Signal
    #: The level this hit implies on its own, after its stance was taken into account.
    level: RiskLevel
    #: Human-readable, e.g. "method mentioned: pills".
    reason: str
    source: Source
    stance: Stance = Stance.OWN
    #: The words that fired it (phrase layer) or the sentence that matched a prototype (semantic layer).
    evidence: str = ""
    #: 1.0 for a curated phrase; for the semantic layer, how far above the threshold the similarity was.
    confidence: float = 1.0
    #: The sentence names a time that is now or very soon ("tonight", "right now").
    soon: bool = False
    #: The means are within reach ("the pills are right here").
    means_at_hand: bool = False
    #: Which sentence of its message it came from (earlier messages get negative numbers in context), so
    #: that two layers reading the same words count as one warning sign, not two.
    sentence: int = 0

    @property
    def counts(self) -> bool:
        """Whether this hit is part of the member's own risk (others are kept as notes)."""
        return self.stance in (Stance.OWN, Stance.PAST) and self.level > RiskLevel.NONE


@dataclass(frozen=True)
class RiskAssessment:
    """The result for one text (an intake, a chat message, a post)."""

    level: RiskLevel
    #: 0..1, ordered like ``level`` (every HIGH scores above every MODERATE); within a level, the more
    #: certain the strongest evidence, the higher. For sorting a console, not for decisions.
    score: float
    #: The hits that make up the member's own risk, strongest first.
    signals: tuple[SignalHit, ...]
    #: One line per reason the level is what it is, for people ("wants to die", "method mentioned: pills").
    reasons: tuple[str, ...]
    model_version: str
    #: Things seen but not counted ("negated: kill myself", "someone else: wants to die").
    notes: tuple[str, ...] = ()
    #: The level the text would have had without the conversation so far.
    level_without_context: RiskLevel = RiskLevel.NONE

    def at_least(self, level: RiskLevel) -> bool:
        return self.level >= level

    @property
    def signal_names(self) -> frozenset[Signal]:
        return frozenset(hit.signal for hit in self.signals)


@dataclass(frozen=True)
class RecentContext:
    """The member's recent assessments in this conversation (or intake), oldest first.

    The caller decides the window (for example the member's last ten messages or the last hour); the
    engine keeps at most ``MAX_MESSAGES`` so a long conversation cannot grow it without bound.
    """

    assessments: tuple[RiskAssessment, ...] = field(default_factory=tuple)

    MAX_MESSAGES = 12

    def __post_init__(self) -> None:
        if len(self.assessments) > self.MAX_MESSAGES:
            object.__setattr__(self, "assessments", self.assessments[-self.MAX_MESSAGES :])

    def add(self, assessment: RiskAssessment) -> RecentContext:
        """A new context with ``assessment`` as the latest message."""
        return RecentContext((*self.assessments, assessment))

    @property
    def highest_level(self) -> RiskLevel:
        return max((a.level for a in self.assessments), default=RiskLevel.NONE)
