"""A listener's story vector, made the same way by the app and by the evaluation.

A story has two parts: a one-line summary (the profile's "one line about you", or an ESConv line's
``situation``) and the longer account in the listener's own words (the profile's story, or the seeker's
turns). Each part is embedded on its own and the two unit vectors are averaged and made unit length
again, so the summary counts as much as the account: embedded as one text, one line weighs little in
a 200-word story, and that scored lower on ESConv (docs/matching.md).
"""

from __future__ import annotations

import numpy as np

from sameboat.domain.matching.ports import TextEmbedder

#: Names how a story vector is made; stored with the model version so that changing it re-embeds.
STORY_VECTOR_SCHEME = "summary+body-mean"


def story_vector_from_parts(summary: np.ndarray | None, body: np.ndarray | None) -> np.ndarray | None:
    """The normalised mean of the parts' unit vectors; a missing (or zero) part is left out."""
    parts = []
    for part in (summary, body):
        if part is None:
            continue
        v = np.asarray(part, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(v))
        if np.isfinite(norm) and norm > 1e-6:
            parts.append(v / norm)
    if not parts:
        return None
    combined = np.sum(parts, axis=0)
    norm = float(np.linalg.norm(combined))
    return (combined / max(norm, 1e-12)).astype(np.float32)


def embed_story(embedder: TextEmbedder, summary: str, body: str) -> np.ndarray | None:
    """Embed a story's summary and body separately and combine them (None when both are empty)."""
    summary_vector = embedder.embed(summary) if summary and summary.strip() else None
    body_vector = embedder.embed(body) if body and body.strip() else None
    return story_vector_from_parts(summary_vector, body_vector)


def story_embedding_version(model_version: str) -> str:
    """What to store beside a story vector: the model and the way the vector was made."""
    return f"{model_version}+{STORY_VECTOR_SCHEME}"
