"""Single-question scorers: one judge request per sample, read as a label distribution.

A batch's prompts are rendered and its answers read with Arrow and numpy; Python touches a
row only to word why it cannot be scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scorers.judge.generation import Generated
from scorers.judge.result import JudgeResult, result_columns
from scorers.judged import PreparedBatch, ScoredBatch
from scorers.rating.spec import RatingBase
from scorers.row_text import gather, scorable_rows, spread, text_columns, with_problems
from scorers.struct_columns import struct_array
from scorers.templates import render_columns
from scorers.usage import USAGE_FIELD
from scorers.usage_columns import usage_array


@dataclass(frozen=True)
class RatingPlan:
    """Which rows were asked (ascending, one request each) and why the others were not."""

    row_count: int
    asked: np.ndarray
    problems: dict[int, str]


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
        texts = text_columns(table, self.spec.input_column, self.spec.target_column)
        asked = scorable_rows(table.num_rows, texts.problems)
        values = {
            **self.fixed,
            "input": texts.input.take(asked),
            "target": texts.target.take(asked),
        }
        prompts = render_columns(self.template, values, len(asked))
        return PreparedBatch(
            prompts=prompts.to_pylist(),
            label_set=self.label_set,
            plan=RatingPlan(table.num_rows, asked, texts.problems),
            requests_per_row=_one_each(table.num_rows, asked),
        )

    def finish(
        self, prepared: PreparedBatch, results: Sequence[JudgeResult] | Sequence[Generated]
    ) -> ScoredBatch:
        plan: RatingPlan = prepared.plan
        labels = self.label_set.labels
        confidence = self.spec.CONFIDENCE_FIELDS
        read = result_columns(results, len(labels))  # type: ignore[arg-type]
        # an answer read from text (no log-probs) scores as its label with probability 1
        from_text = ~read.has_probs & read.answer_label.is_valid().to_numpy(zero_copy_only=False)
        named = pc.index_in(read.answer_label, pa.array(labels)).fill_null(-1).to_numpy()
        probs = read.probs.copy()
        probs[from_text] = np.arange(len(labels)) == named[from_text, None]
        answered = read.has_probs | from_text

        request_of_row = np.full(plan.row_count, -1)
        request_of_row[plan.asked] = np.arange(len(plan.asked))
        answer_of_row = gather(np.cumsum(answered) - 1, request_of_row, answered)
        confidence_of_row = gather(np.cumsum(answered) - 1, request_of_row, read.has_probs)
        columns = {
            name: spread(values, confidence_of_row if name in confidence else answer_of_row)
            for name, values in self.spec.score_columns(probs[answered]).items()
        }
        unanswered_error = pc.if_else(answered, pa.nulls(len(answered), pa.string()), read.error)
        reasons = with_problems(spread(unanswered_error, request_of_row), plan.problems)
        columns["label_mass"] = spread(read.label_mass, request_of_row)
        columns[USAGE_FIELD] = usage_array(
            results, plan.asked, np.ones(len(plan.asked), dtype=np.int64), plan.row_count
        )
        columns["unscored_reason"] = reasons
        return ScoredBatch(
            scores=struct_array(columns, self.spec.output_type(), plan.row_count),
            errors=reasons.to_pylist(),
        )


def _one_each(rows: int, asked: np.ndarray) -> list[int]:
    per_row = np.zeros(rows, np.int64)
    per_row[asked] = 1
    return list(per_row.tolist())
