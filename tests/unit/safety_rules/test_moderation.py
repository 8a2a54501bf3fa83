from __future__ import annotations

import pytest

from sameboat.domain.safety.moderation import Category, moderate


@pytest.mark.parametrize(
    "text, category",
    [
        ("email me at jo.smith@gmail.com", Category.CONTACT_DETAILS),
        ("my number is 555-867-5309", Category.CONTACT_DETAILS),
        ("call +44 7700 900123 anytime", Category.CONTACT_DETAILS),
        ("jo dot smith at gmail dot com", Category.CONTACT_DETAILS),
        ("check out www.myblog.com", Category.CONTACT_DETAILS),
        ("let's move this to WhatsApp", Category.OFF_PLATFORM),
        ("add me on insta", Category.OFF_PLATFORM),
        ("we could meet up for coffee", Category.OFF_PLATFORM),
        ("can you send me money on venmo", Category.SOLICITATION),
        ("send nudes", Category.SEXUAL),
        ("you're pathetic", Category.HARASSMENT),
        ("kys", Category.HARASSMENT),
    ],
)
def test_blocked(text: str, category: Category) -> None:
    verdict = moderate(text)
    assert verdict.blocked and category in verdict.categories and verdict.message_to_sender


@pytest.mark.parametrize(
    "text",
    [
        "I called 988 last night and it helped",
        "You can text HOME to 741741 any time",
        "There's more at 988lifeline.org if you want it",
        "I feel so stupid for staying so long",
        "My ex moved to Ohio with the kids in 2019",
        "I lost 20 pounds after the divorce",
        "I'm worthless at my job, that's how it feels",
        "I was so tired I could have slept for 12 hours",
        "We met in 2004 and married in 2006",
    ],
)
def test_ordinary_messages_pass(text: str) -> None:
    assert not moderate(text).blocked, moderate(text)
