"""Turning Arrow values into what metrics aggregate: usable rows, numbers, JSON keys."""

from __future__ import annotations

import json
import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def usable(values: pa.Array) -> pa.Array:
    """Boolean mask of the rows that are neither null nor NaN."""
    if pa.types.is_floating(values.type):
        return pc.fill_null(pc.invert(pc.is_nan(values)), False)
    return pc.is_valid(values)


def as_numbers(values: pa.Array) -> pa.Array:
    """float64 values; booleans count as 0 and 1."""
    kind = values.type
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    if not (numeric or pa.types.is_boolean(kind) or pa.types.is_decimal(kind)):
        raise TypeError(f"needs numbers or booleans, the field holds {kind}")
    return values.cast(pa.float64())


def value_key(value: Any) -> str:
    """A value as a JSON object key: a string as it is, anything else as JSON (true, 1, 2.5)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def jsonable(value: Any) -> Any:
    """A scalar as a JSON value: NaN, inf and other types (dates, bytes) become strings."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)
