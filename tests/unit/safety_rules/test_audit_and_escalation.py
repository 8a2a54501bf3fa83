from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sameboat.domain.safety.audit import GENESIS, ChainRecord, chain_hash, verify_chain
from sameboat.domain.safety.escalation import AlertClock, EscalationPolicy, due_actions, first_assignee

T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)


def build_chain(n: int) -> list[ChainRecord]:
    records, previous = [], GENESIS
    for seq in range(1, n + 1):
        fields = {"seq": seq, "actor": f"sup{seq % 3}", "action": "alert.acknowledge", "subject": f"a{seq}"}
        digest = chain_hash(previous, fields)
        records.append(ChainRecord(seq, fields, previous, digest))
        previous = digest
    return records


def test_intact_chain_verifies() -> None:
    assert verify_chain(build_chain(20)) == []


def test_changed_removed_or_reordered_records_are_detected() -> None:
    chain = build_chain(10)
    changed = list(chain)
    changed[4] = ChainRecord(5, {**chain[4].fields, "actor": "someone-else"}, chain[4].previous_hash, chain[4].hash)
    assert verify_chain(changed) == [5]
    removed = chain[:3] + chain[4:]
    assert verify_chain(removed)[0] == 5
    swapped = chain[:2] + [chain[3], chain[2]] + chain[4:]
    assert verify_chain(swapped)


def test_first_assignee_balances_load() -> None:
    assert first_assignee(["a", "b"], {"a": 2, "b": 0}) == "b"
    assert first_assignee([], {}) is None


@settings(max_examples=200, deadline=None)
@given(
    supervisors=st.lists(st.sampled_from(["s1", "s2", "s3", "s4"]), min_size=1, max_size=4, unique=True),
    step_seconds=st.integers(min_value=1, max_value=30),
)
def test_an_unacknowledged_alert_always_reaches_someone_new_within_the_deadline(supervisors, step_seconds) -> None:  # type: ignore[no-untyped-def]
    """Simulate ticks on a fake clock: the alert is re-sent within the re-notify time and escalated to the
    next supervisor by each escalation deadline; nobody ever goes without being notified."""
    policy = EscalationPolicy(renotify_after=timedelta(seconds=60), escalate_after=timedelta(minutes=2))
    alert = AlertClock("a1", T0, 0, T0, supervisors[0])
    notified_at = [T0]
    escalations: list[datetime] = []
    now = T0
    while now < T0 + timedelta(minutes=10):
        now += timedelta(seconds=step_seconds)
        for action in due_actions([alert], supervisors, now, policy):
            notified_at.append(now)
            if action.kind == "escalate":
                escalations.append(now)
                if len(supervisors) > 1:
                    assert action.supervisor_id != alert.assigned_to
            alert = AlertClock("a1", T0, action.escalation_level, now, action.supervisor_id)
    gaps = [b - a for a, b in zip(notified_at, notified_at[1:], strict=False)]
    assert max(gaps) <= policy.renotify_after + timedelta(seconds=step_seconds)
    for level, at in enumerate(escalations, start=1):
        assert at <= T0 + policy.escalate_after * level + timedelta(seconds=step_seconds)
    assert len(escalations) >= 4


def test_nobody_on_duty_still_notifies() -> None:
    alert = AlertClock("a1", T0, 0, T0, None)
    [action] = due_actions([alert], [], T0 + timedelta(minutes=3))
    assert action.kind == "escalate" and action.supervisor_id is None
