"""Labels appended over time (`rayscore review` never rewrites one): a relabel is a new record
with a later `created_at`, and the latest per (author, sample, name) is the one that counts.
A table without `created_at` (a file made elsewhere) is taken as it is."""

from __future__ import annotations

from typing import TypeVar

import polars as pl

CREATED_AT = "created_at"  # a label's time: ISO 8601 in UTC, as score records carry it

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def latest_labels(labels: Frame, id_col: str, author_col: str = "author") -> Frame:
    """Per (author, sample, name) the row labelled last; the rows' order otherwise kept."""
    columns = labels.collect_schema().names()
    if CREATED_AT not in columns:
        return labels
    key = [author_col, id_col, "name"]
    return (
        labels.with_row_index("_order")
        .sort(CREATED_AT, "_order")
        .unique(subset=key, keep="last", maintain_order=True)
        .sort("_order")
        .drop("_order")
    )
