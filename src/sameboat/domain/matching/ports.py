"""What matching needs from the outside world, as interfaces the adapters implement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class TextEmbedder(Protocol):
    """Turns text into unit-length vectors. ``sameboat.adapters.embedding.MiniLMEmbedder`` is one."""

    @property
    def model_version(self) -> str: ...

    dimension: int

    def embed(self, text: str) -> np.ndarray: ...

    def embed_many(self, texts: Sequence[str]) -> np.ndarray: ...


def needs_reembedding(stored_model_version: str | None, current_model_version: str) -> bool:
    """A stored story vector is stale when it was made by another model (or never made)."""
    return stored_model_version != current_model_version
