"""What every scorer spec has: a type, a key naming its output column, metrics over its fields.

A kind's spec class adds its own settings and says which input columns it reads (with their
kind) and the Arrow type of the struct it writes per row.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from scorers.columns import InputColumn
from scorers.metrics.spec import MetricSpec
from scorers.prompt_check import check_metric_fields, refuse_metric_fields
from scorers.score_config import ScoreConfig, inferred_config
from scorers.scorer_key import check_scorer_key
from scorers.strict_model import StrictModel
from scorers.truncate_spec import TRUNCATION_FIELDS, TruncateSpec

# Struct fields that describe a score rather than being one: never a score record.
NOT_SCORE_FIELDS = frozenset(
    {"item_scores", "usage", "unscored_reason", "metadata", "primary_metric", "distribution"}
    | {name for name, _ in TRUNCATION_FIELDS}
)


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
    judge: str | None = Field(
        default=None,
        description=(
            "Judged kinds: which of the job's `judges` scores this (two judges can score the "
            "same corpus in one run). Default: the job's `judge`."
        ),
    )
    truncate: TruncateSpec | None = Field(
        default=None,
        description=(
            "Judged kinds: cut a text column (target or input) to max_tokens tokens of the "
            "judge's tokenizer before it goes into the prompt, on side right, left or middle; "
            "the row's struct then says `truncated` and `truncated_tokens`. Default: texts "
            "are judged whole, and a prompt longer than the judge's max_model_len leaves its "
            "items unscored (counted in the manifest's `context`)."
        ),
    )
    score_configs: dict[str, ScoreConfig] = Field(
        default_factory=dict,
        description=(
            "Per score field: data type, min/max or categories, description (overrides the "
            "kind's own). A value outside its config is an error in its row."
        ),
    )

    # The fields a metric may aggregate; None when they are only known at run time.
    SCORE_FIELDS: ClassVar[tuple[str, ...] | None] = None
    # The field whose score record carries the scorer's bare name ("correctness").
    PRIMARY_FIELD: ClassVar[str | None] = None

    @field_validator("metrics", mode="before")
    @classmethod
    def _null_means_none(cls, value: Any) -> Any:
        return [] if value is None else value

    @model_validator(mode="after")
    def _check(self) -> ScorerSpec:
        check_scorer_key(self.key)
        self.check_kind()
        if self.truncate is not None:
            self._check_truncate(self.truncate)
        refuse_metric_fields(
            self.metrics, self.fields_metrics_may_not_use(), f"scorer {self.key!r} ({self.type})"
        )
        if self.SCORE_FIELDS is not None:
            check_metric_fields(self.metrics, self.SCORE_FIELDS)
            unknown = sorted(set(self.score_configs) - set(self.SCORE_FIELDS))
            if unknown:
                raise ValueError(
                    f"score_configs {unknown} are not score fields; "
                    f"available: {', '.join(self.SCORE_FIELDS)}"
                )
        return self

    def _check_truncate(self, truncate: TruncateSpec) -> None:
        texts = [c.name for c in self.input_columns() if c.kind == "text"]
        if truncate.column not in texts:
            raise ValueError(
                f"truncate.column: {truncate.column!r} is not a text column this scorer reads "
                f"(it reads: {', '.join(texts) or 'none'})"
            )
        output = self.output_type()
        names = set() if output is None else {f.name for f in output}
        if not {name for name, _ in TRUNCATION_FIELDS} <= names:
            raise ValueError(
                f"truncate is for judged scorers whose output has a `truncated` flag; type "
                f"{self.type!r} has none"
            )

    @model_serializer(mode="wrap")
    def _omit_no_truncate(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave `truncate: null` out, so specs without it dump (manifest, resume
        fingerprint) exactly as before the field existed."""
        data: dict[str, Any] = handler(self)
        if data.get("truncate", True) is None:
            del data["truncate"]
        return data

    def check_kind(self) -> None:
        """The kind's own checks, after the key's and before the metrics'; raise ValueError."""

    def fields_metrics_may_not_use(self) -> dict[str, str]:
        """Fields of this scorer's output that no metric may aggregate, each with why (a
        snippet's metadata: scorers.snippet_metadata); checked at load."""
        return {}

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

    def record_name(self, field: str) -> str:
        """A score's name: the scorer's name, plus the field unless it is the primary one."""
        return self.name if field == self.PRIMARY_FIELD else f"{self.name}.{field}"

    def kind_score_configs(self) -> dict[str, ScoreConfig]:
        """The kind's own ranges and categories for its fields."""
        return {}

    def field_configs(self, struct_type: pa.DataType) -> dict[str, ScoreConfig]:
        """A config per score field of the struct this scorer wrote: inferred from its type,
        then the kind's ranges, then the spec's own score_configs."""
        configs = {}
        for field in struct_type:
            inferred = inferred_config(field.type)
            if field.name not in NOT_SCORE_FIELDS and inferred is not None:
                configs[field.name] = inferred
        known = {**self.kind_score_configs(), **self.score_configs}
        configs.update({name: c for name, c in known.items() if name in configs})
        return configs

    def item_records(self, struct: dict[str, Any]) -> list[dict[str, Any]]:
        """Score records for the parts of one row's struct that are scores of their own (a
        checklist's items): dicts with name, config_id, value, comment, metadata."""
        return []

    def item_config(self) -> ScoreConfig | None:
        """The config shared by the item records, if the kind writes any."""
        return None

    def prompt_text(self) -> str | None:
        """The template the judge's prompts are made from (judged kinds), custom or built-in."""
        return None

    def generates(self) -> bool:
        """Whether the judge must generate text (constrained JSON) rather than read one token."""
        return False
