"""A member asks for support: "What's going on?" -> the listeners best placed to hear it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sameboat.adapters.storage.models import User
from sameboat.services import listeners
from sameboat.services.listeners import DirectoryFilters, ListenerView
from sameboat.services.taxonomy import current_taxonomy
from sameboat.services.unit_of_work import ServiceContext

REQUEST_MAX_CHARS = 2000
MIN_WORDS = 3
MATCHES_SHOWN = 5


@dataclass(frozen=True)
class Suggestion:
    listener: ListenerView
    why: list[str]


@dataclass(frozen=True)
class SupportSuggestions:
    situation: str
    topics: list[str]
    matches: list[Suggestion] = field(default_factory=list)
    needs_more_detail: bool = False
    message: str = ""


def suggest_listeners(ctx: ServiceContext, member: User, situation: str, topics: list[str]) -> SupportSuggestions:
    # Very long text is shortened, not refused: the start says most about what is going on.
    situation = " ".join(situation.split())[:REQUEST_MAX_CHARS]
    taxonomy = current_taxonomy(ctx)
    topics = [t for t in topics if t in taxonomy]
    if len(situation.split()) < MIN_WORDS and not topics:
        return SupportSuggestions(
            situation,
            topics,
            needs_more_detail=True,
            message="Tell us a little more, in a sentence or two, so we can find someone who's been there.",
        )
    wanted = topics or taxonomy.tags_in_text(situation)
    profile = member.member_profile
    prefs = profile.preferences if profile else {}
    pool = listeners.browse(
        ctx,
        DirectoryFilters(
            gender=prefs.get("listener_gender"),
            age_range=prefs.get("listener_age_range"),
            veteran=prefs.get("listener_veteran"),
        ),
    )
    languages = set(profile.languages if profile else ["en"])
    scored: list[tuple[float, str, Suggestion]] = []
    for view in pool:
        if not languages & set(view.languages):
            continue
        score, want, have = taxonomy.best_overlap(wanted, [t for t, _ in view.tags])
        why = []
        if have is not None:
            why.append(f"Has lived through {taxonomy.label(have).lower()}")
        shared = sorted(languages & set(view.languages))
        if shared and shared != ["en"]:
            why.append("Speaks " + ", ".join(shared))
        scored.append((score, view.id, Suggestion(view, why)))
    scored.sort(key=lambda item: (-item[0], item[1]))
    matches = [s for score, _, s in scored if score > 0][:MATCHES_SHOWN] or [s for _, _, s in scored][:MATCHES_SHOWN]
    message = "" if matches else "No listener is available who fits your preferences right now."
    return SupportSuggestions(situation, wanted, matches, message=message)
