"""The risk worker's batches: the same assessments as one message at a time, every piece embedded in a batch."""

from __future__ import annotations

import numpy as np

from sameboat.adapters.embedding import MiniLMEmbedder
from sameboat.domain.safety.risk import RecentContext
from sameboat.services import risk_worker

MESSAGES = (
    "hey. thanks for picking this up",
    "work has been awful this week and my boss keeps yelling at me about deadlines",
    "honestly I don't see the point of any of it anymore; nobody would even notice if I was gone",
    "I've been saving my pills - I think tonight is the night",
    "sorry, that's a lot",
)


def test_a_batch_assesses_like_one_message_at_a_time_and_embeds_every_piece_in_batches() -> None:
    assessor, embedder = risk_worker.batch_assessor()
    one_by_one = assessor.assess_sequence(MESSAGES)
    unprimed = embedder.unprimed
    [(batched, context)] = risk_worker.assess_batch([(None, None, MESSAGES)])
    assert [a.level for a in batched] == [a.level for a in one_by_one]
    assert [a.reasons for a in batched] == [a.reasons for a in one_by_one]
    assert len(context.assessments) == len(MESSAGES)
    assert embedder.unprimed == unprimed  # nothing fell back to one call per piece


def test_context_is_rebuilt_from_earlier_texts_when_the_server_has_none() -> None:
    assessor, _ = risk_worker.batch_assessor()
    earlier = MESSAGES[:3]
    [(rebuilt, _)] = risk_worker.assess_batch([(earlier, None, MESSAGES[3:])])
    [(kept, _)] = risk_worker.assess_batch([(None, assessor.context_from(list(earlier)), MESSAGES[3:])])
    [(none, _)] = risk_worker.assess_batch([(None, RecentContext(), MESSAGES[3:])])
    assert [a.reasons for a in rebuilt] == [a.reasons for a in kept]
    assert rebuilt[0].level >= none[0].level


def test_batch_vectors_match_single_ones() -> None:
    embedder = MiniLMEmbedder(threads=1)
    texts = ["", "i can't sleep", *MESSAGES]
    batch = embedder.embed_batch(texts)
    single = np.stack([embedder.embed(t) for t in texts])
    assert np.allclose(batch[0], 0.0)
    assert float((batch[1:] * single[1:]).sum(axis=1).min()) > 0.99999
