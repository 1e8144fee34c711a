"""How a job spec configures a checklist scorer (the checklist-scorers seed)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import pyarrow as pa
from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from scorers.checklist.fields import SCORE_FIELDS, SCORE_TYPE
from scorers.checklist.presets import PRESETS, preset_problem, variant_of, with_preset_defaults
from scorers.columns import InputColumn, columns_named
from scorers.prompt_check import check_template
from scorers.score_config import ScoreConfig, unit_interval
from scorers.scorer_spec import ScorerSpec
from scorers.strict_model import StrictModel
from scorers.templates import prompt_template
from scorers.truncate_spec import with_truncation_fields


class ChecklistItem(StrictModel):
    question: str = Field(min_length=1)
    weight: float = Field(default=100.0, ge=0, le=100, description="Importance, 0-100.")
    paraphrases: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description=(
            "Other wordings of the same question, asked only by `rayscore variance` to see "
            "whether the score depends on the wording; a job's judge asks `question`."
        ),
    )

    @model_serializer(mode="wrap")
    def _omit_no_paraphrases(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave an empty list out, so specs without paraphrases dump (manifest, resume
        fingerprint) exactly as before the field existed."""
        data: dict[str, Any] = handler(self)
        if not self.paraphrases:
            data.pop("paraphrases", None)
        return data


class ChecklistScorerSpec(ScorerSpec):
    type: Literal["checklist"]
    SCORE_FIELDS: ClassVar[tuple[str, ...] | None] = SCORE_FIELDS
    PRIMARY_FIELD: ClassVar[str | None] = "primary_score"
    mode: Literal["item", "batch"] = Field(
        default="item",
        description=(
            "item: one request per item, its answer read from one token (fast, prefix-cached); "
            "batch: one generated JSON answer for all items (fewer requests, may lose accuracy "
            "on long checklists)."
        ),
    )
    use_logprobs: bool = Field(
        default=True,
        description=(
            "true: each answer's confidence P(yes)/(P(yes)+P(no)) from the label tokens' "
            "log-probs; false: the answer as generated text (structured output), no "
            "confidence, and normalized_score falls back to pass_rate."
        ),
    )
    capture_reasoning: bool = Field(
        default=False,
        description="Generate a short reasoning per item before/with its answer (slower).",
    )
    reasoning_max_chars: int = Field(
        default=300, ge=10, le=4000, description="Upper bound on each reasoning's length."
    )
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
    history_column: str | None = Field(
        default=None,
        description=(
            "Conversation so far (RocketEval style): every mode puts it in the prompt, "
            "as {history}."
        ),
    )
    scorer_prompt: Literal["batch", "item", "rlcf", "rocketeval"] | None = Field(
        default=None,
        description=(
            "A seed preset by name: its prompt, and its defaults for mode, primary_metric and "
            "use_logprobs where the spec does not set them (scorers/checklist/presets.py). "
            "batch: batch mode; item: item mode; rlcf: requirement-style, item mode, weighted; "
            "rocketeval: conversation with {history} (needs history_column), item mode, "
            "log-probs, normalized. Default: the mode's own prompt."
        ),
    )
    custom_prompt: str | None = Field(
        default=None,
        description=(
            "Template replacing the built-in one: {input}, {target}, {history} (with "
            "history_column), and {question} in item mode or {questions} (the numbered "
            "'Q1: ...' list) in batch mode. Keep everything shared by a sample before "
            "{question}: it is computed once."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _preset_defaults(cls, data: Any) -> Any:
        """Before validation, so the filled keys read as the spec's own (dumps, fields set)."""
        return with_preset_defaults(data)

    def check_kind(self) -> None:
        if self.primary_metric == "normalized" and not self.use_logprobs:
            raise ValueError(
                "primary_metric 'normalized' is the mean confidence: it needs use_logprobs"
                + self._preset_default_note("primary_metric")
            )
        if (self.checklist is None) == (self.checklist_column is None):
            raise ValueError("give exactly one of 'checklist' and 'checklist_column'")
        if self.checklist is not None:
            if not self.checklist:
                raise ValueError("checklist is empty")
            if self.primary_metric == "weighted" and sum(i.weight for i in self.checklist) == 0:
                raise ValueError(
                    "primary_metric 'weighted' needs a checklist weight above 0"
                    + self._preset_default_note("primary_metric")
                )
        self._check_preset()
        if self.custom_prompt is not None:
            required = {"target", self.question_placeholder()}
            if self.history_column is not None:
                required.add("history")
            check_template(self.custom_prompt, {"input", *required}, required=required)

    def _check_preset(self) -> None:
        preset = self.scorer_prompt
        if preset is None:
            return
        if self.custom_prompt is not None:
            raise ValueError("give scorer_prompt or custom_prompt, not both")
        problem = preset_problem(preset, self.mode, self.history_column is not None)
        if problem is not None:
            raise ValueError(problem)

    def _preset_default_note(self, key: str) -> str:
        """Where a refused value came from, when the spec's preset set it."""
        if self.scorer_prompt is None or key not in PRESETS[self.scorer_prompt].defaults:
            return ""
        return f" (scorer_prompt {self.scorer_prompt!r} sets {key} unless the spec does)"

    def prompt_text(self) -> str:
        return self.custom_prompt or prompt_template(self.builtin_template())

    def question_placeholder(self) -> str:
        """Batch mode asks every question in one prompt: `{questions}`; item mode `{question}`."""
        return "questions" if self.mode == "batch" else "question"

    def builtin_template(self) -> str:
        """The built-in template for this config: the preset's (default: the mode's own) for
        what the judge writes, with a {history} section if any."""
        preset = PRESETS[self.scorer_prompt or self.mode]
        variant = variant_of(self.mode, self.capture_reasoning, self.use_logprobs)
        return preset.template_name(variant, self.history_column is not None)

    def input_columns(self) -> list[InputColumn]:
        return columns_named(
            (self.input_column, "text", "input_column"),
            (self.history_column, "text_or_list", "history_column"),
            (self.target_column, "text", "target_column"),
            (self.checklist_column, "items", "checklist_column"),
        )

    def output_type(self) -> pa.DataType:
        return with_truncation_fields(SCORE_TYPE, self.truncate)

    def generates(self) -> bool:
        return self.mode == "batch" or self.capture_reasoning or not self.use_logprobs

    def kind_score_configs(self) -> dict[str, ScoreConfig]:
        return {
            "primary_score": unit_interval(f"the {self.primary_metric} score"),
            "pass_rate": unit_interval("share of yes answers"),
            "weighted_score": unit_interval("importance-weighted share of yes answers"),
            "normalized_score": unit_interval("mean confidence, or pass_rate without one"),
            "scaled_score_1_5": ScoreConfig(
                data_type="NUMERIC", min=1.0, max=5.0, description="pass_rate * 4 + 1"
            ),
        }

    def item_config(self) -> ScoreConfig:
        return ScoreConfig(data_type="BOOLEAN", description="the judge's yes/no for one item")

    def item_records(self, struct: dict[str, Any]) -> list[dict[str, Any]]:
        """One BOOLEAN record per item: the answer, its confidence in the metadata."""
        return [
            {
                "name": f"{self.name}.item_{item['index']}",
                "config_id": f"{self.name}.item",
                "value": None if item["answer"] is None else item["answer"] == "yes",
                "comment": item.get("reasoning") or item.get("unscored_reason"),
                "metadata": {
                    "question": item["question"],
                    "weight": item["weight"],
                    "confidence": item["confidence"],
                    "calibrated_confidence": item.get("calibrated_confidence"),
                    "confidence_level": item["confidence_level"],
                },
            }
            for item in struct.get("item_scores") or []
        ]
