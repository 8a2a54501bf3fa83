"""A listener's story vector: the one rule the app and the evaluation share."""

from __future__ import annotations

import numpy as np

from sameboat.domain.matching import (
    STORY_VECTOR_SCHEME,
    embed_story,
    story_embedding_version,
    story_vector_from_parts,
)
from sameboat.eval.esconv import Situation
from sameboat.eval.matching import STORY_FROM_DIALOG, story_vectors
from tests.unit.matching.helpers import LetterEmbedder


def test_summary_and_body_count_the_same() -> None:
    summary, body = np.array([3.0, 0.0]), np.array([0.0, 0.5])
    combined = story_vector_from_parts(summary, body)
    assert combined is not None
    assert np.allclose(combined, [2**-0.5, 2**-0.5])


def test_a_missing_part_is_left_out() -> None:
    body = np.array([0.0, 2.0, 0.0])
    assert np.allclose(story_vector_from_parts(None, body), [0.0, 1.0, 0.0])
    assert np.allclose(story_vector_from_parts(np.zeros(3), body), [0.0, 1.0, 0.0])
    assert story_vector_from_parts(None, None) is None
    embedder = LetterEmbedder()
    assert embed_story(embedder, "", "  ") is None
    assert np.allclose(embed_story(embedder, "", "abc"), embedder.embed("abc"))


def test_the_app_and_the_evaluation_make_the_same_vector() -> None:
    # The app embeds a listener's bio and story; the evaluation a pool line's situation and seeker turns.
    embedder = LetterEmbedder()
    line = Situation("I lost my job.", "job crisis", "job-loss", "job-loss", seeker_turns=("Hi.", "They fired me."))
    app = embed_story(embedder, line.text, line.seeker_words)
    evaluation = story_vectors([line], embedder, STORY_FROM_DIALOG)[0]
    assert app is not None
    assert np.array_equal(app, evaluation)


def test_the_stored_version_names_the_model_and_the_scheme() -> None:
    version = story_embedding_version("letters-1")
    assert version.startswith("letters-1") and version.endswith(STORY_VECTOR_SCHEME)
    assert version != "letters-1"  # vectors stored before the scheme existed are re-embedded
