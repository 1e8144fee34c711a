"""A 95% interval for a mean change: scipy's bootstrap over the per-sample differences
(B - A of the same sample: a paired bootstrap), with a fixed seed so the same two runs always
give the same interval."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 0
RESAMPLED_VALUES_AT_ONCE = 4_000_000  # resamples x samples held in memory (32 MB of floats)


def mean_change_interval(
    differences: np.ndarray[Any, Any], seed: int = SEED
) -> tuple[float | None, float | None]:
    """(low, high) of the mean of `differences`; (None, None) with fewer than two."""
    if differences.size < 2:
        return None, None
    if np.all(differences == differences[0]):  # every resample has the same mean
        return float(differences[0]), float(differences[0])
    from scipy.stats import bootstrap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = bootstrap(
            (differences,),
            np.mean,
            n_resamples=RESAMPLES,
            batch=max(1, RESAMPLED_VALUES_AT_ONCE // differences.size),
            confidence_level=CONFIDENCE,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)
