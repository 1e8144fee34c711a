"""The kind-free parts of a grouped scorer's run, on Arrow tables in one process (a Ray task
runs each): split keyed rows into hash partitions, keep the rows whose key is shared.

Keys are compared by value (Polars' row hash only picks the partition), so every row with a
given key lands in the same partition and a partition alone decides which keys are shared.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from scorers.cross_sample.steps import FIRST_ID, GROUP_ROWS

PARTITION_SEED = 0x5EED  # any fixed value: map and exact steps must agree on it


def split_by(table: pa.Table, part: np.ndarray, count: int) -> list[pa.Table]:
    """`table`'s rows in `count` tables, row i going to table `part[i]` (order kept)."""
    if count == 1:
        return [table]
    order = np.argsort(part, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(part, minlength=count))])
    ordered = table.take(pa.array(order))
    return [ordered.slice(bounds[i], bounds[i + 1] - bounds[i]) for i in range(count)]


def hash_partitions(table: pa.Table, on: Sequence[str], count: int) -> list[pa.Table]:
    """`table` split into `count` partitions by a hash of the `on` columns."""
    import polars as pl

    if count == 1:
        return [table]
    hashes = pl.from_arrow(table.select(list(on)))
    assert isinstance(hashes, pl.DataFrame)
    part = (hashes.hash_rows(seed=PARTITION_SEED) % count).to_numpy().astype(np.int64)
    return split_by(table, part, count)


def shared_rows(parts: Sequence[pa.Table], on: Sequence[str], id_col: str) -> pa.Table:
    """The rows of `parts` whose `on` value other rows have too, with GROUP_ROWS and FIRST_ID
    appended (Polars windows over the key; the smallest id only over the rows kept). Ids
    keep their Arrow type."""
    import polars as pl

    table = pa.concat_tables(parts, promote_options="permissive")
    frame = pl.from_arrow(table.select(list(dict.fromkeys([id_col, *on]))))
    assert isinstance(frame, pl.DataFrame)
    keep = (
        frame.with_row_index("__row")
        .filter(pl.len().over(list(on)) > 1)
        .select(
            "__row",
            pl.len().over(list(on)).alias(GROUP_ROWS),
            pl.col(id_col).min().over(list(on)).alias(FIRST_ID),
        )
    )
    id_type = table.schema.field(id_col).type
    return (
        table.take(pa.array(keep["__row"].to_numpy()))
        .append_column(GROUP_ROWS, pa.array(keep[GROUP_ROWS].to_numpy(), pa.int64()))
        .append_column(FIRST_ID, keep[FIRST_ID].to_arrow().cast(id_type))
    )
