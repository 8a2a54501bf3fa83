"""Demo data: a sponsor with an access code, staff, a few members and 40+ approved listeners.

Every story in ``listeners.yaml`` was written by the Sameboat team; all people are fictional.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources

import yaml

from sameboat.adapters.storage.database import upgrade
from sameboat.bootstrap import bootstrap
from sameboat.domain.accounts import ListenerStatus, MemberPreferences, Role
from sameboat.domain.booking import WeeklyWindow
from sameboat.domain.listeners import ListenerProfileDraft
from sameboat.services import accounts, booking, listeners, sponsors
from sameboat.settings import Settings

DEMO_PASSWORD = "sameboat-demo-2026"
DEMO_ACCESS_CODE = "RIVERBEND-2026"
DEMO_SPONSOR = "Riverbend Community Health"


@dataclass
class DemoSummary:
    listeners: int = 0
    members: int = 0
    access_code: str = DEMO_ACCESS_CODE
    accounts: list[tuple[str, str]] = field(default_factory=list)


def demo_data() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(resources.files(__package__).joinpath("listeners.yaml").read_text("utf-8"))


def listener_email(index: int, display_name: str) -> str:
    """The sign-in email of the demo listener at ``index`` in listeners.yaml."""
    slug = re.sub(r"[^a-z0-9]+", ".", display_name.lower()).strip(".")
    return f"{slug}.{index + 1}@listeners.demo.sameboat.example"


def demo_availability(index: int) -> list[WeeklyWindow]:
    """Varied weekly times so the booking page has something to show: two evenings and, for some, a morning."""
    evenings = [WeeklyWindow(day, 18 * 60, 21 * 60) for day in sorted({index % 5, (index + 2) % 5})]
    weekend = [WeeklyWindow(5 + index % 2, 9 * 60, 12 * 60)] if index % 3 == 0 else []
    return evenings + weekend


def seed_demo(settings: Settings) -> DemoSummary:
    upgrade(settings.database_url)
    runtime = bootstrap(settings)
    ctx = runtime.services
    summary = DemoSummary()
    # One hash for every demo account keeps seeding fast (argon2id is slow on purpose).
    password_hash = ctx.hasher.hash(DEMO_PASSWORD)
    try:
        sponsor = sponsors.create_sponsor(
            ctx,
            name=DEMO_SPONSOR,
            country="US",
            minutes_budget=6000,
            features=["chat", "voice", "booking", "resources"],
        )
        sponsors.create_access_code(
            ctx, sponsor_id=sponsor.id, code=DEMO_ACCESS_CODE, label="Demo staff and families", seat_limit=500
        )
        staff = [
            ("admin", Role.ADMIN, None),
            ("supervisor", Role.SUPERVISOR, None),
            ("sponsor admin", Role.SPONSOR_ADMIN, sponsor.id),
        ]
        for label, role, sponsor_id in staff:
            email = f"{role.value.replace('_', '-')}@demo.sameboat.example"
            accounts.create_user(
                ctx, email=email, password="", role=role, sponsor_id=sponsor_id, password_hash=password_hash
            )
            summary.accounts.append((label, email))
        data = demo_data()
        for member in data["members"]:
            prefs = member.get("preferences") or {}
            user = accounts.sign_up_member(
                ctx,
                email=member["email"],
                password=DEMO_PASSWORD,
                pseudonym=member["pseudonym"],
                access_code=DEMO_ACCESS_CODE,
                languages=member.get("languages", ["en"]),
                preferences=MemberPreferences(**prefs),
            )
            summary.members += 1
            if summary.members == 1:
                summary.accounts.append(("member", user.email))
        for index, entry in enumerate(data["listeners"]):
            email = listener_email(index, entry["display_name"])
            user = accounts.create_user(ctx, email=email, password="", role=Role.LISTENER, password_hash=password_hash)
            draft = ListenerProfileDraft(
                display_name=entry["display_name"],
                bio=entry.get("bio", ""),
                story=entry["story"],
                tags=entry["tags"],
                languages=entry.get("languages", ["en"]),
                gender=entry.get("gender"),
                age_range=entry.get("age_range"),
                veteran=entry.get("veteran"),
                declined_topics=entry.get("declined_topics", []),
                timezone=entry.get("timezone", "UTC"),
            )
            # The last two are new applicants, so the admin has someone to approve.
            status = ListenerStatus.APPLICANT if index >= len(data["listeners"]) - 2 else ListenerStatus.APPROVED
            listeners.create_profile(
                ctx, user.id, draft, status=status, certified_high_risk=bool(entry.get("certified_high_risk"))
            )
            if status == ListenerStatus.APPROVED:
                booking.set_availability(
                    ctx, user, draft.timezone or "UTC", demo_availability(index), runtime.booking_config
                )
                summary.listeners += 1
                if summary.listeners == 1:
                    summary.accounts.append(("listener", email))
    finally:
        runtime.close()
    return summary
