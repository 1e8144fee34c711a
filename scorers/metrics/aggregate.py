"""Compute a job's configured metrics over scored tables, block by block, then merge.

A metric's partial is {"count", "skipped", "state", "groups": {key: {"group", "count",
"skipped", "state"}}}: the whole block and, with group_by, each group. Rows whose value (or
label) is null or NaN are skipped and counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from scorers.metrics.base import Metric
from scorers.metrics.bound import BoundMetric
from scorers.metrics.groups import group_rows
from scorers.metrics.registry import metric_for
from scorers.metrics.values import usable

__all__ = [
    "BoundMetric",
    "MetricError",
    "Partials",
    "field_values",
    "finalize",
    "merge_partials",
    "partial_states",
]

Partials = dict[str, dict[str, Any]]


class MetricError(ValueError):
    """A metric that cannot be computed; the message names the metric."""


def field_values(table: pa.Table, scorer: str, field: str) -> pa.Array:
    return pc.struct_field(table[scorer].combine_chunks(), field)


def partial_states(table: pa.Table, metrics: Iterable[BoundMetric]) -> Partials:
    """One block's partial state per metric."""
    partials: Partials = {}
    for m in metrics:
        with _about(m):
            partials[m.name] = _block_partial(table, m)
    return partials


def merge_partials(a: Partials, b: Partials, metrics: Iterable[BoundMetric]) -> Partials:
    """Combine two partials; `a` holds the rows that come first."""
    merged: Partials = {}
    for m in metrics:
        if m.name in a and m.name in b:
            with _about(m):
                merged[m.name] = _merge_part(metric_for(m), a[m.name], b[m.name])
        elif m.name in a or m.name in b:
            merged[m.name] = a.get(m.name) or b[m.name]
    return merged


def finalize(partials: Partials, metrics: Iterable[BoundMetric]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for m in metrics:
        metric = metric_for(m)
        part = partials.get(m.name) or {"count": 0, "skipped": 0, "state": metric.zero()}
        with _about(m):
            groups = {
                key: {"group": g["group"], **_final(metric, g)}
                for key, g in sorted(part.get("groups", {}).items())
            }
            result[m.name] = {
                "type": m.type,
                "scorer": m.scorer,
                "scorer_name": m.scorer_name or m.scorer,
                "field": m.field,
                **_final(metric, part),
                "groups": groups,
            }
    return result


def _block_partial(table: pa.Table, m: BoundMetric) -> dict[str, Any]:
    _check_columns(table, m)
    metric = metric_for(m)
    values = field_values(table, m.scorer, m.field)
    labels = table[m.label_column].combine_chunks() if m.label_column else None
    keep = usable(values) if labels is None else pc.and_(usable(values), usable(labels))
    part = _rows_partial(metric, values, labels, keep)
    if m.group_by:
        part["groups"] = {
            key: {
                "group": group,
                **_rows_partial(
                    metric,
                    values.take(rows),
                    None if labels is None else labels.take(rows),
                    keep.take(rows),
                ),
            }
            for key, group, rows in group_rows(table, m.group_by)
        }
    return part


def _rows_partial(
    metric: Metric, values: pa.Array, labels: pa.Array | None, keep: pa.Array
) -> dict[str, Any]:
    kept = values.filter(keep)
    kept_labels = None if labels is None else labels.filter(keep)
    return {
        "count": len(kept),
        "skipped": len(values) - len(kept),
        "state": metric.update(metric.zero(), kept, kept_labels),
    }


def _merge_part(metric: Metric, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    merged = {
        **({"group": a["group"]} if "group" in a else {}),
        "count": a["count"] + b["count"],
        "skipped": a["skipped"] + b["skipped"],
        "state": metric.merge(a["state"], b["state"]),
    }
    if "groups" in a or "groups" in b:
        a_groups, b_groups = a.get("groups", {}), b.get("groups", {})
        merged["groups"] = {
            key: _merge_part(metric, a_groups[key], b_groups[key])
            if key in a_groups and key in b_groups
            else a_groups.get(key) or b_groups[key]
            for key in {**a_groups, **b_groups}
        }
    return merged


def _final(metric: Metric, part: dict[str, Any]) -> dict[str, Any]:
    return {
        "value": metric.finalize(part["state"]),
        "count": part["count"],
        "skipped": part["skipped"],
    }


def _check_columns(table: pa.Table, m: BoundMetric) -> None:
    missing = [c for c in (m.scorer, *m.input_columns()) if c not in table.column_names]
    if missing:
        raise MetricError(
            f"the scored table lacks column(s) {missing}; it has {table.column_names}"
        )
    fields = [f.name for f in table.schema.field(m.scorer).type]
    if m.field not in fields:
        raise MetricError(f"scorer {m.scorer!r} has no field {m.field!r}; it has {fields}")


@contextmanager
def _about(m: BoundMetric) -> Iterator[None]:
    """Name the metric in any error raised while computing it."""
    try:
        yield
    except Exception as exc:
        raise MetricError(f"metric {m.name!r} ({m.type} of {m.scorer}.{m.field}): {exc}") from exc
