"""Score configurations (the score-records seed's "Eval Configuration"): per score name its
data type, range or categories and description, written once per run and checked per value.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from scorers.strict_model import StrictModel

DataType = Literal["NUMERIC", "BOOLEAN", "CATEGORICAL"]
BOUND_TOLERANCE = 1e-9  # probabilities summed in floating point may overshoot 1 by an ulp


class ScoreConfig(StrictModel):
    data_type: DataType
    min: float | None = Field(default=None, description="NUMERIC: smallest valid value.")
    max: float | None = Field(default=None, description="NUMERIC: largest valid value.")
    categories: list[str] | None = Field(
        default=None, description="CATEGORICAL: the valid values (any when not given)."
    )
    description: str | None = None

    def can_fail(self, dtype: pa.DataType) -> bool:
        """Whether a value of Arrow type `dtype` can fall outside this config: it is bounded,
        or it expects another data type than the values have."""
        bounded = self.min is not None or self.max is not None or self.categories is not None
        inferred = inferred_config(dtype)
        return bounded or inferred is None or inferred.data_type != self.data_type

    def problem(self, value: Any) -> str | None:
        """Why `value` does not fit this config, or None (null always fits: it is unscored)."""
        if value is None:
            return None
        if self.data_type == "BOOLEAN":
            return None if isinstance(value, bool) else f"{value!r} is not a boolean"
        if self.data_type == "CATEGORICAL":
            if self.categories is not None and str(value) not in self.categories:
                return f"{value!r} is not one of {self.categories}"
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{value!r} is not a number"
        if math.isnan(value):
            return None
        low = -math.inf if self.min is None else self.min - BOUND_TOLERANCE
        high = math.inf if self.max is None else self.max + BOUND_TOLERANCE
        if not low <= value <= high:
            return f"{value!r} is outside [{self.min}, {self.max}]"
        return None


def inferred_config(dtype: pa.DataType) -> ScoreConfig | None:
    """The config a field's Arrow type implies; None for a field that is not a score."""
    if pa.types.is_boolean(dtype):
        return ScoreConfig(data_type="BOOLEAN")
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
        return ScoreConfig(data_type="NUMERIC")
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return ScoreConfig(data_type="CATEGORICAL")
    return None


def unit_interval(description: str) -> ScoreConfig:
    return ScoreConfig(data_type="NUMERIC", min=0.0, max=1.0, description=description)


def config_problems(values: pa.Array, config: ScoreConfig) -> pa.Array:
    """Per value, why it does not fit `config` (null where it fits); Python words the reason
    only for the values that fail."""
    fitting = fits(values, config)
    if fitting is None or pc.all(fitting).as_py():
        return pa.nulls(len(values), pa.string())
    rows = pc.indices_nonzero(pc.invert(fitting)).to_pylist()
    reasons = [config.problem(v) for v in values.take(pa.array(rows, pa.int64())).to_pylist()]
    problems: list[str | None] = [None] * len(values)
    for row, reason in zip(rows, reasons, strict=True):
        problems[row] = reason
    return pa.array(problems, pa.string())


def fits(values: pa.Array, config: ScoreConfig) -> pa.Array | None:
    """Per value, whether ScoreConfig.problem(value) is None, by Arrow kernels (Python only
    for types they cannot compare as Python does); None when no value can fail."""
    if not config.can_fail(values.type):
        return None
    if config.data_type == "CATEGORICAL":
        if config.categories is None:
            return None
        if _is_text(values.type):
            listed = pc.is_in(values, value_set=pa.array(config.categories, values.type))
            return pc.or_(pc.is_null(values), listed)
        return _fits_one_by_one(values, config)
    if config.data_type == "BOOLEAN":
        return None if pa.types.is_boolean(values.type) else pc.is_null(values)
    if pa.types.is_integer(values.type):
        return _integers_within(values, config)
    if pa.types.is_float32(values.type) or pa.types.is_float64(values.type):
        return _floats_within(values, config)
    return _fits_one_by_one(values, config)


def _bounds(config: ScoreConfig) -> tuple[float, float]:
    low = -math.inf if config.min is None else config.min - BOUND_TOLERANCE
    high = math.inf if config.max is None else config.max + BOUND_TOLERANCE
    return low, high


def _floats_within(values: pa.Array, config: ScoreConfig) -> pa.Array:
    low, high = _bounds(config)
    inside = pc.and_(pc.greater_equal(values, low), pc.less_equal(values, high))
    return pc.fill_null(pc.or_(pc.is_nan(values), inside), True)


def _integers_within(values: pa.Array, config: ScoreConfig) -> pa.Array:
    """Exact, as Python compares an int with a float (a cast to float64 would round integers
    beyond 2**53): the bounds are rounded inward to integers of the values' type instead."""
    low, high = _bounds(config)
    if math.isnan(low) or math.isnan(high):
        return _fits_one_by_one(values, config)
    smallest, largest = _integer_range(values.type)
    lowest = math.ceil(min(max(low, smallest), largest + 1))
    highest = math.floor(max(min(high, largest), smallest - 1))
    if lowest > highest:
        return pc.is_null(values)
    inside = pc.and_(
        pc.greater_equal(values, pa.scalar(lowest, values.type)),
        pc.less_equal(values, pa.scalar(highest, values.type)),
    )
    return pc.fill_null(inside, True)


def _integer_range(kind: pa.DataType) -> tuple[int, int]:
    bits = kind.bit_width
    if pa.types.is_unsigned_integer(kind):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _fits_one_by_one(values: pa.Array, config: ScoreConfig) -> pa.Array:
    return pa.array([config.problem(v) is None for v in values.to_pylist()], pa.bool_())


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))
