"""The assignment solver against brute force: most pairs first, then the largest total weight."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sameboat.domain.dispatch import max_weight_assignment


def brute_force(weights: np.ndarray) -> tuple[int, float]:
    """(pairs, total weight) of the best assignment, by trying every one."""
    rows, cols = weights.shape
    best = (0, 0.0)
    for choice in itertools.product([None, *range(cols)], repeat=rows):
        used = [c for c in choice if c is not None]
        if len(set(used)) != len(used):
            continue
        if any(c is not None and math.isnan(weights[r, c]) for r, c in enumerate(choice)):
            continue
        key = (len(used), sum(weights[r, c] for r, c in enumerate(choice) if c is not None))
        if key[0] > best[0] or (key[0] == best[0] and key[1] > best[1] + 1e-9):
            best = key
    return best


cells = st.one_of(st.just(math.nan), st.floats(-5, 5, allow_nan=False), st.integers(-2, 2).map(float))


@settings(max_examples=150, deadline=None)
@given(st.tuples(st.integers(1, 4), st.integers(1, 4)).flatmap(lambda shape: arrays(np.float64, shape, elements=cells)))
def test_matches_brute_force(weights: np.ndarray) -> None:
    pairs = max_weight_assignment(weights)
    rows, cols = [r for r, _ in pairs], [c for _, c in pairs]
    assert len(set(rows)) == len(rows) and len(set(cols)) == len(cols)
    assert all(not math.isnan(weights[r, c]) for r, c in pairs)
    expected_pairs, expected_total = brute_force(weights)
    assert len(pairs) == expected_pairs
    assert sum(weights[r, c] for r, c in pairs) == pytest.approx(expected_total, abs=1e-9)


def test_prefers_more_pairs_over_one_great_pair() -> None:
    # Row 0 loves column 0; but giving column 0 to row 1 (its only option) lets both be served.
    weights = np.array([[10.0, 0.1], [1.0, np.nan]])
    assert max_weight_assignment(weights) == [(0, 1), (1, 0)]


def test_beats_greedy_on_total_weight() -> None:
    # Greedy row by row takes (0, 0) = 0.9 then (1, 1) = 0.1; the optimum is 0.8 + 0.8.
    weights = np.array([[0.9, 0.8], [0.8, 0.1]])
    assert max_weight_assignment(weights) == [(0, 1), (1, 0)]


def test_edge_cases() -> None:
    assert max_weight_assignment(np.zeros((0, 3))) == []
    assert max_weight_assignment(np.full((2, 2), np.nan)) == []
    assert max_weight_assignment(np.array([[1.0, 2.0, 3.0]])) == [(0, 2)]
    assert max_weight_assignment(np.array([[1.0], [2.0], [3.0]])) == [(2, 0)]
    with pytest.raises(ValueError):
        max_weight_assignment(np.zeros(3))


def test_deterministic_and_fast_enough_for_a_big_window() -> None:
    rng = np.random.default_rng(0)
    weights = rng.random((150, 150))
    weights[rng.random((150, 150)) < 0.5] = np.nan
    first = max_weight_assignment(weights)
    assert first == max_weight_assignment(weights.copy())
    assert len(first) == 150
