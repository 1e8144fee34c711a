"""How a job spec configures cross-sample scorers: they see the whole dataset at once."""

from __future__ import annotations

from typing import ClassVar, Literal

import pyarrow as pa
from pydantic import Field

from scorers.columns import InputColumn, columns_named
from scorers.cross_sample.fields import NEAR_DUP_TYPE, UNIQUENESS_TYPE
from scorers.score_config import ScoreConfig
from scorers.scorer_spec import ScorerSpec
from scorers.snippet_spec import SnippetScorerSpec


class PythonAllSamplesSpec(SnippetScorerSpec):
    """The python-batch-scorer seed: `compute_scores(samples) -> one entry per sample`."""

    type: Literal["python_all_samples"]
    FUNCTION: ClassVar[str] = "compute_scores"
    compute_scores_snippet: str = Field(
        description="Python code defining (async) def compute_scores(samples) -> list[dict]."
    )
    columns: list[str] | None = Field(
        default=None,
        description=(
            "Fields each sample dict holds: input columns or earlier scorer keys. Fewer "
            "columns, less memory in the one process that sees every sample. Default: the "
            "input's columns read by the job."
        ),
    )

    def input_columns(self) -> list[InputColumn]:
        return [
            InputColumn(column, "any", "columns", may_be_scorer_output=True)
            for column in self.columns or []
        ]


class TextColumnSpec(ScorerSpec):
    column: str = Field(description="Text column compared across the dataset.")

    def input_columns(self) -> list[InputColumn]:
        return columns_named((self.column, "text", "column"))


class UniquenessSpec(TextColumnSpec):
    """Exact duplicates of a normalised text column, grouped by hash on the cluster."""

    type: Literal["uniqueness"]
    SCORE_FIELDS: ClassVar[tuple[str, ...] | None] = tuple(UNIQUENESS_TYPE.names)
    PRIMARY_FIELD: ClassVar[str | None] = "is_unique"
    lowercase: bool = True
    collapse_whitespace: bool = Field(default=True, description="Runs of whitespace count as one.")
    strip_punctuation: bool = False

    def output_type(self) -> pa.DataType:
        return UNIQUENESS_TYPE

    def kind_score_configs(self) -> dict[str, ScoreConfig]:
        return {
            "duplicate_count": ScoreConfig(
                data_type="NUMERIC", min=0.0, description="other rows with the same text"
            )
        }


class NearDuplicatesSpec(TextColumnSpec):
    """Near duplicates by MinHash + LSH banding; clusters are connected components."""

    type: Literal["near_duplicates"]
    SCORE_FIELDS: ClassVar[tuple[str, ...] | None] = tuple(NEAR_DUP_TYPE.names)
    PRIMARY_FIELD: ClassVar[str | None] = "is_near_duplicate"
    threshold: float = Field(
        default=0.8, gt=0, lt=1, description="Jaccard similarity above which texts are near dups."
    )
    shingle_size: int = Field(default=5, ge=1, description="Words per shingle.")
    num_perm: int = Field(
        default=128, ge=16, le=1024, description="MinHash permutations: more = more exact, slower."
    )
    seed: int = 1

    def output_type(self) -> pa.DataType:
        return NEAR_DUP_TYPE
