"""Metric types by the name a spec uses."""

from __future__ import annotations

from collections.abc import Callable

from scorers.metrics.base import Metric
from scorers.metrics.binary_classification import BinaryClassification, Report
from scorers.metrics.bound import BoundMetric
from scorers.metrics.extremes import Extreme
from scorers.metrics.frequency import Frequency
from scorers.metrics.mean import Mean
from scorers.metrics.multiclass_classification import MulticlassClassification
from scorers.metrics.python_metric import PythonMetric
from scorers.metrics.stddev import StdDev


def metric_for(m: BoundMetric) -> Metric:
    def binary(report: Report) -> Callable[[], Metric]:
        return lambda: BinaryClassification(report, m.positive_label, m.threshold)

    factories: dict[str, Callable[[], Metric]] = {
        "mean": Mean,
        "min": lambda: Extreme("min"),
        "max": lambda: Extreme("max"),
        "stddev": StdDev,
        "frequency": Frequency,
        "binary_classification": binary("all"),
        "precision": binary("precision"),
        "recall": binary("recall"),
        "f1": binary("f1"),
        "multiclass_classification": MulticlassClassification,
        "python": lambda: PythonMetric(m.compute_metric_snippet or ""),
    }
    if m.type not in factories:
        raise ValueError(f"unknown metric type {m.type!r}; known: {sorted(factories)}")
    return factories[m.type]()
