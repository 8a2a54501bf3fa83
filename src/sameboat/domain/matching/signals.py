"""The per-listener signals as formulas that work the same on one number or on a numpy array.

The vector index and the plain reference scorer both call these, so the fast path and the readable path
cannot drift apart.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

RATING_MIN = 1.0
RATING_MAX = 5.0


def smoothed_rating(count: ArrayLike, mean: ArrayLike, prior_mean: float, prior_weight: float) -> np.ndarray:
    """Bayesian average of 1..5 ratings mapped to [0, 1].

    A listener with no ratings scores as ``prior_weight`` ratings of ``prior_mean``; every real rating
    pulls the score towards the listener's own mean. A new listener is therefore neither buried under
    established ones nor lifted above them.
    """
    count = np.maximum(np.asarray(count, dtype=np.float32), 0.0)
    mean = np.clip(np.asarray(mean, dtype=np.float32), RATING_MIN, RATING_MAX)
    smoothed = (prior_weight * prior_mean + count * mean) / (prior_weight + count)
    return ((smoothed - RATING_MIN) / (RATING_MAX - RATING_MIN)).astype(np.float32)


def recent_load(recent_assignments: ArrayLike, least_recent: float, full_load: float) -> np.ndarray:
    """How much more work a listener has had lately than the least busy candidate, in [0, 1].

    0 for the least busy candidate, rising in equal steps to 1 at ``full_load`` more recent assignments,
    then flat. Linear, so every extra conversation costs the same and work rotates among comparable
    listeners; relative to the least busy candidate, so it keeps rotating on a day when everyone is busy;
    capped, so fairness alone never sends a member to an unrelated listener just because the related one
    has been busy (the fairness weight is far below the topic weight).
    """
    recent = np.maximum(np.asarray(recent_assignments, dtype=np.float32), 0.0)
    extra = np.maximum(recent - max(float(least_recent), 0.0), 0.0)
    return np.minimum(extra / max(full_load, 1e-6), 1.0).astype(np.float32)


def spare_capacity(active: ArrayLike, max_concurrent: ArrayLike) -> np.ndarray:
    """Share of a listener's conversation slots that are free, in [0, 1]."""
    active = np.asarray(active, dtype=np.float32)
    limit = np.maximum(np.asarray(max_concurrent, dtype=np.float32), 1.0)
    return np.clip(1.0 - active / limit, 0.0, 1.0).astype(np.float32)


def later_availability(available_now: ArrayLike, hours_until_free: ArrayLike, half_life_hours: float) -> np.ndarray:
    """For a booked conversation: 1 if free now, decaying with the wait; 0 when unknown (NaN hours)."""
    hours = np.asarray(hours_until_free, dtype=np.float32)
    decay = np.where(np.isnan(hours), 0.0, 1.0 / (1.0 + np.maximum(hours, 0.0) / max(half_life_hours, 1e-6)))
    return np.where(np.asarray(available_now, dtype=bool), 1.0, decay).astype(np.float32)
