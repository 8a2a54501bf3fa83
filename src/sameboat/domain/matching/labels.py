"""The taxonomy's own words as vectors: a third kind of evidence for the member's topic.

Exact taxonomy words (``keywords.py``) only fire when the member uses one of a tag's phrases; the
nearest listeners' stories vote with whatever the pool happens to hold. Each tag's label and synonyms,
embedded and averaged, give a vector that stands for the tag itself, so a request can also be read
against the whole vocabulary of the tree ("I can't make myself start my thesis" sits nearest to
procrastination's phrases without naming any). Nothing here is learnt from data: the vectors come from
the shipped (or admin-extended) taxonomy and the embedding model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sameboat.domain.matching.model import TopicGuess
from sameboat.domain.matching.ports import TextEmbedder
from sameboat.domain.matching.topics import normalised_topics
from sameboat.domain.taxonomy import Taxonomy


def tag_phrases(taxonomy: Taxonomy) -> dict[str, tuple[str, ...]]:
    """Every tag's label and synonyms, by tag id (sorted, so the same taxonomy gives the same order)."""
    return {tag_id: (tag.label, *tag.synonyms) for tag_id, tag in sorted(taxonomy.tags.items())}


@dataclass(frozen=True, eq=False)
class TagPrototypes:
    """One unit vector per taxonomy tag: the normalised mean of its phrases' embeddings."""

    tag_ids: tuple[str, ...]
    #: (len(tag_ids), dimension), float32, unit rows.
    vectors: np.ndarray
    model_version: str

    @classmethod
    def build(
        cls,
        taxonomy: Taxonomy,
        embedder: TextEmbedder,
        embed_phrase: Callable[[str], np.ndarray] | None = None,
    ) -> TagPrototypes:
        """Embed every tag's phrases (about 1,100 short texts for the shipped tree, 2–4 s on one core).

        ``embed_phrase`` may be a caching wrapper around ``embedder.embed`` so that a taxonomy change
        only embeds the new phrases.
        """
        embed = embed_phrase or embedder.embed
        ids: list[str] = []
        rows: list[np.ndarray] = []
        for tag_id, phrases in tag_phrases(taxonomy).items():
            vectors = [np.asarray(embed(p), dtype=np.float32).reshape(-1) for p in phrases if p.strip()]
            if not vectors:
                continue
            mean = np.mean(vectors, axis=0)
            norm = float(np.linalg.norm(mean))
            if norm > 1e-6:
                ids.append(tag_id)
                rows.append(mean / norm)
        matrix = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, embedder.dimension), np.float32)
        return cls(tag_ids=tuple(ids), vectors=matrix, model_version=embedder.model_version)

    def nearest(self, query: np.ndarray | None, known: Sequence[str] | None = None) -> str | None:
        """The tag whose phrases are closest to a unit query vector (ties to the first by id), or None.

        ``known`` limits the answer to tags of the taxonomy in use (an admin may have removed one).
        """
        if query is None or not self.tag_ids or self.vectors.shape[1] != query.shape[0]:
            return None
        similarities = self.vectors @ query
        if known is not None:
            allowed = set(known)
            similarities = np.where([t in allowed for t in self.tag_ids], similarities, -np.inf)
        best = int(np.argmax(similarities))
        return self.tag_ids[best] if np.isfinite(similarities[best]) else None


def with_label_evidence(topics: Sequence[TopicGuess], label_tag: str | None, share: float) -> tuple[TopicGuess, ...]:
    """Give ``share`` of the inferred topic to the nearest tag's phrases, the rest to the other evidence."""
    if label_tag is None or share <= 0:
        return tuple(topics)
    combined: dict[str, float] = {}
    for topic in topics:
        combined[topic.tag] = combined.get(topic.tag, 0.0) + (1.0 - share) * topic.weight
    combined[label_tag] = combined.get(label_tag, 0.0) + share
    return normalised_topics(combined.items())
