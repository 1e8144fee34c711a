"""Score formulas of the checklist-scorers seed, as pure functions.

confidence = P(Yes) / (P(Yes) + P(No)); the answer and its level follow the seed's table:
no_10 < 0.2 <= no_30 < 0.4 <= unsure < 0.6 <= yes_70 < 0.8 <= yes_90, "yes" from 0.6 up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from scorers.segments import integer_totals, sequential_sums

PrimaryMetric = Literal["pass", "weighted", "normalized"]

YES_THRESHOLD = 0.6
_LEVELS = ((0.2, "no_10"), (0.4, "no_30"), (0.6, "unsure"), (0.8, "yes_70"))


def confidence_from_probs(p_yes: float, p_no: float) -> float:
    total = p_yes + p_no
    if not total > 0 or not math.isfinite(total):
        raise ValueError(f"P(yes) + P(no) must be a positive number, got {total!r}")
    return p_yes / total


def confidence_level(confidence: float) -> str:
    for upper, level in _LEVELS:
        if confidence < upper:
            return level
    return "yes_90"


def answer_from_confidence(confidence: float) -> Literal["yes", "no"]:
    return "yes" if confidence >= YES_THRESHOLD else "no"


@dataclass(frozen=True)
class ScoreValues:
    primary_score: float | None
    pass_rate: float
    weighted_score: float | None
    normalized_score: float
    scaled_score_1_5: float


def aggregate_items(
    answers: Sequence[bool],
    weights: Sequence[float],
    confidences: Sequence[float | None],
    primary_metric: PrimaryMetric,
) -> ScoreValues:
    """Aggregate one sample's item answers into the seed's Score fields.

    weighted_score is None when every weight is 0 (the formula divides by their sum);
    normalized_score averages the confidences there are, and falls back to pass_rate when
    no item has one (the seed; autochecklist averages the available ones too).
    """
    n = len(answers)
    if n == 0 or len(weights) != n or len(confidences) != n:
        raise ValueError(f"need one weight and confidence per answer, got {n} answers")
    pass_rate = sum(answers) / n
    total_weight = sum(weights)
    weighted = (
        sum(w for w, a in zip(weights, answers, strict=True) if a) / total_weight
        if total_weight > 0
        else None
    )
    known = [c for c in confidences if c is not None]
    normalized = sum(known) / len(known) if known else pass_rate
    primary = {"pass": pass_rate, "weighted": weighted, "normalized": normalized}[primary_metric]
    return ScoreValues(
        primary_score=primary,
        pass_rate=pass_rate,
        weighted_score=weighted,
        normalized_score=normalized,
        scaled_score_1_5=pass_rate * 4 + 1,
    )


# The same formulas for a batch: arrays with one entry per item, `counts[r]` items per sample.

_LEVEL_UPPERS = np.array([upper for upper, _ in _LEVELS])
_LEVEL_NAMES = np.array([name for _, name in _LEVELS] + ["yes_90"], dtype=object)


def confidence_levels(confidences: np.ndarray) -> np.ndarray:
    """`confidence_level` of each confidence (NaN reads yes_90, as there)."""
    return _LEVEL_NAMES[np.searchsorted(_LEVEL_UPPERS, confidences, side="right")]


def answers_from_confidences(confidences: np.ndarray) -> np.ndarray:
    return np.where(confidences >= YES_THRESHOLD, "yes", "no")


@dataclass(frozen=True)
class ScoreColumns:
    """ScoreValues per sample; NaN in `weighted_score` (all weights 0) stands for None."""

    primary_score: np.ndarray
    pass_rate: np.ndarray
    weighted_score: np.ndarray
    normalized_score: np.ndarray
    scaled_score_1_5: np.ndarray


def aggregate_columns(
    yes: np.ndarray,
    weights: np.ndarray,
    confidences: np.ndarray,
    known: np.ndarray,
    counts: np.ndarray,
    primary_metric: PrimaryMetric,
) -> ScoreColumns:
    """`aggregate_items` for every sample at once, float for float the same (every sum adds
    left to right, as `sum()` does). `known` says which items have a confidence; every
    sample has at least one item."""
    pass_rate = sequential_sums(yes.astype(float), counts) / counts
    total_weight = sequential_sums(weights, counts)
    yes_weight = sequential_sums(np.where(yes, weights, 0.0), counts)
    weighted = np.full(len(counts), np.nan)
    np.divide(yes_weight, total_weight, out=weighted, where=total_weight > 0)
    known_counts = integer_totals(known, counts)
    normalized = pass_rate.copy()
    confidence_sums = sequential_sums(np.where(known, confidences, 0.0), counts)
    np.divide(confidence_sums, known_counts, out=normalized, where=known_counts > 0)
    primary = {"pass": pass_rate, "weighted": weighted, "normalized": normalized}[primary_metric]
    return ScoreColumns(
        primary_score=primary,
        pass_rate=pass_rate,
        weighted_score=weighted,
        normalized_score=normalized,
        scaled_score_1_5=pass_rate * 4 + 1,
    )
