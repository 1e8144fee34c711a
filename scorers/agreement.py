"""How far a judge agrees with human labels: the statistics come from scikit-learn and scipy.

For yes/no answers: n, accuracy, precision, recall, F1 and Cohen's kappa of the judge's
answers against the human ones; with the judge's confidences, the expected calibration error
(ECE, equal-width bins) and the Brier score. For numeric scores: Spearman's and Kendall's
rank correlations. A pair where either side is missing is left out and counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

ECE_BINS = 10


def binary_agreement(
    human: Sequence[bool | None],
    judge: Sequence[bool | None],
    confidence: Sequence[float | None] | None = None,
) -> dict[str, Any]:
    """The judge's yes/no answers (and P(yes) confidences) against the human labels."""
    from sklearn.metrics import (
        accuracy_score,
        brier_score_loss,
        cohen_kappa_score,
        f1_score,
        precision_score,
        recall_score,
    )

    pairs = [
        (h, j, None if confidence is None else confidence[i])
        for i, (h, j) in enumerate(zip(human, judge, strict=True))
        if h is not None and j is not None
    ]
    out: dict[str, Any] = {"n": len(pairs), "skipped": len(human) - len(pairs)}
    if not pairs:
        return out | dict.fromkeys(
            ("accuracy", "precision", "recall", "f1", "cohen_kappa", "ece", "brier")
        )
    truth = np.array([h for h, _, _ in pairs], dtype=bool)
    said = np.array([j for _, j, _ in pairs], dtype=bool)
    kappa = cohen_kappa_score(truth, said) if len(set(truth) | set(said)) > 1 else None
    out |= {
        "accuracy": float(accuracy_score(truth, said)),
        "precision": float(precision_score(truth, said, zero_division=np.nan)),
        "recall": float(recall_score(truth, said, zero_division=np.nan)),
        "f1": float(f1_score(truth, said, zero_division=np.nan)),
        "cohen_kappa": None if kappa is None or math.isnan(kappa) else float(kappa),
    }
    known = [(h, c) for h, _, c in pairs if c is not None]
    if not known:
        return out | {"ece": None, "brier": None}
    labels = np.array([h for h, _ in known], dtype=float)
    probs = np.array([c for _, c in known], dtype=float)
    return out | {
        "ece": expected_calibration_error(labels, probs),
        "brier": float(brier_score_loss(labels, probs, pos_label=1.0)),
    }


def expected_calibration_error(
    labels: np.ndarray[Any, Any], probs: np.ndarray[Any, Any], bins: int = ECE_BINS
) -> float:
    """Sum over equal-width confidence bins of (share of pairs) x |share positive - mean
    confidence|; the last bin includes 1.0."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probs, edges[1:-1], right=False), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(labels[inside].mean() - probs[inside].mean())
    return float(total)


def rank_agreement(human: Sequence[float | None], judge: Sequence[float | None]) -> dict[str, Any]:
    """Spearman's rho and Kendall's tau of numeric judge scores against human ones."""
    from scipy.stats import kendalltau, spearmanr

    pairs = [(h, j) for h, j in zip(human, judge, strict=True) if h is not None and j is not None]
    out: dict[str, Any] = {"n": len(pairs), "skipped": len(human) - len(pairs)}
    if len(pairs) < 2:
        return out | {"spearman": None, "kendall": None}
    truth, said = zip(*pairs, strict=True)
    rho = spearmanr(truth, said).statistic
    tau = kendalltau(truth, said).statistic
    return out | {
        "spearman": None if math.isnan(rho) else float(rho),
        "kendall": None if math.isnan(tau) else float(tau),
    }
