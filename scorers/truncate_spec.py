"""How a judged scorer cuts a long text to fit the judge's context: `truncate` in its spec.

The cut is counted in tokens of the judge's own tokenizer and made before the text goes into
the prompt template. A scorer with `truncate` writes two more fields per row: `truncated`
(its text was cut) and `truncated_tokens` (how many of its tokens were dropped).
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import Field, model_validator

from scorers.strict_model import StrictModel

Side = Literal["left", "right", "middle"]
TRUNCATION_FIELDS = (("truncated", pa.bool_()), ("truncated_tokens", pa.int64()))
MIDDLE_MIN_TOKENS = 8  # room for a head, the marker and a tail


class TruncateSpec(StrictModel):
    column: str = Field(
        description="The text column to cut: the scorer's target_column or input_column."
    )
    max_tokens: int = Field(
        ge=1,
        description="The most tokens of the judge's tokenizer the column's text keeps.",
    )
    side: Side = Field(
        default="right",
        description=(
            "Where tokens are dropped: right keeps the start, left keeps the end, middle keeps "
            "the start and the end (half each) joined by ' ... ' (its tokens count)."
        ),
    )

    @model_validator(mode="after")
    def _middle_has_room(self) -> TruncateSpec:
        if self.side == "middle" and self.max_tokens < MIDDLE_MIN_TOKENS:
            raise ValueError(
                f"max_tokens: side 'middle' keeps a start, ' ... ' and an end; give at least "
                f"{MIDDLE_MIN_TOKENS} tokens (got {self.max_tokens})"
            )
        return self


def with_truncation_fields(
    struct_type: pa.StructType, truncate: TruncateSpec | None
) -> pa.DataType:
    """A kind's struct type, plus the truncation fields when its spec truncates."""
    if truncate is None:
        return struct_type
    return pa.struct([*struct_type, *(pa.field(n, t) for n, t in TRUNCATION_FIELDS)])


def without_truncation_fields(struct_type: pa.DataType) -> pa.DataType:
    """A struct type as its kind declares it, without the truncation fields."""
    if not pa.types.is_struct(struct_type):
        return struct_type
    names = {name for name, _ in TRUNCATION_FIELDS}
    return pa.struct([f for f in struct_type if f.name not in names])
