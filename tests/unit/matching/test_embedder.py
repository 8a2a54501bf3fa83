"""The real embedding model, loaded offline from its registry packages."""

from __future__ import annotations

import numpy as np
import pytest

from sameboat.adapters.embedding import EMBEDDING_DIMENSION, MiniLMEmbedder, default_embedder


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return default_embedder()


def test_vectors_are_unit_length_float32(embedder: MiniLMEmbedder) -> None:
    vector = embedder.embed("I lost my job and I don't know how to tell my family.")
    assert vector.shape == (EMBEDDING_DIMENSION,)
    assert vector.dtype == np.float32
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_similar_situations_score_higher_than_unrelated_ones(embedder: MiniLMEmbedder) -> None:
    divorce_a, divorce_b, exam, gardening = embedder.embed_many(
        [
            "My wife left in March and I'm trying to co-parent two kids across two homes.",
            "We separated last year and sharing custody of our children has been exhausting.",
            "I failed my chemistry exam and I'm scared I'll lose my scholarship.",
            "Which tomatoes grow best in a sunny greenhouse?",
        ]
    )
    assert float(divorce_a @ divorce_b) > float(divorce_a @ exam) + 0.2
    assert float(divorce_a @ divorce_b) > float(divorce_a @ gardening) + 0.3


def test_same_text_same_vector_alone_or_in_a_batch(embedder: MiniLMEmbedder) -> None:
    text = "My father passed away and I keep replaying our last phone call."
    alone = embedder.embed(text)
    batch = embedder.embed_many(["Something else entirely, longer than the other text.", text])
    assert np.array_equal(alone, batch[1])


def test_empty_and_very_long_text(embedder: MiniLMEmbedder) -> None:
    assert not embedder.embed("   ").any()
    long_vector = embedder.embed("I cannot sleep at night. " * 400)  # far past 256 word pieces: cut, not refused
    assert abs(float(np.linalg.norm(long_vector)) - 1.0) < 1e-5


def test_model_version_names_model_and_pooling(embedder: MiniLMEmbedder) -> None:
    version = embedder.model_version
    assert version.startswith("all-MiniLM-L6-v2-int8:")
    assert version.endswith(":mean-l2-256")
    assert MiniLMEmbedder(threads=1).model_version == version


def test_vectors_round_trip_through_bytes(embedder: MiniLMEmbedder) -> None:
    from sameboat.adapters.embedding import vector_from_bytes, vector_to_bytes

    vector = embedder.embed("I care for my mother who has dementia.")
    data = vector_to_bytes(vector)
    assert len(data) == 4 * EMBEDDING_DIMENSION
    restored = vector_from_bytes(data)
    assert restored is not None and np.array_equal(restored, vector)
    assert vector_from_bytes(None) is None
    assert vector_from_bytes(b"abc") is None
