"""Metric types by the name a spec uses."""

from __future__ import annotations

from collections.abc import Callable

from scorers.metrics.base import Metric
from scorers.metrics.extremes import Extreme
from scorers.metrics.mean import Mean
from scorers.metrics.stddev import StdDev


def metric_for(kind: str) -> Metric:
    factories: dict[str, Callable[[], Metric]] = {
        "mean": Mean,
        "min": lambda: Extreme("min"),
        "max": lambda: Extreme("max"),
        "stddev": StdDev,
    }
    if kind not in factories:
        raise ValueError(f"unknown metric type {kind!r}; known: {sorted(factories)}")
    return factories[kind]()
