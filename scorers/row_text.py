"""Read a sample's request and response text from a row, or say exactly what is wrong."""

from __future__ import annotations

from typing import Any


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
