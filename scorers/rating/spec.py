"""Single-question scorers with a fixed label set: likert (1..N), categorical, boolean.

Each spec says which labels the judge is read over, what its template is filled with, and
how a label distribution becomes its score fields.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from scorers.columns import InputColumn, columns_named
from scorers.judge.labels import YES_NO, LabelSet
from scorers.prompt_check import check_template
from scorers.rating.fields import BOOLEAN_TYPE, CATEGORICAL_TYPE, LIKERT_TYPE
from scorers.rating.interpret import (
    boolean_columns,
    boolean_fields,
    categorical_columns,
    categorical_fields,
    likert_columns,
    likert_fields,
)
from scorers.score_config import ScoreConfig, unit_interval
from scorers.scorer_spec import ScorerSpec
from scorers.templates import prompt_template
from scorers.truncate_spec import with_truncation_fields

OPTION_LETTERS = string.ascii_uppercase


class RatingBase(ScorerSpec):
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

    TEMPLATE_EXTRAS: ClassVar[frozenset[str]] = frozenset()
    # Fields read from the label distribution: null when the judge answered in text only.
    CONFIDENCE_FIELDS: ClassVar[tuple[str, ...]] = ()

    def check_kind(self) -> None:
        if self.custom_prompt is not None:
            check_template(
                self.custom_prompt,
                available={"input", "target", "question", *self.TEMPLATE_EXTRAS},
                required={"target", *self.TEMPLATE_EXTRAS},
            )

    def input_columns(self) -> list[InputColumn]:
        return columns_named(
            (self.input_column, "text", "input_column"),
            (self.target_column, "text", "target_column"),
        )

    def label_set(self) -> LabelSet:
        return YES_NO

    def prompt_text(self) -> str:
        return self.custom_prompt or prompt_template(self.type)

    def template_values(self) -> dict[str, str]:
        """Values of the template's kind-specific placeholders."""
        return {}

    def score_fields(self, probs: Sequence[float]) -> dict[str, Any]:
        raise NotImplementedError

    def score_columns(self, probs: np.ndarray) -> dict[str, pa.Array]:
        """`score_fields` for a batch: `probs` is (rows, labels)."""
        raise NotImplementedError

    def answer_fields(self, label: str) -> dict[str, Any]:
        """The score fields of an answer read from text (no log-probs): the answer's own
        fields, its confidence fields null."""
        labels = self.label_set().labels
        fields = self.score_fields([float(label == name) for name in labels])
        return {**fields, **dict.fromkeys(self.CONFIDENCE_FIELDS)}

    def kind_score_configs(self) -> dict[str, ScoreConfig]:
        return {"label_mass": unit_interval("probability the judge gave the labels at all")}


class LikertSpec(RatingBase):
    """G-Eval style: P(1..N) from the digit tokens; score = expected value."""

    type: Literal["likert"]
    TEMPLATE_EXTRAS: ClassVar[frozenset[str]] = frozenset({"scale", "anchors"})
    SCORE_FIELDS: ClassVar[tuple[str, ...] | None] = ("score", "mode", "label_mass")
    PRIMARY_FIELD: ClassVar[str | None] = "score"
    CONFIDENCE_FIELDS: ClassVar[tuple[str, ...]] = ("distribution",)
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

    def label_set(self) -> LabelSet:
        digits = [str(i) for i in range(1, self.scale + 1)]
        return LabelSet(tuple(digits), tuple((d,) for d in digits))

    def template_values(self) -> dict[str, str]:
        anchors = ", ".join(f"{k} = {v}" for k, v in sorted(self.anchors.items()))
        return {"scale": str(self.scale), "anchors": f" ({anchors})" if anchors else ""}

    def score_fields(self, probs: Sequence[float]) -> dict[str, Any]:
        return likert_fields(probs)

    def score_columns(self, probs: np.ndarray) -> dict[str, pa.Array]:
        return likert_columns(probs)

    def kind_score_configs(self) -> dict[str, ScoreConfig]:
        scale = float(self.scale)
        return {
            **super().kind_score_configs(),
            "score": ScoreConfig(
                data_type="NUMERIC", min=1.0, max=scale, description="expected rating"
            ),
            "mode": ScoreConfig(
                data_type="NUMERIC", min=1.0, max=scale, description="likeliest rating"
            ),
        }

    def output_type(self) -> pa.DataType:
        return with_truncation_fields(LIKERT_TYPE, self.truncate)


class CategoricalSpec(RatingBase):
    """Named labels, asked as lettered options so every label is one token."""

    type: Literal["categorical"]
    TEMPLATE_EXTRAS: ClassVar[frozenset[str]] = frozenset({"options"})
    SCORE_FIELDS: ClassVar[tuple[str, ...] | None] = (
        "label",
        "probability",
        "entropy_bits",
        "label_mass",
    )
    PRIMARY_FIELD: ClassVar[str | None] = "label"
    CONFIDENCE_FIELDS: ClassVar[tuple[str, ...]] = ("probability", "entropy_bits", "distribution")
    labels: list[str] = Field(min_length=2, max_length=len(OPTION_LETTERS))

    @model_validator(mode="after")
    def _unique_labels(self) -> CategoricalSpec:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be distinct")
        return self

    def label_set(self) -> LabelSet:
        letters = OPTION_LETTERS[: len(self.labels)]
        return LabelSet(tuple(letters), tuple((letter,) for letter in letters))

    def template_values(self) -> dict[str, str]:
        options = "\n".join(f"{OPTION_LETTERS[i]}) {label}" for i, label in enumerate(self.labels))
        return {"options": options}

    def score_fields(self, probs: Sequence[float]) -> dict[str, Any]:
        return categorical_fields(probs, self.labels)

    def score_columns(self, probs: np.ndarray) -> dict[str, pa.Array]:
        return categorical_columns(probs, self.labels)

    def kind_score_configs(self) -> dict[str, ScoreConfig]:
        return {
            **super().kind_score_configs(),
            "label": ScoreConfig(data_type="CATEGORICAL", categories=list(self.labels)),
            "probability": unit_interval("probability of the chosen label"),
            "entropy_bits": ScoreConfig(
                data_type="NUMERIC", min=0.0, max=math.log2(len(self.labels))
            ),
        }

    def output_type(self) -> pa.DataType:
        return with_truncation_fields(CATEGORICAL_TYPE, self.truncate)


class BooleanSpec(RatingBase):
    """One yes/no question as a boolean score with its confidence."""

    type: Literal["boolean"]
    SCORE_FIELDS: ClassVar[tuple[str, ...] | None] = ("value", "confidence", "label_mass")
    PRIMARY_FIELD: ClassVar[str | None] = "value"
    CONFIDENCE_FIELDS: ClassVar[tuple[str, ...]] = ("confidence",)

    def score_fields(self, probs: Sequence[float]) -> dict[str, Any]:
        return boolean_fields(probs)

    def score_columns(self, probs: np.ndarray) -> dict[str, pa.Array]:
        return boolean_columns(probs)

    def kind_score_configs(self) -> dict[str, ScoreConfig]:
        return {**super().kind_score_configs(), "confidence": unit_interval("P(yes)")}

    def output_type(self) -> pa.DataType:
        return with_truncation_fields(BOOLEAN_TYPE, self.truncate)
