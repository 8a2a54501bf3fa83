"""A second view of story similarity for the topic vote, fitted to the listener pool at run time.

Cosine similarity treats every direction of the embedding space alike, but much of the spread among
stories of the same topic is style, length and phrasing. Whitening by the pool's own within-topic
covariance (shrunk towards the identity) stretches the directions that separate the declared topics
and shrinks those that only vary within one, so the nearest stories in that space vote on the topic
alongside the plainly nearest ones. It is computed in memory from the deployment's listeners (their
story vectors and declared tags), never stored, and never learnt from any data set.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

#: Fewer stories than this, or fewer than two topics with two stories each, give too poor a covariance.
MIN_STORIES = 50


@dataclass(frozen=True, eq=False)
class Whitening:
    """x ↦ M (x − mean), with M = (within-topic covariance + shrinkage × mean variance × I)^(−1/2)."""

    mean: np.ndarray
    transform: np.ndarray

    def query_direction(self, query: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(z, offset) such that the whitened cosine with a story s is (s · z − offset) / ‖M (s − mean)‖."""
        whitened = self.transform @ (query - self.mean)
        norm = float(np.linalg.norm(whitened))
        if not np.isfinite(norm) or norm < 1e-9:
            return None
        z = (self.transform @ whitened / norm).astype(np.float32)
        return z, float(z @ self.mean)

    def row_norms(self, vectors: np.ndarray) -> np.ndarray:
        """‖M (s − mean)‖ for each row."""
        return np.linalg.norm((vectors - self.mean) @ self.transform, axis=1).astype(np.float32)


def fit_whitening(vectors: np.ndarray, groups: Sequence[Hashable], shrinkage: float) -> Whitening | None:
    """Fit on unit story vectors and each story's declared tags (``groups``); None when too few.

    Pass the rows in a fixed order (the index sorts them by listener id) so that the same pool always
    gives the same transform, bit for bit.
    """
    if shrinkage <= 0 or len(vectors) < MIN_STORIES or len(vectors) != len(groups):
        return None
    x = np.asarray(vectors, dtype=np.float64)
    members: dict[Hashable, list[int]] = {}
    for row, group in enumerate(groups):
        members.setdefault(group, []).append(row)
    if sum(1 for rows in members.values() if len(rows) >= 2) < 2:
        return None
    centred = np.empty_like(x)
    for rows in members.values():
        centred[rows] = x[rows] - x[rows].mean(axis=0)
    within = centred.T @ centred / len(x)
    ridge = shrinkage * float(np.trace(within)) / x.shape[1]
    if ridge <= 0:
        return None
    values, basis = np.linalg.eigh(within + ridge * np.eye(x.shape[1]))
    transform = (basis * values**-0.5) @ basis.T
    return Whitening(mean=x.mean(axis=0).astype(np.float32), transform=transform.astype(np.float32))


_recent: list[tuple[bytes, Whitening | None, np.ndarray]] = []
_recent_lock = threading.Lock()


def fit_whitening_with_norms(
    vectors: np.ndarray, groups: Sequence[Hashable], shrinkage: float
) -> tuple[Whitening | None, np.ndarray]:
    """``fit_whitening`` plus each row's ‖M (s − mean)‖, remembered for the last few pools.

    A service that ranks with a throw-away index per request (``rank_listeners`` with a list) would
    otherwise refit on every request; the pool's vectors and tags rarely change between two requests,
    and hashing them (a few ms for thousands of listeners) is far cheaper than the fit.
    """
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    key = hashlib.sha1(x.tobytes() + repr((list(groups), float(shrinkage))).encode()).digest()
    with _recent_lock:
        for cached_key, whitening, norms in _recent:
            if cached_key == key:
                return whitening, norms
    whitening = fit_whitening(x, groups, shrinkage)
    norms = whitening.row_norms(x) if whitening is not None else np.zeros(len(x), dtype=np.float32)
    with _recent_lock:
        _recent.insert(0, (key, whitening, norms))
        del _recent[4:]
    return whitening, norms
