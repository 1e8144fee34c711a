"""The judged built-in kinds as they were before they read batches as columns: one Python
pass per row. Kept only as the oracle the columnar scorers must match, value for value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from scorers.checklist.checklist_input import SampleInput, sample_input
from scorers.checklist.fields import SCORE_TYPE
from scorers.checklist.formulas import aggregate_items, answer_from_confidence, confidence_level
from scorers.checklist.spec import ChecklistItem, ChecklistScorerSpec
from scorers.checklist.structured import (
    ANSWER_VALUES,
    ParsedItem,
    batch_request,
    item_answer_requests,
    item_reasoned_requests,
    read_answers,
)
from scorers.judge.generation import Generated, GenerationRequest
from scorers.judge.labels import YES_NO
from scorers.judge.result import JudgeResult, parsed_answer
from scorers.judged import PreparedBatch, ScoredBatch
from scorers.rating.spec import RatingBase
from scorers.row_text import RowInputError, row_texts
from scorers.templates import render
from scorers.usage import NO_USAGE, usage_of


class RowByRowRating:
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


class RowByRowChecklist:
    def __init__(self, spec: ChecklistScorerSpec) -> None:
        self.spec = spec
        self.structured = spec.generates()
        self.template = spec.prompt_text()

    @property
    def key(self) -> str:
        return self.spec.key

    def prepare(self, table: pa.Table) -> PreparedBatch:
        """Judge requests for the batch; rows that cannot be scored carry their reason."""
        plan: list[SampleInput | str] = []
        prompts: list[str] = []
        generation: list[GenerationRequest] = []
        for row in table.select(self.spec.column_names()).to_pylist():
            try:
                sample = sample_input(self.spec, row)
            except RowInputError as exc:
                plan.append(str(exc))
                continue
            plan.append(sample)
            if self.spec.mode == "batch":
                generation.append(
                    batch_request(
                        sample,
                        self.template,
                        self.spec.capture_reasoning,
                        self.spec.reasoning_max_chars,
                    )
                )
            elif self.spec.capture_reasoning:
                generation.extend(
                    item_reasoned_requests(sample, self.template, self.spec.reasoning_max_chars)
                )
            elif not self.spec.use_logprobs:
                generation.extend(item_answer_requests(sample, self.template))
            else:
                prompts.extend(sample.item_prompts(self.template))
        return PreparedBatch(
            prompts=prompts,
            label_set=YES_NO,
            plan=plan,
            generation=generation,
            answer_values=ANSWER_VALUES,
        )

    def finish(
        self, prepared: PreparedBatch, results: Sequence[JudgeResult] | Sequence[Generated]
    ) -> ScoredBatch:
        records: list[dict[str, Any]] = []
        offset = 0
        for entry in prepared.plan:
            if isinstance(entry, str):
                records.append(_unscored(self.spec.primary_metric, entry))
                continue
            n = 1 if self.spec.mode == "batch" else len(entry.items)
            mine = results[offset : offset + n]
            offset += n
            parsed = (
                self._read_generated(entry, mine)  # type: ignore[arg-type]
                if self.structured
                else [_from_label_read(r) for r in mine]  # type: ignore[arg-type]
            )
            records.append(self._assemble(entry, parsed, usage_of(mine)))
        return ScoredBatch(
            scores=pa.array(records, type=SCORE_TYPE),
            errors=[r["unscored_reason"] for r in records],
        )

    def _read_generated(
        self, sample: SampleInput, generated: Sequence[Generated]
    ) -> list[ParsedItem]:
        if self.spec.mode == "batch":
            parsed = read_answers(generated[0], len(sample.items))
        else:
            parsed = [item for g in generated for item in read_answers(g, 1)]
        if not self.spec.use_logprobs:
            parsed = [
                dataclasses.replace(item, confidence=None, label_mass=None) for item in parsed
            ]
        return parsed

    def _assemble(
        self, sample: SampleInput, parsed: Sequence[ParsedItem], usage: dict[str, int]
    ) -> dict[str, Any]:
        items = [
            _item_record(index, item, read)
            for index, (item, read) in enumerate(zip(sample.items, parsed, strict=True))
        ]
        failed = [it for it in items if it["answer"] is None]
        if failed:
            reasons = "; ".join(f"item {it['index']}: {it['unscored_reason']}" for it in failed)
            record = _unscored(
                self.spec.primary_metric, f"{len(failed)} of {len(items)} items unscored: {reasons}"
            )
            return {**record, "item_scores": items, "usage": usage}
        values = aggregate_items(
            answers=[it["answer"] == "yes" for it in items],
            weights=[item.weight for item in sample.items],
            confidences=[it["confidence"] for it in items],
            primary_metric=self.spec.primary_metric,
        )
        return {
            **values.__dict__,
            "primary_metric": self.spec.primary_metric,
            "item_scores": items,
            "usage": usage,
            "unscored_reason": None,
        }


def _from_label_read(result: JudgeResult) -> ParsedItem:
    """An item read from one token: its confidence, or the answer text when the backend had
    no log-probs (confidence stays null, as in the seed's fallback to binary yes/no)."""
    if result.probs is not None:
        return ParsedItem(None, result.probs[0], None, None, result.label_mass)
    return ParsedItem(parsed_answer(result), None, None, result.error, result.label_mass)


def _item_record(index: int, item: ChecklistItem, read: ParsedItem) -> dict[str, Any]:
    """The answer the judge generated, with its confidence beside it (never overturning it);
    an answer read from one token's log-probs follows the seed's 0.6 threshold."""
    confidence = read.confidence
    answer = read.answer
    if answer is None and confidence is not None:
        answer = answer_from_confidence(confidence)
    return {
        "index": index,
        "question": item.question,
        "weight": item.weight,
        "answer": answer,
        "confidence": confidence,
        "calibrated_confidence": None,
        "confidence_level": None if confidence is None else confidence_level(confidence),
        "label_mass": read.label_mass,
        "reasoning": read.reasoning,
        "unscored_reason": read.error if answer is None else None,
    }


def _unscored(primary_metric: str, reason: str) -> dict[str, Any]:
    """A sample with no scores: null values plus the reason, never a silent 0."""
    return {
        "primary_score": None,
        "pass_rate": None,
        "weighted_score": None,
        "normalized_score": None,
        "scaled_score_1_5": None,
        "primary_metric": primary_metric,
        "item_scores": None,
        "usage": NO_USAGE,
        "unscored_reason": reason,
    }
