"""How a job spec asks for a metric over a scorer's output."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.strict_model import StrictModel

MetricType = Literal["mean", "min", "max", "stddev"]


class MetricSpec(StrictModel):
    type: MetricType
    field: str = Field(description="A score field of this scorer, e.g. primary_score.")
    name: str | None = Field(
        default=None, description="Key in metrics.json; defaults to type_field."
    )

    @property
    def display_name(self) -> str:
        return self.name or f"{self.type}_{self.field}"
