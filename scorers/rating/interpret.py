"""Label distributions to score fields: pure functions, one per scorer type."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


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
