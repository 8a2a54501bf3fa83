"""Who may do what, as data. Checked in one place: :func:`is_allowed`.

Read the table row by row: the permission, then the roles that hold it. Scope (a sponsor admin sees only
their own sponsor, a listener edits only their own profile) is enforced by the services that load the
object; this table decides whether the role may attempt the action at all.
"""

from __future__ import annotations

from sameboat.domain.accounts import Role

M, L, S, A, SA = Role.MEMBER, Role.LISTENER, Role.SUPERVISOR, Role.ADMIN, Role.SPONSOR_ADMIN
EVERYONE = frozenset(Role)

PERMISSIONS: dict[str, frozenset[Role]] = {
    # permission                   roles that hold it
    "account.manage":              EVERYONE,              # change own password, sign out
    "support.request":             frozenset({M}),        # "What's going on?", matches, talk now
    "conversations.take_part":     frozenset({M, L, S}),  # only their own (supervisors: ones they joined)
    "listener.console":            frozenset({L}),        # go online, answer offers, private notes
    "member.preferences.edit":     frozenset({M}),
    "bookings.make":               frozenset({M}),        # book, move a booking
    "bookings.view_own":           frozenset({M, L}),     # their own bookings: see, join, cancel
    "availability.edit_own":       frozenset({L}),        # weekly times for booked sessions
    "notifications.read_own":      frozenset({M, L}),     # in-app notices (reminders, check-ins)
    "history.own":                 frozenset({M}),        # past conversations, delete, favourites, talk again
    "next_steps.own":              frozenset({M}),        # answer the check-in on a step they set
    "resources.browse":            frozenset({M, L}),     # the library of articles and exercises
    "resources.share":             frozenset({L}),        # share a resource in their own conversation
    "listeners.browse":            frozenset({M, L, S, A}),
    "listener.profile.edit_own":   frozenset({L}),
    "listeners.review":            frozenset({A}),        # approve, pause, suspend
    "safety.supervise":            frozenset({S, A}),     # alerts, joining, transcripts with a cause, reports
    "crisis_resources.edit":       frozenset({A}),
    "audit.export":                frozenset({A}),
    "sponsors.manage":             frozenset({A}),        # create sponsors and access codes
    "sponsor.view_own":            frozenset({SA, A}),
    "taxonomy.extend":             frozenset({A}),
    "users.manage":                frozenset({A}),
}  # fmt: skip


def is_allowed(role: Role | str, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return Role(role) in PERMISSIONS[permission]


def permissions_for(role: Role | str) -> list[str]:
    return sorted(p for p, roles in PERMISSIONS.items() if Role(role) in roles)
