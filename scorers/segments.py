"""Per-row totals over a flat array cut into consecutive segments (a row's checklist items).

`counts[r]` values belong to row r, in order. Exact for integers; float sums add left to
right from 0.0, bit for bit what the built-in `sum()` gives on Python 3.11 (numpy's pairwise
reductions and 3.12's compensated `sum()` can differ in the last bit).
"""

from __future__ import annotations

import numpy as np


def segment_starts(counts: np.ndarray) -> np.ndarray:
    starts: np.ndarray = np.cumsum(counts) - counts
    return starts


def segment_of(counts: np.ndarray) -> np.ndarray:
    """The segment each value belongs to."""
    return np.repeat(np.arange(len(counts)), counts)


def position_in_segment(counts: np.ndarray) -> np.ndarray:
    """Each value's 0-based position within its segment."""
    positions: np.ndarray = np.arange(int(counts.sum())) - np.repeat(segment_starts(counts), counts)
    return positions


def integer_totals(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per segment the total of integer `values` (rows of a 2-d array add up per column)."""
    running = np.cumsum(values, axis=0, dtype=np.int64)
    head = np.zeros((1, *values.shape[1:]), dtype=np.int64)
    running = np.concatenate([head, running])
    ends = np.cumsum(counts)
    totals: np.ndarray = running[ends] - running[ends - counts]
    return totals


def sequential_sums(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per segment the float values added one by one, left to right, from 0.0."""
    starts = segment_starts(counts)
    totals = np.zeros(len(counts))
    for position in range(int(counts.max(initial=0))):
        longer = counts > position
        totals[longer] += values[starts[longer] + position]
    return totals
