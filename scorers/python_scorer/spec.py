"""How a job spec configures a Python scorer: one function, called once per sample."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from scorers.columns import InputColumn
from scorers.snippet_spec import SnippetScorerSpec


class PythonScorerSpec(SnippetScorerSpec):
    """`compute_score(sample) -> dict`: the per-sample sibling of python_all_samples, run on
    every block of the input in parallel."""

    type: Literal["python"]
    FUNCTION: ClassVar[str] = "compute_score"
    compute_score_snippet: str = Field(
        description="Python code defining (async) def compute_score(sample) -> dict."
    )
    columns: list[str] | None = Field(
        default=None,
        description=(
            "Input columns each sample dict holds. Fewer columns, less to read and to turn "
            "into Python objects. Default: every input column."
        ),
    )

    def input_columns(self) -> list[InputColumn]:
        return [InputColumn(column, "any", "columns") for column in self.columns or []]
