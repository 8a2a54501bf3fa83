"""Why a listener was suggested, in words a member can read.

Only what the listener shows on their public profile is used (their lived-experience tags and the
languages they speak), plus facts about the match itself. Ratings counts, declined topics, age and load
never appear.
"""

from __future__ import annotations

import re
from datetime import datetime

from sameboat.domain.matching.model import ListenerSnapshot, MatchRequest, Timing
from sameboat.domain.taxonomy import Taxonomy

LANGUAGE_NAMES = {
    "ar": "Arabic", "bn": "Bengali", "de": "German", "el": "Greek", "en": "English", "es": "Spanish",
    "fa": "Persian", "fr": "French", "he": "Hebrew", "hi": "Hindi", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
    "sv": "Swedish", "sw": "Swahili", "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
    "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip

#: Cosine similarity of request and story above which we say the stories are alike (MiniLM scale:
#: unrelated texts sit near 0.1, paraphrases above 0.7).
VERY_SIMILAR_STORY = 0.6
SIMILAR_STORY = 0.45


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code.lower(), code)


def _in_sentence(label: str) -> str:
    # "Loss of a parent" -> "loss of a parent", but keep "PTSD" and "ADHD" as they are.
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def topic_reason(
    taxonomy: Taxonomy, member_tag: str | None, listener_tag: str | None, member_chose: bool
) -> str | None:
    """ "Both went through divorce or separation" (the member picked the tag), "Has been through ..." (the
    topic was inferred), or "Has been through loss of a parent, close to grief" (partial credit)."""
    if member_tag is None or listener_tag is None:
        return None
    # Labels are written for members to pick ("Struggles with my children"); say them from the
    # listener's side ("their children") or, for a shared experience, without the pronoun.
    listener_label = _in_sentence(_label(taxonomy, listener_tag))
    if member_tag == listener_tag:
        if member_chose:
            return f"Both went through {_pronoun(listener_label, '')}"
        return f"Has been through {_pronoun(listener_label, 'their ')}"
    member_label = _pronoun(_in_sentence(_label(taxonomy, member_tag)), "your ")
    return f"Has been through {_pronoun(listener_label, 'their ')}, close to {member_label}"


def _pronoun(label: str, replacement: str) -> str:
    return re.sub(r"\bmy ", replacement, label)


def _label(taxonomy: Taxonomy, tag: str) -> str:
    return taxonomy.label(tag) if tag in taxonomy else tag.replace("-", " ")


def availability_reason(listener: ListenerSnapshot, request: MatchRequest, now: datetime) -> str | None:
    if listener.available_now:
        return "available now"
    if request.timing is Timing.LATER and listener.next_available_at is not None:
        hours = (listener.next_available_at - now).total_seconds() / 3600
        if hours <= 1:
            return "available within the hour"
        if hours < 24:
            return f"available in about {round(hours)} hours"
        days = round(hours / 24)
        return "available tomorrow" if days <= 1 else f"available in about {days} days"
    return None


def listener_reasons(
    *,
    taxonomy: Taxonomy,
    listener: ListenerSnapshot,
    request: MatchRequest,
    now: datetime,
    similarity: float,
    member_tag: str | None,
    listener_tag: str | None,
    member_chose_tags: bool,
    is_favourite: bool,
    smoothed_quality: float,
) -> tuple[str, ...]:
    reasons: list[str] = []
    if is_favourite:
        reasons.append("someone you saved")
    topic = topic_reason(taxonomy, member_tag, listener_tag, member_chose_tags)
    if topic:
        reasons.append(topic)
    if similarity >= VERY_SIMILAR_STORY:
        reasons.append("their story is a lot like yours")
    elif similarity >= SIMILAR_STORY:
        reasons.append("their story has things in common with yours")
    shared_languages = sorted(request.preferences.languages & listener.languages)
    if shared_languages:
        reasons.append("speaks " + " and ".join(language_name(c) for c in shared_languages[:2]))
    if request.preferences.veteran and listener.veteran:
        reasons.append("a veteran")
    if listener.rating_count == 0:
        reasons.append("new listener")
    elif listener.rating_count >= 5 and smoothed_quality >= 0.85:
        reasons.append("members rate them highly")
    available = availability_reason(listener, request, now)
    if available:
        reasons.append(available)
    if not reasons:
        reasons.append("a trained peer listener")
    # Capitalise the first phrase only: "Both went through divorce · speaks Spanish · available now".
    reasons[0] = reasons[0][:1].upper() + reasons[0][1:]
    return tuple(reasons)
