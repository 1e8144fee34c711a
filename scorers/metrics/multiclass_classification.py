"""Multiclass classification from a confusion matrix: accuracy, macro and per-class scores.

Classes are compared by their key (see values.value_key), so prediction and label should have
the same type. Classes are those seen as a label or a prediction. A per-class rate with a zero
denominator is None and left out of the macro average (scikit-learn's zero_division=nan).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from scorers.metrics.base import State
from scorers.metrics.binary_classification import ratio
from scorers.metrics.values import value_key


class MulticlassClassification:
    def zero(self) -> State:
        return {"confusion": {}}

    def update(self, state: State, values: pa.Array, labels: pa.Array | None) -> State:
        if labels is None:
            raise ValueError("multiclass classification needs a label column")
        pairs = Counter(
            (value_key(label), value_key(prediction))
            for label, prediction in zip(labels.to_pylist(), values.to_pylist(), strict=True)
        )
        confusion: dict[str, dict[str, int]] = {}
        for (label, prediction), n in pairs.items():
            confusion.setdefault(label, {})[prediction] = n
        return self.merge(state, {"confusion": confusion})

    def merge(self, a: State, b: State) -> State:
        """confusion[label][prediction] = rows."""
        confusion = {label: dict(row) for label, row in a["confusion"].items()}
        for label, row in b["confusion"].items():
            merged = confusion.setdefault(label, {})
            for prediction, n in row.items():
                merged[prediction] = merged.get(prediction, 0) + n
        return {"confusion": confusion}

    def finalize(self, state: State) -> dict[str, Any]:
        confusion: dict[str, dict[str, int]] = state["confusion"]
        classes = sorted({*confusion, *(p for row in confusion.values() for p in row)})
        total = sum(n for row in confusion.values() for n in row.values())
        per_class = {c: _class_scores(confusion, c) for c in classes}
        return {
            "accuracy": ratio(sum(confusion.get(c, {}).get(c, 0) for c in classes), total),
            **{
                f"macro_{score}": _mean_of_defined([s[score] for s in per_class.values()])
                for score in ("precision", "recall", "f1")
            },
            "per_class": per_class,
            "confusion": {
                label: dict(sorted(row.items())) for label, row in sorted(confusion.items())
            },
        }


def _class_scores(confusion: dict[str, dict[str, int]], c: str) -> dict[str, Any]:
    tp = confusion.get(c, {}).get(c, 0)
    support = sum(confusion.get(c, {}).values())
    predicted = sum(row.get(c, 0) for row in confusion.values())
    return {
        "precision": ratio(tp, predicted),
        "recall": ratio(tp, support),
        "f1": ratio(2 * tp, predicted + support),
        "support": support,
    }


def _mean_of_defined(scores: list[float | None]) -> float | None:
    defined = [s for s in scores if s is not None]
    return sum(defined) / len(defined) if defined else None
