"""Single-question scorers: one judge request per sample, read as a label distribution."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from scorers.checklist.prompt import prompt_template, render
from scorers.judge.generation import Generated
from scorers.judge.labels import YES_NO, LabelSet
from scorers.judge.result import JudgeResult
from scorers.judged import NO_USAGE, PreparedBatch, ScoredBatch, usage_of
from scorers.rating.fields import BOOLEAN_TYPE, CATEGORICAL_TYPE, LIKERT_TYPE
from scorers.rating.interpret import boolean_fields, categorical_fields, likert_fields
from scorers.rating.spec import OPTION_LETTERS, BooleanSpec, CategoricalSpec, LikertSpec
from scorers.row_text import RowInputError, row_texts

RatingSpec = LikertSpec | CategoricalSpec | BooleanSpec


def label_set_for(spec: RatingSpec) -> LabelSet:
    if isinstance(spec, LikertSpec):
        digits = [str(i) for i in range(1, spec.scale + 1)]
        return LabelSet(tuple(digits), tuple((d,) for d in digits))
    if isinstance(spec, CategoricalSpec):
        letters = OPTION_LETTERS[: len(spec.labels)]
        return LabelSet(tuple(letters), tuple((letter,) for letter in letters))
    return YES_NO


def template_values(spec: RatingSpec) -> dict[str, str]:
    if isinstance(spec, LikertSpec):
        anchors = ", ".join(f"{k} = {v}" for k, v in sorted(spec.anchors.items()))
        return {"scale": str(spec.scale), "anchors": f" ({anchors})" if anchors else ""}
    if isinstance(spec, CategoricalSpec):
        options = "\n".join(f"{OPTION_LETTERS[i]}) {label}" for i, label in enumerate(spec.labels))
        return {"options": options}
    return {}


class RatingScorer:
    def __init__(self, spec: RatingSpec) -> None:
        self.spec = spec
        self.template = spec.custom_prompt or prompt_template(spec.type)
        self.label_set = label_set_for(spec)
        self.fixed = {**template_values(spec), "question": spec.question}
        self.struct_type, self.fields = _reader(spec)

    @property
    def key(self) -> str:
        return self.spec.key

    def prepare(self, table: pa.Table) -> PreparedBatch:
        prompts: list[str] = []
        plan: list[str | None] = []
        for row in table.select(self.spec.input_columns()).to_pylist():
            try:
                input_text, target = row_texts(row, self.spec.input_column, self.spec.target_column)
            except RowInputError as exc:
                plan.append(str(exc))
                continue
            plan.append(None)
            prompts.append(
                render(self.template, {**self.fixed, "input": input_text, "target": target})
            )
        return PreparedBatch(prompts=prompts, label_set=self.label_set, plan=plan)

    def finish(
        self, prepared: PreparedBatch, results: Sequence[JudgeResult] | Sequence[Generated]
    ) -> ScoredBatch:
        answers = iter(results)
        records = []
        for row_error in prepared.plan:
            if row_error is not None:
                records.append({"usage": NO_USAGE, "unscored_reason": row_error})
                continue
            result = next(answers)
            assert isinstance(result, JudgeResult)
            record: dict[str, Any] = {"usage": usage_of([result]), "label_mass": result.label_mass}
            if result.probs is None:
                record["unscored_reason"] = result.error
            else:
                record.update(self.fields(result.probs))
            records.append(record)
        return ScoredBatch(
            scores=pa.array(records, type=self.struct_type),
            errors=[r.get("unscored_reason") for r in records],
        )


def _reader(spec: RatingSpec) -> tuple[pa.DataType, Callable[[Sequence[float]], dict[str, Any]]]:
    if isinstance(spec, LikertSpec):
        return LIKERT_TYPE, likert_fields
    if isinstance(spec, CategoricalSpec):
        labels = spec.labels
        return CATEGORICAL_TYPE, lambda probs: categorical_fields(probs, labels)
    return BOOLEAN_TYPE, boolean_fields
