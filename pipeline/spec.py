"""The job spec: what to read, how to judge, what to score, where to write.

Every model forbids unknown keys, so a typo in a spec fails at load time with the
key's dotted path and the file, before Ray or any engine starts. Scorer entries are
validated by the spec class of the kind their `type` names (scorers.registry).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SerializeAsAny, field_validator, model_validator

from pipeline.annotations.labels import AnnotationsSpec
from pipeline.calibration import CalibrationSpec
from pipeline.context_checks import check_truncating_judges
from pipeline.incremental.spec import IncrementalSpec
from pipeline.plan import DEFAULT_JUDGE, plan_of
from pipeline.storage.storage_options import redact_secrets
from scorers.judge.spec import AnyJudgeSpec, JudgeSpec
from scorers.registry import (
    hooks_of,
    is_judged,
    kinds,
    parse_scorer,
    takes_config,
)
from scorers.scorer_spec import ScorerSpec
from scorers.strict_model import StrictModel
from scorers.usage import ERROR_COLUMN

__all__ = ["Definition", "InputSpec", "JobSpec", "JudgeSpec", "OutputSpec"]

STORAGE_OPTIONS_HELP = (
    "Passed to fsspec as given, e.g. {endpoint_url: 'http://127.0.0.1:9000'} for an "
    "S3-compatible store (s3fs). Credentials come from the environment (AWS_ACCESS_KEY_ID, "
    "...) unless given here (key, secret, token); values whose key looks secret are written "
    "as '***' in the manifest."
)


class TraceColumns(StrictModel):
    """Input columns holding the score-records seed's trace fields; each travels into every
    score record of its sample (and into scores/)."""

    trace_name: str | None = None
    environment: str | None = Field(default=None, description="e.g. production, development")
    user: str | None = Field(default=None, description="The end user of the scored trace.")
    author: str | None = Field(default=None, description="Who or what created the scores.")
    tags: str | None = Field(default=None, description="A list-of-text column.")

    def mapping(self) -> dict[str, str]:
        """Trace field -> input column, for the fields that are mapped."""
        return {name: column for name, column in self.model_dump().items() if column}


class InputSpec(StrictModel):
    path: str = Field(description="fsspec URI of a Parquet file, a folder of them, or a glob.")
    id_column: str = Field(description="Column that identifies a sample; must be unique, not null.")
    passthrough_columns: list[str] = Field(
        default_factory=list,
        description="Input columns copied unchanged into the scored output, next to the id.",
    )
    trace: TraceColumns = Field(
        default_factory=TraceColumns,
        description="Input columns for the score records' trace fields (the id is the trace's).",
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description=STORAGE_OPTIONS_HELP + " Also used for an annotations path.",
    )


class OutputSpec(StrictModel):
    path: str = Field(description="Run directory (fsspec URI). Never overwritten without asking.")
    shard_mib: float = Field(
        default=1.0,
        gt=0,
        description=(
            "Judged rows are committed in shards of about this much input data: smaller "
            "shards lose less work to a crash, larger ones make fewer files."
        ),
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description=STORAGE_OPTIONS_HELP + " Also used for calibration.from.",
    )


AnyScorerSpec = Annotated[SerializeAsAny[ScorerSpec], BeforeValidator(parse_scorer)]


class Definition(StrictModel):
    scorers: list[AnyScorerSpec] = Field(min_length=1)

    @field_validator("scorers", mode="before")
    @classmethod
    def _default_keys(cls, value: Any) -> Any:
        """A scorer without a key gets `<type>_<position>` (checklist_0, ...)."""
        if not isinstance(value, list):
            return value
        return [
            {**raw, "key": f"{raw.get('type')}_{n}"}
            if isinstance(raw, dict) and raw.get("key") is None
            else raw
            for n, raw in enumerate(value)
        ]

    @model_validator(mode="after")
    def _unique_names(self) -> Definition:
        _raise_on_duplicates("scorer key", [s.key for s in self.scorers])
        _raise_on_duplicates("scorer name (display_name or key)", [s.name for s in self.scorers])
        _raise_on_duplicates(
            "metric name", [m.display_name for s in self.scorers for m in s.metrics]
        )
        return self


class JobSpec(StrictModel):
    name: str = Field(min_length=1)
    input: InputSpec
    output: OutputSpec
    judge: AnyJudgeSpec | None = Field(
        default=None,
        description=f"The judge scorers use unless they name another ({DEFAULT_JUDGE!r}).",
    )
    judges: dict[str, AnyJudgeSpec] = Field(
        default_factory=dict,
        description="More judges by name; a judged scorer picks one with `judge: <name>`.",
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Values for << config.x >> in every scorer that takes a config; a scorer's own "
            "config overrides them key by key."
        ),
    )
    annotations: AnnotationsSpec | None = Field(
        default=None,
        description="Human labels for some scores: ANNOTATION records and agreement.json.",
    )
    calibration: CalibrationSpec | None = Field(
        default=None,
        description="Map checklist item confidences to the human labels' rates (fitted on "
        "the annotations, or applied from an earlier run); optionally a composite score.",
    )
    incremental: IncrementalSpec | None = Field(
        default=None,
        description="Reuse an earlier run's judgments where a request is the same: a "
        "nightly rerun judges only new rows, edited rows and new or edited questions.",
    )
    definition: Definition

    @model_validator(mode="before")
    @classmethod
    def _job_config_into_scorers(cls, data: Any) -> Any:
        shared = data.get("config") if isinstance(data, dict) else None
        definition = data.get("definition") if isinstance(data, dict) else None
        if not isinstance(shared, dict) or not isinstance(definition, dict):
            return data
        scorers = definition.get("scorers")
        if not isinstance(scorers, list):
            return data
        merged = [
            {**raw, "config": {**shared, **(raw.get("config") or {})}}
            if isinstance(raw, dict)
            and takes_config(raw.get("type"))
            and isinstance(raw.get("config") or {}, dict)
            else raw
            for raw in scorers
        ]
        return {**data, "definition": {**definition, "scorers": merged}}

    @model_validator(mode="after")
    def _check(self) -> JobSpec:
        judged = [s.key for s in self.definition.scorers if is_judged(s)]
        if judged and self.judge is None and not self.judges:
            raise ValueError(f"judge: scorer(s) {judged} need a judge section")
        if self.judge is not None and DEFAULT_JUDGE in self.judges:
            raise ValueError(f"judges: {DEFAULT_JUDGE!r} is the name of the job's `judge`")
        plan = plan_of(self)
        for scorer in [*plan.per_row, *plan.cross_sample]:
            if scorer.judge is not None:
                raise ValueError(f"scorer {scorer.key!r} ({scorer.type}) asks no judge")
        check_truncating_judges(plan)
        kept = {self.input.id_column} | set(self.input.passthrough_columns)
        if ERROR_COLUMN in plan.judge_columns:
            raise ValueError(
                f"input column {ERROR_COLUMN!r} is the name of the output's row errors: rename "
                "it in the input to keep it or score it"
            )
        scorer_keys = {s.key for s in self.definition.scorers}
        clash = scorer_keys & kept
        if clash:
            raise ValueError(
                f"scorer key(s) {sorted(clash)} clash with the id or passthrough columns"
            )
        self._check_calibration(plan.kept_columns)
        for scorer in plan.cross_sample:
            later = [
                c.name
                for c in scorer.input_columns()
                if c.may_be_scorer_output and c.name in scorer_keys and c.name not in judged
            ]
            if later:
                raise ValueError(
                    f"scorer {scorer.key!r}: columns {later} are not judged scorers; "
                    "samples can hold input columns and judged scorers' outputs"
                )
        return self

    def _check_calibration(self, kept_columns: tuple[str, ...]) -> None:
        calibration = self.calibration
        if calibration is None:
            return
        if calibration.from_ is None and self.annotations is None:
            raise ValueError(
                "calibration: fitting needs an `annotations` section (or give calibration.from)"
            )
        if calibration.composite is None or calibration.from_ is not None:
            return
        scorer = next(
            (s for s in self.definition.scorers if s.key == calibration.composite.scorer), None
        )
        hook = hooks_of(scorer).calibration if scorer is not None else None
        if scorer is None or hook is None or hook.composite_items(scorer) is None:
            raise ValueError(
                f"calibration.composite.scorer: {calibration.composite.scorer!r} is not a "
                "checklist scorer with a corpus-level checklist"
            )
        column = calibration.composite.column()
        if column in {s.key for s in self.definition.scorers} | set(kept_columns):
            raise ValueError(f"calibration.composite: its column {column!r} is taken")

    def dump_without_secrets(self) -> dict[str, Any]:
        """The spec as JSON, each storage option whose key looks secret written as '***'."""
        dumped = self.model_dump(mode="json")
        for section in ("input", "output"):
            options = dumped[section]["storage_options"]
            dumped[section]["storage_options"] = redact_secrets(options)
        return dumped


def _raise_on_duplicates(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {what} {name!r}")
        seen.add(name)


def job_spec_json_schema() -> dict[str, Any]:
    """JobSpec's JSON schema with each registered scorer kind's spec under `scorers`."""
    schema = JobSpec.model_json_schema()
    defs = schema["$defs"]
    defs.pop(ScorerSpec.__name__, None)
    mapping = {}
    for name, kind in kinds().items():
        sub = kind.spec.model_json_schema(ref_template="#/$defs/{model}")
        # What Definition fills in before a kind's class sees the entry.
        sub["required"] = [r for r in sub.get("required", []) if r != "key"]
        sub["properties"]["metrics"] = {
            "anyOf": [sub["properties"]["metrics"], {"type": "null"}],
            "description": sub["properties"]["metrics"].get("description", ""),
        }
        for def_name, definition in {**sub.pop("$defs", {}), kind.spec.__name__: sub}.items():
            if defs.get(def_name, definition) != definition:
                raise ValueError(f"scorer type {name!r}: schema name {def_name!r} is taken")
            defs[def_name] = definition
        mapping[name] = f"#/$defs/{kind.spec.__name__}"
    defs["Definition"]["properties"]["scorers"]["items"] = {
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "type", "mapping": mapping},
    }
    return schema
