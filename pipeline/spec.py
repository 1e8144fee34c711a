"""The job spec: what to read, how to judge, what to score, where to write.

Every model forbids unknown keys, so a typo in a spec fails at load time with the
key's dotted path and the file, before Ray or any engine starts.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from pipeline.strict_model import StrictModel
from scorers.metrics.spec import MetricSpec

KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_COLUMNS = frozenset({"error"})


class InputSpec(StrictModel):
    path: str = Field(description="fsspec URI of a Parquet file, a folder of them, or a glob.")
    id_column: str = Field(description="Column that identifies a sample; must be unique, not null.")
    passthrough_columns: list[str] = Field(
        default_factory=list,
        description="Input columns copied unchanged into the scored output, next to the id.",
    )


class OutputSpec(StrictModel):
    path: str = Field(description="Run directory (fsspec URI). Never overwritten without asking.")


class JudgeSpec(StrictModel):
    backend: Literal["vllm"] = "vllm"
    model: str = Field(description="Local model folder or Hugging Face model id.")
    engine_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Passed to vllm.LLM as is (dtype, max_model_len, enforce_eager, ...).",
    )
    concurrency: int = Field(
        default=1, ge=1, description="Judge actors, each holding one engine. More = more memory."
    )
    num_gpus: float = Field(default=0, ge=0, description="GPUs per judge actor (0 on CPU).")
    num_cpus: float = Field(
        default=1, gt=0, description="CPUs reserved per judge actor; on CPU also its threads."
    )
    batch_size: int = Field(
        default=64,
        ge=1,
        description=(
            "Samples per engine call. Large batches keep the engine busy; small ones lose "
            "less work when an actor dies."
        ),
    )
    chat_template: Literal["auto", "never"] = Field(
        default="auto",
        description="'auto' wraps prompts in the tokenizer's chat template when it has one.",
    )


class ChecklistItem(StrictModel):
    question: str = Field(min_length=1)
    weight: float = Field(default=100.0, ge=0, le=100, description="Importance, 0-100.")


class ChecklistScorerSpec(StrictModel):
    type: Literal["checklist"]
    key: str = Field(description="Names the scorer's output column.")
    mode: Literal["item"] = Field(default="item", description="item: one judge request per item.")
    primary_metric: Literal["pass", "weighted", "normalized"] = "pass"
    input_column: str | None = Field(default=None, description="The prompt the response answers.")
    target_column: str = Field(description="The response being scored.")
    checklist: list[ChecklistItem] | None = Field(
        default=None, description="One checklist for the whole corpus."
    )
    checklist_column: str | None = Field(
        default=None,
        description="Per-row checklist: a list of {question, weight} structs or of strings.",
    )
    metrics: list[MetricSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> ChecklistScorerSpec:
        if not KEY_PATTERN.match(self.key):
            raise ValueError(f"key {self.key!r} must be an identifier ([A-Za-z_][A-Za-z0-9_]*)")
        if self.key in RESERVED_COLUMNS:
            raise ValueError(f"key {self.key!r} is reserved for the output's error column")
        if (self.checklist is None) == (self.checklist_column is None):
            raise ValueError("give exactly one of 'checklist' and 'checklist_column'")
        if self.checklist is not None:
            if not self.checklist:
                raise ValueError("checklist is empty")
            if self.primary_metric == "weighted" and sum(i.weight for i in self.checklist) == 0:
                raise ValueError("primary_metric 'weighted' needs a checklist weight above 0")
        from scorers.checklist.fields import SCORE_FIELDS

        for metric in self.metrics:
            if metric.field not in SCORE_FIELDS:
                raise ValueError(
                    f"metric field {metric.field!r} is not a score field; "
                    f"available: {', '.join(SCORE_FIELDS)}"
                )
        return self

    def input_columns(self) -> list[str]:
        """Input columns this scorer reads, in a stable order."""
        cols = [self.input_column, self.target_column, self.checklist_column]
        return list(dict.fromkeys(c for c in cols if c is not None))


ScorerSpec = Annotated[ChecklistScorerSpec, Field(discriminator="type")]
SCORER_TYPES = frozenset({"checklist"})


class Definition(StrictModel):
    scorers: list[ScorerSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Definition:
        _raise_on_duplicates("scorer key", [s.key for s in self.scorers])
        _raise_on_duplicates(
            "metric name", [m.display_name for s in self.scorers for m in s.metrics]
        )
        return self


class JobSpec(StrictModel):
    name: str = Field(min_length=1)
    input: InputSpec
    output: OutputSpec
    judge: JudgeSpec | None = None
    definition: Definition

    @model_validator(mode="after")
    def _check(self) -> JobSpec:
        needs_judge = [s.key for s in self.definition.scorers if s.type == "checklist"]
        if needs_judge and self.judge is None:
            raise ValueError(f"judge: scorer(s) {needs_judge} need a judge section")
        scorer_keys = {s.key for s in self.definition.scorers}
        clash = scorer_keys & ({self.input.id_column} | set(self.input.passthrough_columns))
        if clash:
            raise ValueError(
                f"scorer key(s) {sorted(clash)} clash with the id or passthrough columns"
            )
        return self

    def column_requirements(self) -> dict[str, list[str]]:
        """Every input column the job reads, with the spec keys that ask for it."""
        needs: dict[str, list[str]] = {self.input.id_column: ["input.id_column"]}
        for column in self.input.passthrough_columns:
            needs.setdefault(column, []).append("input.passthrough_columns")
        for n, scorer in enumerate(self.definition.scorers):
            for key in ("input_column", "target_column", "checklist_column"):
                column = getattr(scorer, key)
                if column is not None:
                    needs.setdefault(column, []).append(f"definition.scorers.{n}.{key}")
        return needs


def _raise_on_duplicates(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {what} {name!r}")
        seen.add(name)
