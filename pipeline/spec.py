"""The job spec: what to read, how to judge, what to score, where to write.

Every model forbids unknown keys, so a typo in a spec fails at load time with the
key's dotted path and the file, before Ray or any engine starts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Field, model_validator

from pipeline.strict_model import StrictModel
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.cross_sample.spec import NearDuplicatesSpec, PythonAllSamplesSpec, UniquenessSpec
from scorers.rating.spec import BooleanSpec, CategoricalSpec, LikertSpec


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
    backend: Literal["vllm", "openai"] = Field(
        default="vllm",
        description="vllm: an engine inside each judge actor; openai: an OpenAI-compatible server.",
    )
    model: str = Field(
        description="vllm: local model folder or Hugging Face model id; openai: the served name."
    )
    base_url: str | None = Field(
        default=None, description="openai backend: the server's base URL, e.g. http://host/v1."
    )
    api_key_env: str | None = Field(
        default=None,
        description="openai backend: environment variable holding the API key (never logged).",
    )
    tokenizer: str | None = Field(
        default=None,
        description=(
            "openai backend: tokenizer folder/id for the label token ids; 'server' asks the "
            "server's /tokenize. Without token ids only the top-20 log-probs can be read."
        ),
    )
    max_concurrency: int = Field(
        default=8, ge=1, description="openai backend: requests in flight per judge actor."
    )
    max_retries: int = Field(
        default=5, ge=0, description="openai backend: retries on 429, 5xx and timeouts."
    )
    timeout_s: float = Field(default=60.0, gt=0, description="openai backend: per request.")
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

    @model_validator(mode="after")
    def _check_backend(self) -> JudgeSpec:
        if self.backend == "openai" and not self.base_url:
            raise ValueError("backend 'openai' needs base_url")
        if self.backend == "vllm" and self.base_url:
            raise ValueError("base_url is for backend 'openai'; the vllm backend runs in-process")
        return self


JudgedSpec = ChecklistScorerSpec | LikertSpec | CategoricalSpec | BooleanSpec
CrossSampleSpec = PythonAllSamplesSpec | UniquenessSpec | NearDuplicatesSpec
ScorerSpec = Annotated[JudgedSpec | CrossSampleSpec, Field(discriminator="type")]
JUDGED_TYPES = (ChecklistScorerSpec, LikertSpec, CategoricalSpec, BooleanSpec)
CROSS_SAMPLE_TYPES = (PythonAllSamplesSpec, UniquenessSpec, NearDuplicatesSpec)
SCORER_TYPES = frozenset(
    get_args(cls.model_fields["type"].annotation)[0] for cls in (*JUDGED_TYPES, *CROSS_SAMPLE_TYPES)
)


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
        judged = [s.key for s in self.judged_scorers()]
        if judged and self.judge is None:
            raise ValueError(f"judge: scorer(s) {judged} need a judge section")
        if self.judge is not None and self.judge.backend == "openai":
            generating = [
                s.key
                for s in self.judged_scorers()
                if isinstance(s, ChecklistScorerSpec) and (s.mode == "batch" or s.capture_reasoning)
            ]
            if generating:
                raise ValueError(
                    f"scorer(s) {generating}: batch mode and capture_reasoning generate JSON "
                    "under a grammar, which needs judge.backend 'vllm'"
                )
        scorer_keys = {s.key for s in self.definition.scorers}
        clash = scorer_keys & ({self.input.id_column} | set(self.input.passthrough_columns))
        if clash:
            raise ValueError(
                f"scorer key(s) {sorted(clash)} clash with the id or passthrough columns"
            )
        for scorer in self.cross_sample_scorers():
            if isinstance(scorer, PythonAllSamplesSpec):
                later = [c for c in scorer.columns or [] if c in scorer_keys and c not in judged]
                if later:
                    raise ValueError(
                        f"scorer {scorer.key!r}: columns {later} are cross-sample scorers; "
                        "samples can hold input columns and judged scorers' outputs"
                    )
        return self

    def judged_scorers(self) -> list[JudgedSpec]:
        """Scorers that ask the judge, in spec order."""
        return [s for s in self.definition.scorers if isinstance(s, JUDGED_TYPES)]

    def cross_sample_scorers(self) -> list[CrossSampleSpec]:
        return [s for s in self.definition.scorers if not isinstance(s, JUDGED_TYPES)]

    def kept_columns(self) -> list[str]:
        """Input columns copied into the scored output: id, passthrough, metric labels/groups."""
        cols = [self.input.id_column, *self.input.passthrough_columns]
        for scorer in self.definition.scorers:
            for metric in scorer.metrics:
                cols.extend(metric.input_columns())
        return list(dict.fromkeys(cols))

    def column_requirements(self) -> dict[str, list[str]]:
        """Every input column the job reads, with the spec keys that ask for it."""
        needs: dict[str, list[str]] = {self.input.id_column: ["input.id_column"]}

        def need(column: str, why: str) -> None:
            needs.setdefault(column, [])
            if why not in needs[column]:
                needs[column].append(why)

        for column in self.input.passthrough_columns:
            need(column, "input.passthrough_columns")
        scorer_keys = {s.key for s in self.definition.scorers}
        for n, scorer in enumerate(self.definition.scorers):
            where = f"definition.scorers.{n}"
            for key in (
                "input_column",
                "history_column",
                "target_column",
                "checklist_column",
                "column",
            ):
                named = getattr(scorer, key, None)
                if named is not None:
                    need(named, f"{where}.{key}")
            for column in getattr(scorer, "columns", None) or []:
                if column not in scorer_keys:
                    need(column, f"{where}.columns")
            for m, metric in enumerate(scorer.metrics):
                for column in metric.input_columns():
                    need(column, f"{where}.metrics.{m}")
        return needs

    def judge_columns(self) -> list[str]:
        """What the judge stage reads: kept columns plus the judged scorers' inputs."""
        cols = self.kept_columns()
        for scorer in self.judged_scorers():
            cols.extend(scorer.input_columns())
        return list(dict.fromkeys(cols))


def _raise_on_duplicates(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {what} {name!r}")
        seen.add(name)
