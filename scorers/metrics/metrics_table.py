"""finalize()'s result as a table, one row per metric and group, for metrics.parquet."""

from __future__ import annotations

import json
import numbers
from typing import Any

import pyarrow as pa

METRICS_ROW_SCHEMA = pa.schema(
    [
        ("metric", pa.string()),
        ("type", pa.string()),
        ("scorer", pa.string()),
        ("scorer_name", pa.string()),
        ("field", pa.string()),
        ("group", pa.string()),  # JSON {column: value}; null for the overall row
        ("value", pa.float64()),  # null when the value is a dict or missing
        ("value_json", pa.string()),
        ("count", pa.int64()),
        ("skipped", pa.int64()),
    ]
)


def metrics_rows(result: dict[str, dict[str, Any]]) -> pa.Table:
    rows = []
    for name, metric in result.items():
        about = {k: metric[k] for k in ("type", "scorer", "scorer_name", "field")}
        rows.append({"metric": name, **about, "group": None, **_measures(metric)})
        for key, group in metric.get("groups", {}).items():
            rows.append({"metric": name, **about, "group": key, **_measures(group)})
    return pa.Table.from_pylist(rows, schema=METRICS_ROW_SCHEMA)


def _measures(entry: dict[str, Any]) -> dict[str, Any]:
    value = entry["value"]
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    return {
        "value": float(value) if is_number else None,
        "value_json": json.dumps(value),
        "count": entry["count"],
        "skipped": entry["skipped"],
    }
