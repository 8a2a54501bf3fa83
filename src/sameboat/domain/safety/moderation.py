"""Moderation of chat messages: keep people on the platform and safe from each other. Pure and fast: it runs
before a message is stored, on every message.

What it catches: contact details (email, phone, links), moves off-platform ("add me on WhatsApp"),
solicitation (money, gifts), sexual content and harassment. A caught message is stored (for review) but
hidden from the other person, and the sender is told why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    CONTACT_DETAILS = "contact_details"
    OFF_PLATFORM = "off_platform"
    SOLICITATION = "solicitation"
    SEXUAL = "sexual"
    HARASSMENT = "harassment"


SENDER_MESSAGES = {
    Category.CONTACT_DETAILS: "For everyone's safety, phone numbers, emails and links can't be shared here.",
    Category.OFF_PLATFORM: "For everyone's safety, conversations stay on Sameboat. Please don't move to other apps.",
    Category.SOLICITATION: "Asking for or offering money, gifts or payment isn't allowed on Sameboat.",
    Category.SEXUAL: "Sexual content isn't allowed on Sameboat.",
    Category.HARASSMENT: "That message wasn't sent: please keep the conversation respectful.",
}

# Links people may always share: crisis services (listeners point members to them).
ALLOWED_DOMAINS = (
    "988lifeline.org",
    "crisistextline.org",
    "samaritans.org",
    "lifeline.org.au",
    "988.ca",
    "findahelpline.com",
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_OBFUSCATED_EMAIL = re.compile(
    r"\b[\w.+-]+\s*(?:\(|\[)?\s*at\s*(?:\)|\])?\s*(?:gmail|yahoo|hotmail|outlook|icloud|proton\w*)"
    r"\s*(?:\(|\[)?\s*dot\s*(?:\)|\])?\s*\w+",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<![\w])\+?\d[\d\s().-]{5,}\d(?![\w])")
_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|net|org|io|me|ly|co|app|gg|info|biz|xyz|link)(?:/\S*)?\b", re.IGNORECASE
)
_OFF_PLATFORM = re.compile(
    r"\b(?:whats\s?app|telegram|snap\s?chat|instagram|insta|discord|kik|wechat|viber|facebook|fb|tiktok|"
    r"signal\s+me|text\s+me|call\s+me\s+(?:at|on)|dm\s+me|message\s+me\s+on|add\s+me\s+on|my\s+(?:cell|number|phone)|"
    r"meet\s+(?:up|in\s+person|irl)|(?:my|your)\s+(?:address|place))\b",
    re.IGNORECASE,
)
_SOLICITATION = re.compile(
    r"\b(?:venmo|cash\s?app|paypal|zelle|gift\s?cards?|bitcoin|crypto\s+wallet|send\s+(?:me\s+)?money|"
    r"pay\s+me|wire\s+(?:me|the\s+money)|lend\s+me|loan\s+me|buy\s+me|donate\s+to\s+me|my\s+onlyfans|onlyfans)\b",
    re.IGNORECASE,
)
_SEXUAL = re.compile(
    r"\b(?:nudes?|sext(?:ing)?|send\s+(?:me\s+)?(?:pics|photos)\s+of\s+you|horny|naked|hook\s?up|"
    r"sexy\s+(?:pics?|photos?)|dick\s?pic|blow\s?job|porn)\b",
    re.IGNORECASE,
)
# Harassment aimed at the other person (risk statements about oneself are the risk engine's business).
_HARASSMENT = re.compile(
    r"\b(?:kys|go\s+kill\s+yourself|you\s+should\s+(?:just\s+)?(?:kill\s+yourself|die)|nobody\s+(?:cares|likes)\s+"
    r"about\s+you|you(?:'re|\s+are)\s+(?:pathetic|worthless|a\s+loser|disgusting|an?\s+idiot|stupid)|"
    r"shut\s+up\s+(?:bitch|idiot)|f+u+c+k\s+(?:you|off)|stfu|retard(?:ed)?|slut|whore)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Verdict:
    categories: tuple[Category, ...]
    #: The parts that triggered each category (for the reviewer, never shown to the other person).
    evidence: tuple[str, ...]

    @property
    def blocked(self) -> bool:
        return bool(self.categories)

    @property
    def message_to_sender(self) -> str:
        return SENDER_MESSAGES[self.categories[0]] if self.categories else ""


def _urls_outside_allow_list(text: str) -> list[str]:
    found = []
    for match in _URL.finditer(text):
        url = match.group(0).lower()
        if not any(domain in url for domain in ALLOWED_DOMAINS):
            found.append(match.group(0))
    return found


def _phones(text: str) -> list[str]:
    # Seven digits or more, not counting separators: "988" and "741741" (crisis lines) pass.
    return [m.group(0) for m in _PHONE.finditer(text) if sum(ch.isdigit() for ch in m.group(0)) >= 7]


def moderate(text: str) -> Verdict:
    categories: list[Category] = []
    evidence: list[str] = []
    contact = [*_EMAIL.findall(text), *_OBFUSCATED_EMAIL.findall(text), *_phones(text)]
    contact += [u for u in _urls_outside_allow_list(text) if not _EMAIL.search(u)]
    if contact:
        categories.append(Category.CONTACT_DETAILS)
        evidence.extend(contact)
    for category, pattern in (
        (Category.OFF_PLATFORM, _OFF_PLATFORM),
        (Category.SOLICITATION, _SOLICITATION),
        (Category.SEXUAL, _SEXUAL),
        (Category.HARASSMENT, _HARASSMENT),
    ):
        hits = [m.group(0) for m in pattern.finditer(text)]
        if hits:
            categories.append(category)
            evidence.extend(hits)
    return Verdict(tuple(categories), tuple(evidence))
