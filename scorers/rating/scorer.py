"""Single-question scorers: one judge request per sample, read as a label distribution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from scorers.judge.generation import Generated
from scorers.judge.result import JudgeResult, parsed_answer
from scorers.judged import PreparedBatch, ScoredBatch
from scorers.rating.spec import RatingBase
from scorers.row_text import RowInputError, row_texts
from scorers.templates import render
from scorers.usage import NO_USAGE, usage_of


class RatingScorer:
    def __init__(self, spec: RatingBase) -> None:
        self.spec = spec
        self.template = spec.prompt_text()
        self.label_set = spec.label_set()
        self.fixed = {**spec.template_values(), "question": spec.question}

    @property
    def key(self) -> str:
        return self.spec.key

    def prepare(self, table: pa.Table) -> PreparedBatch:
        prompts: list[str] = []
        plan: list[str | None] = []
        for row in table.select(self.spec.column_names()).to_pylist():
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
            answer = parsed_answer(result)
            if result.probs is not None:
                record.update(self.spec.score_fields(result.probs))
            elif answer is not None:
                record.update(self.spec.answer_fields(answer))
            else:
                record["unscored_reason"] = result.error
            records.append(record)
        return ScoredBatch(
            scores=pa.array(records, type=self.spec.output_type()),
            errors=[r.get("unscored_reason") for r in records],
        )
