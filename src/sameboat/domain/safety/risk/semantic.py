"""The similarity layer: how close each sentence of a message is to prototype sentences the team wrote
for every signal (prototypes.yaml), and to benign sentences that must not be mistaken for risk.

It catches what the phrase list cannot enumerate ("I can't picture a future with me in it") while the
phrase layer keeps the last word on stance. The embedder is injected (any object with ``embed`` and
``model_version``), so this module does no I/O and works with a fake in tests.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Protocol

import numpy as np
import yaml

from sameboat.domain.safety.risk.model import RiskLevel, Signal
from sameboat.domain.safety.risk.text import normalise

PROTOTYPES_FILE = "prototypes.yaml"


class SentenceEmbedder(Protocol):
    """Turns text into a unit-length vector. ``sameboat.adapters.embedding.MiniLMEmbedder`` is one."""

    @property
    def model_version(self) -> str: ...

    def embed(self, text: str) -> np.ndarray: ...


@dataclass(frozen=True)
class PrototypeGroup:
    signal: Signal
    level: RiskLevel
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class PrototypeSet:
    version: str
    digest: str
    groups: tuple[PrototypeGroup, ...]
    benign: tuple[str, ...]

    @classmethod
    def from_yaml(cls, text: str) -> PrototypeSet:
        data: dict[str, Any] = yaml.safe_load(text)
        groups = tuple(
            PrototypeGroup(Signal(g["signal"]), RiskLevel.parse(g["level"]), tuple(str(s) for s in g["sentences"]))
            for g in data["groups"]
        )
        return cls(
            version=str(data.get("version", "0")),
            digest=hashlib.sha256(text.encode("utf-8")).hexdigest()[:10],
            groups=groups,
            benign=tuple(str(s) for s in data.get("benign") or ()),
        )


@cache
def shipped_prototypes() -> PrototypeSet:
    return PrototypeSet.from_yaml(resources.files(__package__).joinpath(PROTOTYPES_FILE).read_text("utf-8"))


@dataclass(frozen=True)
class SimilarityMatch:
    """The best prototype group for one piece of text and how it compares with the benign sentences."""

    group: PrototypeGroup
    similarity: float
    benign_similarity: float
    nearest_prototype: str


def _top_mean(similarities: np.ndarray, k: int) -> float:
    if k <= 1 or len(similarities) <= 1:
        return float(similarities.max())
    k = min(k, len(similarities))
    return float(np.partition(similarities, -k)[-k:].mean())


class PrototypeIndex:
    """Prototype vectors in one matrix; scores a text in one matrix-vector product."""

    def __init__(self, embedder: SentenceEmbedder, prototypes: PrototypeSet, *, cache_size: int = 4096) -> None:
        self._embedder = embedder
        self.prototypes = prototypes
        risk_texts: list[str] = []
        owners: list[int] = []
        for index, group in enumerate(prototypes.groups):
            for sentence in group.sentences:
                risk_texts.append(sentence)
                owners.append(index)
        self._risk_texts = tuple(risk_texts)
        self._owners = np.asarray(owners, dtype=np.int64)
        self._risk = np.stack([embedder.embed(normalise(t)) for t in risk_texts]).astype(np.float32)
        self._benign = (
            np.stack([embedder.embed(normalise(t)) for t in prototypes.benign]).astype(np.float32)
            if prototypes.benign
            else np.zeros((0, self._risk.shape[1]), dtype=np.float32)
        )
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def embedder_version(self) -> str:
        return self._embedder.model_version

    def vector(self, text: str) -> np.ndarray:
        """The text's embedding, remembered for repeats ("ok", "thanks", a re-assessed context)."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = np.asarray(self._embedder.embed(text), dtype=np.float32)
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def matches(self, text: str, *, neighbours: int = 1) -> list[SimilarityMatch]:
        """For each prototype group, the mean similarity of its ``neighbours`` closest prototypes to ``text``
        (best group first); the benign side is scored the same way."""
        vector = self.vector(text)
        risk_sims = self._risk @ vector
        benign = _top_mean(self._benign @ vector, neighbours) if len(self._benign) else -1.0
        out: list[SimilarityMatch] = []
        for index, group in enumerate(self.prototypes.groups):
            rows = np.flatnonzero(self._owners == index)
            best_row = int(rows[np.argmax(risk_sims[rows])])
            similarity = _top_mean(risk_sims[rows], neighbours)
            out.append(SimilarityMatch(group, similarity, benign, self._risk_texts[best_row]))
        out.sort(key=lambda m: -m.similarity)
        return out
