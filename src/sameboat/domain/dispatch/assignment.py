"""Maximum-weight bipartite assignment (requests x listeners), pure numpy.

This is the shortest-augmenting-path method of Jonker and Volgenant as described by Crouse, "On implementing
2D rectangular assignment algorithms" (IEEE TAES 2016), the same method scipy's ``linear_sum_assignment``
uses, with its inner loop vectorised over columns. We keep our own ~60 lines instead of depending on scipy
for one function (see docs/decisions/0005-dispatch.md); the tests check it against brute force.

Dispatch windows are small (tens of waiting requests, tens of free listeners), where this takes well under
a millisecond; a 200 x 200 window takes a few tens of milliseconds.
"""

from __future__ import annotations

import numpy as np


def max_weight_assignment(weights: np.ndarray) -> list[tuple[int, int]]:
    """Pair rows with columns, each used at most once, among the allowed (non-NaN) cells.

    The pairing first has as many pairs as possible, then the largest total weight among those. NaN marks a
    pair that is not allowed. Returns ``(row, column)`` pairs sorted by row. Deterministic.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2:
        raise ValueError("weights must be a 2-D array")
    if weights.size == 0:
        return []
    allowed = ~np.isnan(weights)
    if not allowed.any():
        return []
    transposed = weights.shape[0] > weights.shape[1]
    if transposed:  # the solver wants no more rows than columns
        weights, allowed = weights.T, allowed.T
    # Minimise cost = (best - weight) on allowed cells. A forbidden cell costs more than any full set of allowed
    # cells could, so the solver uses as few of them as possible (= as many real pairs as possible) and we drop
    # the forbidden ones it had to use afterwards.
    finite = weights[allowed]
    best = float(finite.max())
    spread = best - float(finite.min())
    cost = np.where(allowed, best - np.where(allowed, weights, best), (spread + 1.0) * (weights.shape[0] + 1))
    column_of_row = _solve_min_cost(cost)
    pairs = [(row, int(col)) for row, col in enumerate(column_of_row) if allowed[row, col]]
    if transposed:
        pairs = [(col, row) for row, col in pairs]
    return sorted(pairs)


def _solve_min_cost(cost: np.ndarray) -> np.ndarray:
    """Column for each row of a finite cost matrix with rows <= columns, minimising the total cost."""
    n_rows, n_cols = cost.shape
    row_dual = np.zeros(n_rows)
    col_dual = np.zeros(n_cols)
    column_of_row = np.full(n_rows, -1, dtype=np.int64)
    row_of_column = np.full(n_cols, -1, dtype=np.int64)
    all_rows = np.arange(n_rows)
    for start_row in range(n_rows):
        shortest = np.full(n_cols, np.inf)
        came_from = np.full(n_cols, -1, dtype=np.int64)
        rows_seen = np.zeros(n_rows, dtype=bool)
        cols_seen = np.zeros(n_cols, dtype=bool)
        reached = 0.0
        row = start_row
        sink = -1
        while sink < 0:
            rows_seen[row] = True
            through_row = reached + cost[row] - row_dual[row] - col_dual
            better = ~cols_seen & (through_row < shortest)
            came_from[better] = row
            shortest[better] = through_row[better]
            open_costs = np.where(cols_seen, np.inf, shortest)
            lowest = open_costs.min()
            ties = np.flatnonzero(open_costs == lowest)
            unassigned = ties[row_of_column[ties] < 0]
            col = int(unassigned[0] if unassigned.size else ties[0])  # prefer ending the path on a free column
            reached = float(lowest)
            cols_seen[col] = True
            if row_of_column[col] < 0:
                sink = col
            else:
                row = int(row_of_column[col])
        # Update the duals so that reduced costs stay non-negative, then flip the augmenting path.
        row_dual[start_row] += reached
        others = rows_seen & (all_rows != start_row)
        row_dual[others] += reached - shortest[column_of_row[others]]
        col_dual[cols_seen] -= reached - shortest[cols_seen]
        col = sink
        while True:
            row = int(came_from[col])
            row_of_column[col] = row
            column_of_row[row], col = col, int(column_of_row[row])
            if row == start_row:
                break
    return column_of_row
