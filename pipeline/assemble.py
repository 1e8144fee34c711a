"""Join cross-sample results onto the judged rows and fold their errors into `error`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from pipeline.cross_sample_stage import ERROR_PREFIX, CrossSampleResult, shuffle_partitions
from scorers.usage import ERROR_COLUMN


def join_cross_sample(
    judged: Any, results: Sequence[CrossSampleResult], id_col: str, rows: int
) -> Any:
    """Left-join each result by id (a hash shuffle in Ray Data), then finish the rows."""
    partitions = shuffle_partitions(rows)
    joined = judged
    for result in results:
        joined = joined.join(result.dataset, "left_outer", partitions, on=(id_col,))
    defaults = {r.key: (r.default, r.struct_type) for r in results if r.default is not None}
    keys = [r.key for r in results]
    return joined.map_batches(
        finish_rows, fn_kwargs={"keys": keys, "defaults": defaults}, batch_format="pyarrow"
    )


def finish_rows(
    batch: pa.Table, keys: Sequence[str], defaults: dict[str, tuple[dict[str, Any], pa.DataType]]
) -> pa.Table:
    for key, (default, struct_type) in defaults.items():
        column = batch[key].combine_chunks()
        if column.null_count:
            filled = [default if v is None else v for v in column.to_pylist()]
            batch = batch.set_column(
                batch.schema.get_field_index(key), key, pa.array(filled, struct_type)
            )
    errors = batch[ERROR_COLUMN]
    for key in keys:
        name = ERROR_PREFIX + key
        if name in batch.column_names:
            errors = _join_errors(errors, batch[name])
            batch = batch.drop_columns([name])
    batch = batch.drop_columns([ERROR_COLUMN]).append_column(ERROR_COLUMN, errors)
    return batch


def _join_errors(a: Any, b: Any) -> pa.Array:
    """'a; b' skipping nulls, null when both are."""
    joined = [
        "; ".join(e for e in pair if e) or None
        for pair in zip(a.to_pylist(), b.to_pylist(), strict=True)
    ]
    return pa.array(joined, pa.string())
