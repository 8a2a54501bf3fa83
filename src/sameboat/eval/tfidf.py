"""A small TF-IDF with numpy, as a baseline (scikit-learn is not a dependency for one comparison).

Same choices as scikit-learn's defaults: lowercase word tokens of two or more characters, smoothed idf
``ln((1 + n) / (1 + df)) + 1``, raw term counts, rows scaled to unit length.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class TfIdf:
    def __init__(self, documents: Sequence[str]) -> None:
        counts = [Counter(_tokens(d)) for d in documents]
        document_frequency: Counter[str] = Counter()
        for c in counts:
            document_frequency.update(c.keys())
        self.vocabulary = {term: i for i, term in enumerate(sorted(document_frequency))}
        n = len(documents)
        self.idf = np.zeros(len(self.vocabulary), dtype=np.float64)
        for term, i in self.vocabulary.items():
            self.idf[i] = math.log((1 + n) / (1 + document_frequency[term])) + 1.0
        self.matrix = np.vstack([self._vector(c) for c in counts]) if counts else np.zeros((0, len(self.idf)))

    def _vector(self, counts: Counter[str]) -> np.ndarray:
        v = np.zeros(len(self.vocabulary), dtype=np.float64)
        for term, count in counts.items():
            i = self.vocabulary.get(term)
            if i is not None:
                v[i] = count * self.idf[i]
        norm = np.linalg.norm(v)
        return v / norm if norm > 0 else v

    def similarities(self, query: str) -> np.ndarray:
        """Cosine similarity of the query with every document."""
        return self.matrix @ self._vector(Counter(_tokens(query)))
