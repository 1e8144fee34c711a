"""What every scorer spec has: a type, a key naming its output column, metrics over its fields.

A kind's spec class adds its own settings and says which input columns it reads (with their
kind) and the Arrow type of the struct it writes per row.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import Field, field_validator, model_validator

from scorers.columns import InputColumn
from scorers.metrics.spec import MetricSpec
from scorers.prompt_check import check_metric_fields
from scorers.scorer_key import check_scorer_key
from scorers.strict_model import StrictModel


class ScorerSpec(StrictModel):
    type: str
    key: str = Field(
        description=(
            "Names the scorer's output column; unique in the job. Default: the type and the "
            "scorer's position, e.g. checklist_0."
        )
    )
    display_name: str | None = Field(
        default=None, description="Shown wherever the scorer is named. Default: the key."
    )
    purpose: Literal["score", "qa"] = Field(
        default="score",
        description="score: scores the output or the sample; qa: a quality check over them.",
    )
    metrics: list[MetricSpec] = Field(
        default_factory=list, description="Metrics over this scorer's fields; null means none."
    )

    # The fields a metric may aggregate; None when they are only known at run time.
    SCORE_FIELDS: ClassVar[tuple[str, ...] | None] = None

    @field_validator("metrics", mode="before")
    @classmethod
    def _null_means_none(cls, value: Any) -> Any:
        return [] if value is None else value

    @model_validator(mode="after")
    def _check(self) -> ScorerSpec:
        check_scorer_key(self.key)
        self.check_kind()
        if self.SCORE_FIELDS is not None:
            check_metric_fields(self.metrics, self.SCORE_FIELDS)
        return self

    def check_kind(self) -> None:
        """The kind's own checks, after the key's and before the metrics'; raise ValueError."""

    @property
    def name(self) -> str:
        """What people read: the display name, or the key."""
        return self.display_name or self.key

    def input_columns(self) -> list[InputColumn]:
        """The input columns this scorer reads, in a stable order."""
        return []

    def column_names(self) -> list[str]:
        return list(dict.fromkeys(c.name for c in self.input_columns()))

    def output_type(self) -> pa.DataType | None:
        """The struct written per row; None when the scorer's own code decides it at run time."""
        return None

    def generates(self) -> bool:
        """Whether the judge must generate text (constrained JSON) rather than read one token."""
        return False
