"""Metric types by the name a spec uses: the one list of them (the spec's `type` reads it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from scorers.metrics.base import Metric
from scorers.metrics.binary_classification import BinaryClassification, Report
from scorers.metrics.extremes import Extreme
from scorers.metrics.frequency import Frequency
from scorers.metrics.mean import Mean
from scorers.metrics.multiclass_classification import MulticlassClassification
from scorers.metrics.python_metric import PythonMetric
from scorers.metrics.stddev import StdDev

if TYPE_CHECKING:
    from scorers.metrics.bound import BoundMetric


def _binary(report: Report) -> Callable[[BoundMetric], Metric]:
    return lambda m: BinaryClassification(report, m.positive_label, m.threshold)


METRIC_FACTORIES: dict[str, Callable[[BoundMetric], Metric]] = {
    "mean": lambda m: Mean(),
    "min": lambda m: Extreme("min"),
    "max": lambda m: Extreme("max"),
    "stddev": lambda m: StdDev(),
    "frequency": lambda m: Frequency(),
    "binary_classification": _binary("all"),
    "multiclass_classification": lambda m: MulticlassClassification(),
    "precision": _binary("precision"),
    "recall": _binary("recall"),
    "f1": _binary("f1"),
    "python": lambda m: PythonMetric(m.compute_metric_snippet or ""),
}
METRIC_TYPES = tuple(METRIC_FACTORIES)


def metric_for(m: BoundMetric) -> Metric:
    if m.type not in METRIC_FACTORIES:
        raise ValueError(f"unknown metric type {m.type!r}; known: {sorted(METRIC_FACTORIES)}")
    return METRIC_FACTORIES[m.type](m)
