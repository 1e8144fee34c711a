"""Compute a job's configured metrics over scored tables, block by block, then merge."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.spec import JobSpec
from scorers.metrics.registry import metric_for

Partials = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class BoundMetric:
    """A metric spec tied to its scorer's output column."""

    name: str
    type: str
    scorer: str
    field: str


def bound_metrics(spec: JobSpec) -> list[BoundMetric]:
    return [
        BoundMetric(name=m.display_name, type=m.type, scorer=s.key, field=m.field)
        for s in spec.definition.scorers
        for m in s.metrics
    ]


def field_values(table: pa.Table, scorer: str, field: str) -> pa.Array:
    column = table[scorer].combine_chunks()
    return pc.struct_field(column, field).cast(pa.float64())


def partial_states(table: pa.Table, metrics: Iterable[BoundMetric]) -> Partials:
    """One block's partial state per metric; nulls and NaNs are skipped and counted."""
    partials: Partials = {}
    for m in metrics:
        values = field_values(table, m.scorer, m.field)
        usable = pc.fill_null(pc.invert(pc.is_nan(values)), False)
        kept = pc.filter(values, usable)
        metric = metric_for(m.type)
        partials[m.name] = {
            "count": len(kept),
            "skipped": len(values) - len(kept),
            "state": metric.update(metric.zero(), kept),
        }
    return partials


def merge_partials(a: Partials, b: Partials, metrics: Iterable[BoundMetric]) -> Partials:
    merged: Partials = {}
    for m in metrics:
        if m.name not in a or m.name not in b:
            merged[m.name] = a.get(m.name) or b[m.name]
            continue
        metric = metric_for(m.type)
        merged[m.name] = {
            "count": a[m.name]["count"] + b[m.name]["count"],
            "skipped": a[m.name]["skipped"] + b[m.name]["skipped"],
            "state": metric.merge(a[m.name]["state"], b[m.name]["state"]),
        }
    return merged


def finalize(partials: Partials, metrics: Iterable[BoundMetric]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for m in metrics:
        part = partials.get(m.name, {"count": 0, "skipped": 0, "state": metric_for(m.type).zero()})
        result[m.name] = {
            "type": m.type,
            "scorer": m.scorer,
            "field": m.field,
            "value": metric_for(m.type).finalize(part["state"]),
            "count": part["count"],
            "skipped": part["skipped"],
        }
    return result


def compute_metrics(tables: Iterable[pa.Table], metrics: list[BoundMetric]) -> dict[str, Any]:
    """Metrics over a sequence of blocks (in-process; the runner does the same on Ray)."""
    total: Partials = {}
    for table in tables:
        total = merge_partials(total, partial_states(table, metrics), metrics)
    return finalize(total, metrics)
