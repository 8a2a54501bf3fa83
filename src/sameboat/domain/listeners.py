"""What a listener profile may contain. Pure validation; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from sameboat.domain.accounts import AGE_RANGES, GENDERS, RuleViolation, check_languages
from sameboat.domain.taxonomy import Taxonomy

DISPLAY_NAME_RANGE = (2, 40)
BIO_MAX = 200
STORY_RANGE = (40, 4000)
MAX_TAGS = 8


@dataclass(frozen=True)
class ListenerProfileDraft:
    display_name: str
    bio: str = ""
    story: str = ""
    tags: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=lambda: ["en"])
    gender: str | None = None
    age_range: str | None = None
    veteran: bool | None = None
    declined_topics: list[str] = field(default_factory=list)
    timezone: str = "UTC"


def clean_listener_profile(draft: ListenerProfileDraft, taxonomy: Taxonomy) -> ListenerProfileDraft:
    """Return a tidied copy, or raise RuleViolation naming the first field to fix."""
    name = " ".join(draft.display_name.split())
    if not DISPLAY_NAME_RANGE[0] <= len(name) <= DISPLAY_NAME_RANGE[1]:
        raise RuleViolation("display_name", "Your display name should be 2 to 40 characters.")
    bio = " ".join(draft.bio.split())
    if len(bio) > BIO_MAX:
        raise RuleViolation("bio", f"Keep your short bio under {BIO_MAX} characters.")
    story = draft.story.strip()
    if not STORY_RANGE[0] <= len(story) <= STORY_RANGE[1]:
        raise RuleViolation(
            "story",
            f"Tell your story in {STORY_RANGE[0]} to {STORY_RANGE[1]} characters: "
            "what you went through and what helped.",
        )
    tags = list(dict.fromkeys(draft.tags))
    if not tags:
        raise RuleViolation("tags", "Choose at least one lived experience.")
    if len(tags) > MAX_TAGS:
        raise RuleViolation("tags", f"Choose at most {MAX_TAGS} lived experiences.")
    for name_, values in (("tags", tags), ("declined_topics", draft.declined_topics)):
        unknown = taxonomy.unknown(values)
        if unknown:
            raise RuleViolation(name_, f"{unknown[0]!r} is not a lived experience we know.")
    declined = list(dict.fromkeys(draft.declined_topics))
    if set(declined) & set(tags):
        raise RuleViolation("declined_topics", "You can't decline a topic you've listed as your lived experience.")
    if draft.gender is not None and draft.gender not in GENDERS:
        raise RuleViolation("gender", f"Gender must be one of {', '.join(GENDERS)}, or left empty.")
    if draft.age_range is not None and draft.age_range not in AGE_RANGES:
        raise RuleViolation("age_range", f"Age range must be one of {', '.join(AGE_RANGES)}, or left empty.")
    languages = check_languages(draft.languages)
    if not languages:
        raise RuleViolation("languages", "Choose at least one language you can listen in.")
    return ListenerProfileDraft(
        display_name=name,
        bio=bio,
        story=story,
        tags=tags,
        languages=languages,
        gender=draft.gender,
        age_range=draft.age_range,
        veteran=draft.veteran,
        declined_topics=declined,
        timezone=draft.timezone,
    )
