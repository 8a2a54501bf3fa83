"""Fixtures for the risk engine: the real MiniLM embedder and the engine built once per test session."""

from __future__ import annotations

import pytest

from sameboat.domain.safety.risk import RiskAssessor


@pytest.fixture(scope="session")
def engine() -> RiskAssessor:
    """The shipped engine (phrases + MiniLM), built once: embedding the prototypes takes about a second."""
    from sameboat.adapters.embedding import default_embedder

    return RiskAssessor(embedder=default_embedder())


@pytest.fixture(scope="session")
def phrases_only() -> RiskAssessor:
    """The same engine without embeddings: fast, and what runs if the model files are missing."""
    return RiskAssessor(None)
