"""Every alert reaches a human. An alert nobody acknowledges is re-sent, then escalated to the next
supervisor on duty, on a fixed schedule. Pure: the caller passes the time and who is on duty."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class EscalationPolicy:
    #: Re-notify the assigned supervisor if nobody acknowledged within this.
    renotify_after: timedelta = timedelta(seconds=60)
    #: Hand to the next supervisor on duty (and keep the previous ones notified) after this.
    escalate_after: timedelta = timedelta(minutes=2)


@dataclass(frozen=True)
class AlertClock:
    """What escalation needs to know about an open (unacknowledged) alert."""

    alert_id: str
    created_at: datetime
    #: How many times it has been escalated (0: still with the first supervisor).
    escalation_level: int
    last_notified_at: datetime
    assigned_to: str | None


@dataclass(frozen=True)
class Notify:
    alert_id: str
    supervisor_id: str | None  # None: nobody on duty; the alert goes to every supervisor and admins
    escalation_level: int
    kind: str  # "renotify" | "escalate"


def first_assignee(on_duty: Sequence[str], open_alerts_by_supervisor: dict[str, int]) -> str | None:
    """The on-duty supervisor with the fewest open alerts (ties: the order given)."""
    if not on_duty:
        return None
    return min(on_duty, key=lambda s: (open_alerts_by_supervisor.get(s, 0), on_duty.index(s)))


def due_actions(
    alerts: Sequence[AlertClock], on_duty: Sequence[str], now: datetime, policy: EscalationPolicy = EscalationPolicy()
) -> list[Notify]:
    """What to do now for each unacknowledged alert."""
    actions: list[Notify] = []
    for alert in sorted(alerts, key=lambda a: (a.created_at, a.alert_id)):
        deadline = alert.created_at + policy.escalate_after * (alert.escalation_level + 1)
        if now >= deadline:
            level = alert.escalation_level + 1
            target = on_duty[level % len(on_duty)] if on_duty else None
            if target == alert.assigned_to and len(on_duty) > 1:
                target = on_duty[(level + 1) % len(on_duty)]
            actions.append(Notify(alert.alert_id, target, level, "escalate"))
        elif now - alert.last_notified_at >= policy.renotify_after:
            actions.append(Notify(alert.alert_id, alert.assigned_to, alert.escalation_level, "renotify"))
    return actions
