"""Risk assessment of what members write: suicide (after the Columbia C-SSRS ladder), self-harm, harm to
others, abuse and danger at home, with the reasons and the model version.

Pure domain code. Build one :class:`RiskAssessor` per process with an injected sentence embedder (the
composition root passes ``sameboat.adapters.embedding.default_embedder()``), then::

    assessment = assess(text, context, model=assessor)
    context = context.add(assessment)

See docs/safety.md for how it works and how well, and docs/decisions/0004-risk-model.md for why.
"""

from sameboat.domain.safety.risk.baseline import KEYWORD_BASELINE_VERSION, keyword_level
from sameboat.domain.safety.risk.engine import ENGINE_VERSION, RiskAssessor, RiskConfig, assess
from sameboat.domain.safety.risk.model import (
    IDEATION,
    SUICIDE_SPECTRUM,
    RecentContext,
    RiskAssessment,
    RiskLevel,
    Signal,
    SignalHit,
    Source,
    Stance,
)
from sameboat.domain.safety.risk.phrases import Phrasebook, PhrasebookError, shipped_phrasebook
from sameboat.domain.safety.risk.semantic import PrototypeSet, SentenceEmbedder, shipped_prototypes

__all__ = [
    "ENGINE_VERSION",
    "IDEATION",
    "KEYWORD_BASELINE_VERSION",
    "SUICIDE_SPECTRUM",
    "Phrasebook",
    "PhrasebookError",
    "PrototypeSet",
    "RecentContext",
    "RiskAssessment",
    "RiskAssessor",
    "RiskConfig",
    "RiskLevel",
    "SentenceEmbedder",
    "Signal",
    "SignalHit",
    "Source",
    "Stance",
    "assess",
    "keyword_level",
    "shipped_phrasebook",
    "shipped_prototypes",
]
