"""A batch's `error` column: each scorer's errors prefixed with its key, joined per row."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from scorers.usage import ERROR_COLUMN


class RowErrors:
    """Errors per row, in the order added; with `earlier`, starts from the batch's `error`
    column if it has one (an earlier stage's, never the input's: see JobSpec's checks)."""

    def __init__(self, batch: pa.Table, earlier: bool = True) -> None:
        has_earlier = earlier and ERROR_COLUMN in batch.column_names
        before = batch[ERROR_COLUMN].to_pylist() if has_earlier else [None] * batch.num_rows
        self.errors: list[list[str]] = [[] if e is None else [e] for e in before]

    def add(self, key: str, errors: Sequence[str | None]) -> None:
        for row_errors, error in zip(self.errors, errors, strict=True):
            if error is not None:
                row_errors.append(f"{key}: {error}")

    def column(self) -> pa.Array:
        """'first; second' per row, null for a row without errors."""
        return pa.array(["; ".join(e) if e else None for e in self.errors], pa.string())
