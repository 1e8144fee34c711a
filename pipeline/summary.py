"""One pass over the written scores: row, error and token counts plus metric partial states."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.context_counts import Counts, context_counts, merge_context_counts
from scorers.metrics.aggregate import BoundMetric, Partials, merge_partials, partial_states
from scorers.usage import ERROR_COLUMN, USAGE_FIELDS, usage_by_scorer, usage_totals

MAX_REASONS = 20  # the most frequent error reasons the manifest lists
_NUMBER = re.compile(r"\d+(\.\d+)?")


def block_summary(
    table: pa.Table, scorer_keys: Sequence[str], metrics: Sequence[BoundMetric]
) -> dict[str, Any]:
    return {
        "rows": table.num_rows,
        "errored": table.num_rows - table[ERROR_COLUMN].null_count,
        "errors": dict(error_column_reasons(table[ERROR_COLUMN])),
        "usage": usage_totals(table, scorer_keys),
        "context": context_counts(table, scorer_keys),
        # per scorer: answers unscored for their label mass (judge.min_label_mass)
        "without_label": usage_by_scorer(table, scorer_keys, "requests_without_label"),
        "metrics": partial_states(table, metrics),
    }


def error_reasons(errors: Sequence[str | None]) -> Counter[str]:
    """How many rows have each reason; a row's error joins its reasons with '; ', and
    numbers are folded so that one reason with different values counts once."""
    return Counter(
        _NUMBER.sub("#", reason)
        for error in errors
        if error
        for reason in dict.fromkeys(error.split("; "))
    )


def error_column_reasons(errors: pa.ChunkedArray | pa.Array) -> Counter[str]:
    """error_reasons of a column: each distinct error worded once, weighted by its rows."""
    counts = pc.value_counts(pc.drop_null(errors))
    reasons: Counter[str] = Counter()
    for error, rows in zip(
        counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
    ):
        for reason, _ in error_reasons([error]).items():
            reasons[reason] += rows
    return reasons


def merge_summaries(
    summaries: Sequence[dict[str, Any]], metrics: Sequence[BoundMetric]
) -> dict[str, Any]:
    total: dict[str, Any] = {"rows": 0, "errored": 0, "usage": dict.fromkeys(USAGE_FIELDS, 0)}
    partials: Partials = {}
    reasons: Counter[str] = Counter()
    context: Counts = {}
    without_label: Counter[str] = Counter()
    for s in summaries:
        context = merge_context_counts(context, s.get("context", {}))  # older parts have none
        total["rows"] += s["rows"]
        total["errored"] += s["errored"]
        reasons.update(s["errors"])
        without_label.update(s.get("without_label", {}))  # absent in parts of older runs
        for name in USAGE_FIELDS:
            total["usage"][name] += s["usage"].get(name, 0)
        partials = merge_partials(partials, s["metrics"], metrics) if partials else s["metrics"]
    total["metrics"] = partials
    total["context"] = context
    total["errors"] = dict(reasons.most_common(MAX_REASONS))
    total["without_label"] = dict(without_label)
    return total


def summary_batch(
    table: pa.Table, scorer_keys: Sequence[str], metrics: Sequence[BoundMetric]
) -> pa.Table:
    """Ray Data adapter: a block in, one row holding its summary as JSON out."""
    return pa.table({"summary": [json.dumps(block_summary(table, scorer_keys, metrics))]})
