"""Single-question scorers with a fixed label set: likert (1..N), categorical, boolean."""

from __future__ import annotations

import string
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from pipeline.strict_model import StrictModel
from scorers.metrics.spec import MetricSpec
from scorers.prompt_check import check_metric_fields, check_template
from scorers.scorer_key import check_scorer_key

OPTION_LETTERS = string.ascii_uppercase


class RatingBase(StrictModel):
    key: str = Field(description="Names the scorer's output column.")
    question: str = Field(min_length=1, description="What the judge is asked about the response.")
    input_column: str | None = Field(default=None, description="The prompt the response answers.")
    target_column: str = Field(description="The response being scored.")
    custom_prompt: str | None = Field(
        default=None,
        description=(
            "Template replacing the built-in one ({input}, {target}, {question}, and "
            "{scale}/{anchors} or {options}). Keep {input} and {target} before {question}: "
            "what comes first is computed once per sample across all its questions."
        ),
    )
    metrics: list[MetricSpec] = Field(default_factory=list)

    TEMPLATE_EXTRAS: ClassVar[frozenset[str]] = frozenset()
    SCORE_FIELDS: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _check(self) -> RatingBase:
        check_scorer_key(self.key)
        if self.custom_prompt is not None:
            check_template(
                self.custom_prompt,
                available={"input", "target", "question", *self.TEMPLATE_EXTRAS},
                required={"target", *self.TEMPLATE_EXTRAS},
            )
        check_metric_fields(self.metrics, self.SCORE_FIELDS)
        return self

    def input_columns(self) -> list[str]:
        return [c for c in (self.input_column, self.target_column) if c is not None]


class LikertSpec(RatingBase):
    """G-Eval style: P(1..N) from the digit tokens; score = expected value."""

    type: Literal["likert"]
    TEMPLATE_EXTRAS: ClassVar[frozenset[str]] = frozenset({"scale", "anchors"})
    SCORE_FIELDS: ClassVar[tuple[str, ...]] = ("score", "mode", "label_mass")
    scale: int = Field(default=5, ge=2, le=9, description="Highest rating; digits 1..scale.")
    anchors: dict[int, str] = Field(
        default_factory=dict, description="Meaning of some ratings, e.g. {1: poor, 5: excellent}."
    )

    @model_validator(mode="after")
    def _check_anchors(self) -> LikertSpec:
        outside = [k for k in self.anchors if not 1 <= k <= self.scale]
        if outside:
            raise ValueError(f"anchors {outside} are outside the scale 1..{self.scale}")
        return self


class CategoricalSpec(RatingBase):
    """Named labels, asked as lettered options so every label is one token."""

    type: Literal["categorical"]
    TEMPLATE_EXTRAS: ClassVar[frozenset[str]] = frozenset({"options"})
    SCORE_FIELDS: ClassVar[tuple[str, ...]] = ("label", "probability", "entropy_bits", "label_mass")
    labels: list[str] = Field(min_length=2, max_length=len(OPTION_LETTERS))

    @model_validator(mode="after")
    def _unique_labels(self) -> CategoricalSpec:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be distinct")
        return self


class BooleanSpec(RatingBase):
    """One yes/no question as a boolean score with its confidence."""

    type: Literal["boolean"]
    SCORE_FIELDS: ClassVar[tuple[str, ...]] = ("value", "confidence", "label_mass")
