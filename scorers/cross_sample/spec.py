"""How a job spec configures cross-sample scorers: they see the whole dataset at once."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from pipeline.strict_model import StrictModel
from scorers.metrics.spec import MetricSpec
from scorers.prompt_check import check_metric_fields
from scorers.scorer_key import check_scorer_key
from scorers.snippet import load_function, substitute_config


class CrossSampleBase(StrictModel):
    key: str = Field(description="Names the scorer's output column.")
    display_name: str | None = None
    purpose: Literal["score", "qa"] = Field(
        default="score", description="score: scores the output; qa: a quality check over it."
    )
    metrics: list[MetricSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_key(self) -> CrossSampleBase:
        check_scorer_key(self.key)
        return self


class PythonAllSamplesSpec(CrossSampleBase):
    """The python-batch-scorer seed: `compute_scores(samples) -> one entry per sample`."""

    type: Literal["python_all_samples"]
    compute_scores_snippet: str = Field(
        description="Python code defining (async) def compute_scores(samples) -> list[dict]."
    )
    config: dict[str, Any] = Field(
        default_factory=dict, description="Values for << config.x >> in the snippet."
    )
    columns: list[str] | None = Field(
        default=None,
        description=(
            "Fields each sample dict holds: input columns or earlier scorer keys. Fewer "
            "columns, less memory in the one process that sees every sample. Default: the "
            "input's columns read by the job."
        ),
    )

    @model_validator(mode="after")
    def _compile(self) -> PythonAllSamplesSpec:
        load_function(self.code(), "compute_scores", f"<{self.key}.compute_scores_snippet>")
        return self

    def code(self) -> str:
        return substitute_config(self.compute_scores_snippet, self.config)


class UniquenessSpec(CrossSampleBase):
    """Exact duplicates of a normalised text column, grouped by hash on the cluster."""

    type: Literal["uniqueness"]
    column: str = Field(description="Text column compared across the dataset.")
    lowercase: bool = True
    collapse_whitespace: bool = Field(default=True, description="Runs of whitespace count as one.")
    strip_punctuation: bool = False

    @model_validator(mode="after")
    def _check_metrics(self) -> UniquenessSpec:
        check_metric_fields(self.metrics, ("is_unique", "duplicate_count", "duplicate_group"))
        return self


class NearDuplicatesSpec(CrossSampleBase):
    """Near duplicates by MinHash + LSH banding; clusters are connected components."""

    type: Literal["near_duplicates"]
    column: str = Field(description="Text column compared across the dataset.")
    threshold: float = Field(
        default=0.8, gt=0, lt=1, description="Jaccard similarity above which texts are near dups."
    )
    shingle_size: int = Field(default=5, ge=1, description="Words per shingle.")
    num_perm: int = Field(
        default=128, ge=16, le=1024, description="MinHash permutations: more = more exact, slower."
    )
    seed: int = 1

    @model_validator(mode="after")
    def _check_metrics(self) -> NearDuplicatesSpec:
        check_metric_fields(self.metrics, ("near_dup_cluster", "is_near_duplicate"))
        return self
