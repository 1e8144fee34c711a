"""Metrics over in-memory blocks, the way the runner merges them over Ray (for test oracles)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from scorers.metrics.aggregate import (
    BoundMetric,
    Partials,
    finalize,
    merge_partials,
    partial_states,
)


def compute_metrics(tables: Iterable[pa.Table], metrics: Sequence[BoundMetric]) -> dict[str, Any]:
    total: Partials = {}
    for table in tables:
        total = merge_partials(total, partial_states(table, metrics), metrics)
    return finalize(total, metrics)
