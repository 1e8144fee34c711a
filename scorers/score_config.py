"""Score configurations (the score-records seed's "Eval Configuration"): per score name its
data type, range or categories and description, written once per run and checked per value.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import pyarrow as pa
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
    """Per value, why it does not fit `config` (null where it fits), found by Arrow kernels;
    Python words the reason only for the values that fail."""
    import pyarrow.compute as pc

    fails = _failing(values, config)
    if not pc.any(fails).as_py():
        return pa.nulls(len(values), pa.string())
    rows = pc.indices_nonzero(fails).to_pylist()
    reasons = [config.problem(v) for v in values.take(pa.array(rows, pa.int64())).to_pylist()]
    problems: list[str | None] = [None] * len(values)
    for row, reason in zip(rows, reasons, strict=True):
        problems[row] = reason
    return pa.array(problems, pa.string())


def _failing(values: pa.Array, config: ScoreConfig) -> pa.Array:
    """A mask (nulls false) of the values that do not fit: what `problem` words."""
    import pyarrow.compute as pc

    present = pc.is_valid(values)
    dtype = values.type
    if config.data_type == "BOOLEAN":
        return present if not pa.types.is_boolean(dtype) else pa.repeat(False, len(values))
    if config.data_type == "CATEGORICAL":
        if config.categories is None:
            return pa.repeat(False, len(values))
        if not (pa.types.is_string(dtype) or pa.types.is_large_string(dtype)):
            return present  # `problem` words each one (its text may or may not match)
        allowed = pa.array(config.categories, dtype)
        return pc.and_(present, pc.invert(pc.is_in(values, value_set=allowed)))
    if pa.types.is_boolean(dtype) or not (
        pa.types.is_integer(dtype) or pa.types.is_floating(dtype)
    ):
        return present
    numbers = pc.cast(values, pa.float64())
    low = -math.inf if config.min is None else config.min - BOUND_TOLERANCE
    high = math.inf if config.max is None else config.max + BOUND_TOLERANCE
    outside = pc.or_(pc.less(numbers, low), pc.greater(numbers, high))
    return pc.fill_null(outside, False)  # NaN compares false: it fits, as in `problem`
