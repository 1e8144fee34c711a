"""Read a sample's request and response text from a row, or say exactly what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scorers.templates import TEXT


class RowInputError(ValueError):
    """A row that cannot be scored; the message names the column (and item)."""


def row_texts(row: dict[str, Any], input_column: str | None, target_column: str) -> tuple[str, str]:
    """(input text, target text); a missing input column reads as empty text."""
    target = row.get(target_column)
    if target is None:
        raise RowInputError(f"{target_column!r} is null")
    if not isinstance(target, str):
        raise RowInputError(f"{target_column!r} is {type(target).__name__}, not text")
    if input_column is None:
        return "", target
    value = row.get(input_column)
    if value is not None and not isinstance(value, str):
        raise RowInputError(f"{input_column!r} is {type(value).__name__}, not text")
    return value or "", target


@dataclass(frozen=True)
class TextColumns:
    """A batch's input and target texts, "" where a row has none, and why rows cannot be
    scored (row -> reason, as `row_texts` words it)."""

    input: pa.Array
    target: pa.Array
    problems: dict[int, str]


def text_columns(table: pa.Table, input_column: str | None, target_column: str) -> TextColumns:
    """`row_texts` for a whole batch: Arrow kernels for every row, Python only for bad ones."""
    target, target_bad = text_or_flagged(table[target_column])
    bad = target_bad | pc.is_null(table[target_column]).to_numpy(zero_copy_only=False)
    if input_column is None:
        input_text = pa.array([""] * table.num_rows, TEXT)
    else:
        input_text, bad_input = text_or_flagged(table[input_column])
        bad |= bad_input
    columns = [c for c in (input_column, target_column) if c is not None]
    problems = problems_of(
        table.select(columns), bad, lambda row: row_texts(row, input_column, target_column)
    )
    return TextColumns(input_text, target, problems)


def text_or_flagged(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The column as text with nulls as "", and which rows hold a value that is not text."""
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if is_text(values.type):
        return pc.fill_null(values.cast(TEXT), ""), np.zeros(len(values), dtype=bool)
    return pa.array([""] * len(values), TEXT), values.is_valid().to_numpy(zero_copy_only=False)


def is_text(dtype: pa.DataType) -> bool:
    if pa.types.is_dictionary(dtype):
        return is_text(dtype.value_type)
    return bool(
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
    )


def problems_of(
    table: pa.Table, flagged: np.ndarray, read: Callable[[dict[str, Any]], object]
) -> dict[int, str]:
    """Why each flagged row cannot be read: `read` (the per-row reader) on that row alone. A
    flag is a verdict: a flagged row that reads fine is a bug, not a guess to recheck."""
    rows = np.flatnonzero(flagged)
    problems: dict[int, str] = {}
    for index, row in zip(rows.tolist(), table.take(rows).to_pylist(), strict=True):
        try:
            read(row)
        except RowInputError as exc:
            problems[index] = str(exc)
        else:
            raise RuntimeError(f"row {index} was flagged as unreadable but reads: {row}")
    return problems


def scorable_rows(row_count: int, problems: dict[int, str]) -> np.ndarray:
    """The row indices without a problem, ascending."""
    keep = np.ones(row_count, dtype=bool)
    keep[list(problems)] = False
    return np.flatnonzero(keep)


def with_problems(reasons: pa.Array, problems: dict[int, str]) -> pa.Array:
    """`reasons` with each problem row's reason put in its place."""
    if not problems:
        return reasons
    source = pa.concat_arrays([reasons, pa.array(list(problems.values()), reasons.type)])
    index = np.arange(len(reasons))
    index[list(problems)] = len(reasons) + np.arange(len(problems))
    return source.take(index)


def spread(values: pa.Array, index: np.ndarray) -> pa.Array:
    """values[index[i]] per row, null where index[i] is negative (a row without one)."""
    return values.take(pa.array(index, mask=index < 0))


def gather(values: np.ndarray, index: np.ndarray, present: np.ndarray) -> np.ndarray:
    """values[index[i]] where index[i] >= 0 and present[index[i]], else -1."""
    out = np.full(len(index), -1)
    has = index >= 0
    has[has] = present[index[has]]
    out[has] = values[index[has]]
    return out
