"""How a job spec asks for a metric over a scorer's output."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from scorers.metrics.registry import METRIC_TYPES
from scorers.metrics.snippet import check_snippet
from scorers.strict_model import StrictModel

if TYPE_CHECKING:
    MetricType = str
else:
    MetricType = Literal[METRIC_TYPES]  # pydantic checks it and lists the names in the schema

BINARY_TYPES = frozenset({"binary_classification", "precision", "recall", "f1"})
LABELLED_TYPES = BINARY_TYPES | {"multiclass_classification"}

Label = bool | int | float | str


class MetricSpec(StrictModel):
    type: MetricType = Field(
        description=(
            "mean/min/max/stddev: numbers (booleans count as 0/1). frequency: count per value. "
            "binary_classification, precision, recall, f1, multiclass_classification: "
            "the field is the prediction, label_column the ground truth. python: your "
            "compute_metric over all values."
        )
    )
    field: str = Field(description="A score field of this scorer, e.g. primary_score.")
    name: str | None = Field(
        default=None, description="Key in metrics.json; defaults to type_field."
    )
    label_column: str | None = Field(
        default=None,
        description=(
            "Input column holding the ground truth; classification types need it. The "
            "pipeline carries it into the scored output, so it costs one column per row there."
        ),
    )
    group_by: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description=(
            "Columns of the scored table (id, passthrough, label) to compute the metric per "
            "distinct combination as well as overall. Each group keeps its own state, so "
            "memory and metrics.json grow with the number of groups: use few-valued columns."
        ),
    )
    positive_label: Label = Field(
        default=True,
        description=(
            "Binary types: the value that means positive. A label (and, without threshold, a "
            "prediction) is positive when it == this value, so 1 and 1.0 match true; "
            "anything else is negative."
        ),
    )
    threshold: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description=(
            "Binary types: a numeric prediction >= threshold is positive. This is a decision "
            "made here, after scoring: change it and recompute without re-judging."
        ),
    )
    compute_metric_snippet: str | None = Field(
        default=None,
        description=(
            "python type: code defining `def compute_metric(values: list) -> float | dict`, "
            "called per group with its non-null values in block order. Every value is kept "
            "until the end on the driver, so memory grows with rows; prefer a built-in type."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> MetricSpec:
        if self.type in LABELLED_TYPES and self.label_column is None:
            raise ValueError(
                f"type {self.type!r} needs label_column (the input column with the ground truth)"
            )
        if self.type not in LABELLED_TYPES and self.label_column is not None:
            raise ValueError(
                f"label_column is only used by {sorted(LABELLED_TYPES)}, not by {self.type!r}"
            )
        for knob in ("positive_label", "threshold"):
            # Compared with the default, not fields_set, so a dumped spec loads again.
            default = type(self).model_fields[knob].default
            if getattr(self, knob) != default and self.type not in BINARY_TYPES:
                raise ValueError(
                    f"{knob} is only used by {sorted(BINARY_TYPES)}, not by {self.type!r}"
                )
        if self.type == "python":
            if self.compute_metric_snippet is None:
                raise ValueError("type 'python' needs compute_metric_snippet")
            check_snippet(self.compute_metric_snippet)
        elif self.compute_metric_snippet is not None:
            raise ValueError(
                f"compute_metric_snippet is only used by type 'python', not {self.type!r}"
            )
        repeated = sorted({c for c in self.group_by if self.group_by.count(c) > 1})
        if repeated:
            raise ValueError(f"group_by lists {repeated} more than once")
        return self

    @property
    def display_name(self) -> str:
        return self.name or f"{self.type}_{self.field}"

    def input_columns(self) -> list[str]:
        """Top-level columns, besides the scorer's output, that this metric reads."""
        columns = [self.label_column, *self.group_by]
        return list(dict.fromkeys(c for c in columns if c is not None))
