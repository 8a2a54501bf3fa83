"""Properties of the rules and the engine, checked on generated inputs (Hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sameboat.domain.safety.risk import RiskAssessor, RiskLevel, Signal, SignalHit, Source, Stance
from sameboat.domain.safety.risk.rules import judge

hits = st.builds(
    SignalHit,
    signal=st.sampled_from(list(Signal)),
    level=st.sampled_from(list(RiskLevel)),
    reason=st.sampled_from(["a", "b", "c", "method mentioned: pills"]),
    source=st.sampled_from(list(Source)),
    stance=st.sampled_from(list(Stance)),
    confidence=st.floats(0.0, 1.0),
    soon=st.booleans(),
    means_at_hand=st.booleans(),
)


@given(st.lists(hits, max_size=6), st.lists(hits, max_size=6))
def test_more_evidence_never_lowers_the_level(current: list[SignalHit], extra: list[SignalHit]) -> None:
    assert judge(current + extra).level >= judge(current).level


@given(st.lists(hits, max_size=6), st.lists(hits, max_size=6))
def test_earlier_messages_never_lower_the_level(current: list[SignalHit], earlier: list[SignalHit]) -> None:
    assert judge(current, earlier).level >= judge(current).level


@given(st.lists(hits, max_size=6))
def test_level_is_at_least_the_strongest_counted_hit(current: list[SignalHit]) -> None:
    counted = [h.level for h in current if h.counts]
    verdict = judge(current)
    assert verdict.level >= max(counted, default=RiskLevel.NONE)
    assert (verdict.level == RiskLevel.NONE) == (not counted)


@given(st.lists(hits.filter(lambda h: h.stance in (Stance.NEGATED, Stance.QUOTED, Stance.HYPOTHETICAL))))
def test_negated_quoted_and_hypothetical_hits_alone_are_no_risk(current: list[SignalHit]) -> None:
    assert judge(current).level == RiskLevel.NONE


@given(st.lists(hits, max_size=6))
def test_earlier_hits_alone_do_not_make_a_calm_message_risky(earlier: list[SignalHit]) -> None:
    assert judge([], earlier).level == RiskLevel.NONE


_ENGINE = RiskAssessor(None)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_the_engine_accepts_any_text(text: str) -> None:
    result = _ENGINE.assess(text)
    assert result.level in RiskLevel
    assert 0.0 <= result.score <= 1.0
    assert (result.level == RiskLevel.NONE) == (result.score == 0.0)
