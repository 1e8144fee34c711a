"""A batch's `error` column: each scorer's errors prefixed with its key, joined per row
('first; second'), null for a row without errors. Arrow kernels, no loop over rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from scorers.usage import ERROR_COLUMN


class RowErrors:
    """Errors per row, in the order added; with `earlier`, starts from the batch's `error`
    column if it has one (an earlier stage's, never the input's: see JobSpec's checks)."""

    def __init__(self, batch: pa.Table, earlier: bool = True) -> None:
        if earlier and ERROR_COLUMN in batch.column_names:
            self.errors = _text(batch[ERROR_COLUMN])
        else:
            self.errors = pa.nulls(batch.num_rows, pa.string())

    def add(self, key: str, errors: Sequence[str | None] | pa.Array) -> None:
        column = _text(errors if isinstance(errors, pa.Array) else pa.array(errors, pa.string()))
        if len(column) != len(self.errors):
            raise ValueError(f"{key}: {len(column)} errors for {len(self.errors)} rows")
        if column.null_count < len(column):
            self.errors = join_errors(
                self.errors, pc.binary_join_element_wise(f"{key}: ", column, "")
            )

    def column(self) -> pa.Array:
        return self.errors


def join_errors(a: pa.Array, b: pa.Array) -> pa.Array:
    """'a; b' where both are set, whichever is set otherwise, null when neither is."""
    a, b = _set_or_null(a), _set_or_null(b)
    both = pc.binary_join_element_wise(a, b, "; ")
    return pc.if_else(pc.is_null(a), b, pc.if_else(pc.is_null(b), a, both))


def _text(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.cast(values, pa.string())


def _set_or_null(errors: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(errors, ""), pa.scalar(None, pa.string()), errors)
