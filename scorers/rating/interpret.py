"""Label distributions to score fields: pure functions, one per scorer type."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def likert_fields(probs: Sequence[float]) -> dict[str, Any]:
    """Ratings 1..N: expected value (G-Eval), most likely rating, the distribution."""
    return {
        "score": sum((i + 1) * p for i, p in enumerate(probs)),
        "mode": 1 + max(range(len(probs)), key=probs.__getitem__),
        "distribution": list(probs),
    }


def categorical_fields(probs: Sequence[float], labels: Sequence[str]) -> dict[str, Any]:
    best = max(range(len(probs)), key=probs.__getitem__)
    return {
        "label": labels[best],
        "probability": probs[best],
        "entropy_bits": -sum(p * math.log2(p) for p in probs if p > 0),
        "distribution": list(zip(labels, probs, strict=True)),
    }


def boolean_fields(probs: Sequence[float]) -> dict[str, Any]:
    """The more probable of yes/no; confidence is P(yes) / (P(yes) + P(no))."""
    return {"value": probs[0] >= 0.5, "confidence": probs[0]}


# The same fields for a batch: `probs` is (rows, labels), every row a distribution.


def likert_columns(probs: np.ndarray) -> dict[str, pa.Array]:
    score = np.zeros(len(probs))
    for rating in range(probs.shape[1]):  # added in sum()'s order: the same float
        score += (rating + 1) * probs[:, rating]
    return {
        "score": pa.array(score),
        "mode": pa.array(1 + probs.argmax(axis=1)),
        "distribution": distribution_lists(probs),
    }


def categorical_columns(probs: np.ndarray, labels: Sequence[str]) -> dict[str, pa.Array]:
    best = probs.argmax(axis=1)
    positive = probs > 0
    # Arrow's log2 is the C library's, as math.log2 is; numpy may use its own SIMD one
    logs = pc.log2(pa.array(np.where(positive, probs, 1.0).ravel())).to_numpy()
    terms = probs * logs.reshape(probs.shape)
    entropy = np.zeros(len(probs))
    for label in range(probs.shape[1]):
        entropy[positive[:, label]] += terms[positive[:, label], label]
    keys = pa.array(np.tile(np.asarray(labels, dtype=object), len(probs)), pa.string())
    return {
        "label": pa.array(labels, pa.string()).take(best),
        "probability": pa.array(probs[np.arange(len(probs)), best]),
        "entropy_bits": pa.array(-entropy),
        "distribution": pa.MapArray.from_arrays(_row_offsets(probs), keys, probs.ravel()),
    }


def boolean_columns(probs: np.ndarray) -> dict[str, pa.Array]:
    return {"value": pa.array(probs[:, 0] >= 0.5), "confidence": pa.array(probs[:, 0])}


def distribution_lists(probs: np.ndarray) -> pa.Array:
    return pa.ListArray.from_arrays(_row_offsets(probs), pa.array(probs.ravel()))


def _row_offsets(probs: np.ndarray) -> pa.Array:
    return pa.array(np.arange(0, probs.size + 1, max(probs.shape[1], 1), dtype=np.int32))
