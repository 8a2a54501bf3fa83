"""Ranking metrics for the matching evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RankingScores:
    precision_at_1: float
    precision_at_5: float
    mrr: float
    queries: int


class RankingTally:
    """Accumulates P@1, P@5 (share of the top 5 that are correct) and MRR over queries."""

    def __init__(self) -> None:
        self._p1 = 0.0
        self._p5 = 0.0
        self._rr = 0.0
        self._n = 0

    def add(self, correct_in_rank_order: Sequence[bool]) -> None:
        """One query: whether each ranked listener (best first, whole pool) is a correct match."""
        top5 = list(correct_in_rank_order[:5])
        self._p1 += 1.0 if top5 and top5[0] else 0.0
        self._p5 += sum(top5) / 5.0
        first = next((i for i, ok in enumerate(correct_in_rank_order) if ok), None)
        self._rr += 0.0 if first is None else 1.0 / (first + 1)
        self._n += 1

    def scores(self) -> RankingScores:
        n = max(self._n, 1)
        return RankingScores(self._p1 / n, self._p5 / n, self._rr / n, self._n)
