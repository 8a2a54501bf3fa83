"""The CPU-heavy half of risk routing: assessing batches of chat messages, in a worker process (or thread).

Pure computation, no database: the server's risk queue (``services.safety.RiskQueue``) sends each round's
messages here and writes the results itself. Every message is assessed on its own, in order, with the
conversation's earlier messages as context, exactly as one at a time; what a batch saves is the embedding:
the sentences of every message in the round go through the model in a few padded calls instead of one call
each (about 5x less CPU per sentence, ``MiniLMEmbedder.embed_batch``).

In a process of its own the phrase layer's regular expressions do not compete with the chat path for the
server's GIL, and the model's threads not for its event loop.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator, Sequence
from functools import cache

import numpy as np

from sameboat.adapters.embedding import MiniLMEmbedder
from sameboat.domain.safety.risk import RecentContext, RiskAssessment, RiskAssessor
from sameboat.domain.safety.risk.phrases import sentence_facts
from sameboat.domain.safety.risk.text import normalise, split_sentences, windows, words

#: Texts per padded inference: beyond ~32 short sentences the gain per text is flat and padding grows.
BATCH_SIZE = 32

#: One conversation's part of a round: the texts of its last messages before this round (only when the
#: server has no context for it, e.g. after a restart), its context, and the member messages to assess.
Item = tuple[tuple[str, ...] | None, RecentContext | None, tuple[str, ...]]


class PrimedEmbedder:
    """An embedder that hands out vectors computed ahead, in batches, for texts about to be asked for;
    anything not primed is embedded on its own as usual."""

    def __init__(self, inner: MiniLMEmbedder) -> None:
        self._inner = inner
        self._ready: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.primed = 0
        self.unprimed = 0

    @property
    def model_version(self) -> str:
        return self._inner.model_version

    def embed(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._ready.pop(text, None)
        if vector is not None:
            self.primed += 1
            return vector
        self.unprimed += 1
        return self._inner.embed(text)

    def prime(self, texts: Sequence[str]) -> None:
        """Embed these texts together; leftovers of the last round (texts the engine had cached) go."""
        # Similar lengths together: each batch is padded to its longest text (about a quarter less CPU).
        todo = sorted(dict.fromkeys(t for t in texts if t.strip()), key=len)
        ready: dict[str, np.ndarray] = {}
        for start in range(0, len(todo), BATCH_SIZE):
            chunk = todo[start : start + BATCH_SIZE]
            ready.update(zip(chunk, self._inner.embed_batch(chunk), strict=True))
        with self._lock:
            self._ready = ready


def pieces_to_embed(assessor: RiskAssessor, text: str) -> Iterator[str]:
    """The pieces of text the engine's similarity layer will embed for ``text`` (the same steps as
    ``RiskAssessor.assess``; a piece missed here is still embedded, only on its own)."""
    config = assessor.config
    budget = config.max_embeddings_per_text
    for sentence in split_sentences(normalise(text or "")):
        facts = sentence_facts(assessor.phrasebook, sentence)
        if len(words(facts.text)) < config.min_words_to_embed:
            continue
        for piece in windows(facts.text, size=config.window_words, stride=config.window_words // 2):
            if budget <= 0:
                return
            budget -= 1
            yield piece


@cache
def batch_assessor() -> tuple[RiskAssessor, PrimedEmbedder]:
    """This process's risk engine for batches: one model thread (two spin for little gain on a busy
    2-core machine), behind a primed embedder."""
    embedder = PrimedEmbedder(MiniLMEmbedder(threads=1))
    return RiskAssessor(embedder=embedder), embedder


@cache
def phrase_assessor() -> RiskAssessor:
    """The phrase layer alone (curated phrases with stance, no model): well under a millisecond a message."""
    return RiskAssessor(embedder=None)


#: The worker process runs at this niceness: when the machine is short of CPU the chat path (niceness 0) gets
#: about three times its share, and a risk queue that falls behind reads messages with the phrase layer first.
#: (19, with the phrase rounds moved into the server, cost the chat more: docs/realtime.md.)
WORKER_NICENESS = 5


def start_worker(server_pid: int | None = None) -> None:
    """Initialiser of the worker process: lower priority, and exit if the server goes away (``server_pid``
    is passed in, since the server may already be gone by the time this runs)."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICENESS)
    parent = server_pid if server_pid is not None else os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), name="exit-with-parent", daemon=True).start()


def _exit_with_parent(parent: int, every_seconds: float = 1.0) -> None:
    """A server killed outright (SIGKILL, a crash) cannot stop its pool; without this the worker and its
    ~300 MB model would live on as an orphan."""
    while os.getppid() == parent:
        time.sleep(every_seconds)
    os._exit(0)


def warm_up() -> str:
    """Load the model and embed the prototypes (about 2 s) before the first message needs them."""
    assessor, _ = batch_assessor()
    assessor.assess("warming up the risk engine")
    return assessor.model_version


def assess_batch(items: Sequence[Item], phrases_only: bool = False) -> list[tuple[list[RiskAssessment], RecentContext]]:
    """Assess each conversation's messages in order, each with the ones before it as context.
    Returns, per item, the assessments and the conversation's context afterwards. ``phrases_only``: the
    phrase layer alone, for when the queue is too far behind to wait for the model."""
    if phrases_only:
        assessor = phrase_assessor()
    else:
        assessor, embedder = batch_assessor()
        texts = [t for before, _, messages in items for t in (*(before or ()), *messages)]
        embedder.prime([piece for text in texts for piece in pieces_to_embed(assessor, text)])
    out = []
    for before, context, messages in items:
        if context is None:
            context = assessor.context_from(list(before or ()))
        assessments = []
        for text in messages:
            assessment = assessor.assess(text, context)
            context = context.add(assessment)
            assessments.append(assessment)
        out.append((assessments, context))
    return out
