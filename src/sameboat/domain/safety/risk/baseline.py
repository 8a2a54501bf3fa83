"""A keyword-only detector, kept as the yardstick the shipped engine is measured against in the same run.

It is what a first attempt usually looks like: a list of alarming words, no stance, no context.
"""

from __future__ import annotations

import re

from sameboat.domain.safety.risk.model import RiskLevel
from sameboat.domain.safety.risk.text import normalise

KEYWORD_BASELINE_VERSION = "keywords-1"

_HIGH_RISK_KEYWORDS = re.compile(
    r"\b(?:suicide|suicidal|kill myself|killing myself|end my life|ending my life|take my own life|want to die|"
    r"wanna die|better off dead|end it all)\b"
)


def keyword_level(text: str) -> RiskLevel:
    """HIGH if any keyword appears anywhere in the text, otherwise NONE."""
    return RiskLevel.HIGH if _HIGH_RISK_KEYWORDS.search(normalise(text or "")) else RiskLevel.NONE
