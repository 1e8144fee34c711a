"""Binary classification from confusion counts: binary_classification, precision, recall, f1.

The field is the prediction, the label column the ground truth. A rate whose denominator is 0
(precision with no predicted positive, recall with no actual positive) is None, not 0 - the
same as scikit-learn's zero_division=nan. f1 = 2tp / (2tp + fp + fn).
"""

from __future__ import annotations

from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from scorers.metrics.base import State
from scorers.metrics.values import as_numbers

Report = Literal["all", "precision", "recall", "f1"]
COUNTS = ("tp", "fp", "tn", "fn")


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def binary_scores(c: State) -> dict[str, Any]:
    tp, fp, tn, fn = (c[k] for k in COUNTS)
    return {
        "accuracy": ratio(tp + tn, tp + fp + tn + fn),
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        **{k: c[k] for k in COUNTS},
    }


class BinaryClassification:
    def __init__(
        self, report: Report, positive_label: object = True, threshold: float | None = None
    ) -> None:
        self.report = report
        self.positive_label = positive_label
        self.threshold = threshold

    def zero(self) -> State:
        return dict.fromkeys(COUNTS, 0)

    def update(self, state: State, values: pa.Array, labels: pa.Array | None) -> State:
        if labels is None:
            raise ValueError("binary classification needs a label column")
        predicted = self._positive_predictions(values)
        actual = [label == self.positive_label for label in labels.to_pylist()]
        tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
        fp = sum(predicted) - tp
        fn = sum(actual) - tp
        block = {"tp": tp, "fp": fp, "fn": fn, "tn": len(actual) - tp - fp - fn}
        return self.merge(state, block)

    def merge(self, a: State, b: State) -> State:
        return {k: a[k] + b[k] for k in COUNTS}

    def finalize(self, state: State) -> Any:
        scores = binary_scores(state)
        return scores if self.report == "all" else scores[self.report]

    def _positive_predictions(self, values: pa.Array) -> list[bool]:
        if self.threshold is not None:
            at_least: list[bool] = pc.greater_equal(as_numbers(values), self.threshold).to_pylist()
            return at_least
        return [value == self.positive_label for value in values.to_pylist()]
