"""Calibrate a judge's confidences to human labels, and weigh a checklist's items by them.

A calibrator maps a raw P(yes) to the share of "yes" that humans gave at that confidence:
isotonic regression (monotone, no shape assumed) or Platt scaling (a logistic curve on the
log-odds), both fitted by scikit-learn. A composite is a logistic regression over a
checklist's item confidences fitted to one overall human label: weights learnt from ground
truth instead of set by hand.

Both are stored as plain JSON (the fitted thresholds or coefficients), so a later run applies
them exactly, without refitting and without unpickling code. Which labelled samples fit and
which measure is decided by a hash of the sample id: the same split in every run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

Method = Literal["isotonic", "platt"]
EPS = 1e-6
SPLIT_BUCKETS = 10_000


def in_holdout(ids: Sequence[str], holdout: float) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """True for the samples kept out of the fit (about `holdout` of them), by id alone."""
    buckets = [
        int.from_bytes(hashlib.blake2b(str(i).encode(), digest_size=4).digest(), "big")
        % SPLIT_BUCKETS
        for i in ids
    ]
    return np.array(buckets, dtype=np.int64) < round(holdout * SPLIT_BUCKETS)


def _log_odds(p: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    from scipy.special import logit

    return np.asarray(logit(np.clip(p, EPS, 1 - EPS)), dtype=float)


def fit_calibrator(
    confidences: Sequence[float], labels: Sequence[bool], method: Method
) -> dict[str, Any]:
    """The fitted mapping as JSON-ready parameters."""
    x = np.asarray(confidences, dtype=float)
    y = np.asarray(labels, dtype=float)
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
        return {
            "method": method,
            "x": [float(v) for v in iso.X_thresholds_],
            "y": [float(v) for v in iso.y_thresholds_],
            "n": len(x),
        }
    from sklearn.linear_model import LogisticRegression

    platt = LogisticRegression().fit(_log_odds(x).reshape(-1, 1), y.astype(int))
    return {
        "method": method,
        "coef": float(platt.coef_[0][0]),
        "intercept": float(platt.intercept_[0]),
        "n": len(x),
    }


def apply_calibrator(
    calibrator: dict[str, Any], confidences: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Calibrated confidences; NaN stays NaN. Isotonic predicts by linear interpolation
    between its thresholds, clipped at the ends (what IsotonicRegression.predict does)."""
    x = np.asarray(confidences, dtype=float)
    if calibrator["method"] == "isotonic":
        out = np.interp(x, calibrator["x"], calibrator["y"])
    else:
        from scipy.special import expit

        out = expit(calibrator["coef"] * _log_odds(x) + calibrator["intercept"])
    return np.where(np.isnan(x), np.nan, out)


def fit_composite(features: np.ndarray[Any, Any], labels: Sequence[bool]) -> dict[str, Any]:
    """Logistic regression of the overall label on the item confidences (one column each)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(features, np.asarray(labels, dtype=int))
    return {
        "coef": [float(c) for c in model.coef_[0]],
        "intercept": float(model.intercept_[0]),
        "n": int(features.shape[0]),
    }


def apply_composite(composite: dict[str, Any], features: np.ndarray[Any, Any]) -> Any:
    """P(overall label) per row; a row with any missing item confidence gets NaN."""
    from scipy.special import expit

    scores = expit(features @ np.asarray(composite["coef"]) + composite["intercept"])
    return np.where(np.isnan(features).any(axis=1), np.nan, scores)
