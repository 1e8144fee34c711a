"""Checklist scorer, item mode: one judge request per (sample, item), assembled back per sample.

A batch of samples becomes one judge call, so a sample's requests reach the same engine in
the same batch and share its prefix in the cache. Arrow table in, one struct per row out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from scorers.checklist.checklist_input import SampleInput, sample_input
from scorers.checklist.fields import SCORE_TYPE
from scorers.checklist.formulas import (
    aggregate_items,
    answer_from_confidence,
    confidence_level,
)
from scorers.checklist.prompt import default_item_template, history_item_template, item_prompts
from scorers.checklist.spec import ChecklistItem, ChecklistScorerSpec
from scorers.judge.labels import YES_NO
from scorers.judge.result import JudgeResult, parsed_answer
from scorers.judged import NO_USAGE, PreparedBatch, ScoredBatch, usage_of
from scorers.row_text import RowInputError


class ChecklistScorer:
    def __init__(self, spec: ChecklistScorerSpec) -> None:
        self.spec = spec
        builtin = history_item_template() if spec.history_column else default_item_template()
        self.template = spec.custom_prompt or builtin

    @property
    def key(self) -> str:
        return self.spec.key

    def prepare(self, table: pa.Table) -> PreparedBatch:
        """One prompt per (sample, item); rows that cannot be scored carry their reason."""
        rows = table.select(self.spec.input_columns()).to_pylist()
        samples: list[SampleInput | str] = []
        prompts: list[str] = []
        for row in rows:
            try:
                sample = sample_input(self.spec, row)
            except RowInputError as exc:
                samples.append(str(exc))
                continue
            samples.append(sample)
            prompts.extend(
                item_prompts(
                    self.template,
                    sample.input_text,
                    sample.target,
                    [item.question for item in sample.items],
                    history=sample.history,
                )
            )
        return PreparedBatch(prompts=prompts, label_set=YES_NO, plan=samples)

    def finish(self, prepared: PreparedBatch, results: Sequence[JudgeResult]) -> ScoredBatch:
        records: list[dict[str, Any]] = []
        offset = 0
        for entry in prepared.plan:
            if isinstance(entry, str):
                records.append(_unscored(self.spec.primary_metric, entry))
                continue
            n = len(entry.items)
            records.append(self._assemble(entry, results[offset : offset + n]))
            offset += n
        return ScoredBatch(
            scores=pa.array(records, type=SCORE_TYPE),
            errors=[r["unscored_reason"] for r in records],
        )

    def _assemble(self, sample: SampleInput, results: Sequence[JudgeResult]) -> dict[str, Any]:
        items = [
            _item_record(index, item, result)
            for index, (item, result) in enumerate(zip(sample.items, results, strict=True))
        ]
        usage = usage_of(results)
        failed = [it for it in items if it["answer"] is None]
        if failed:
            reasons = "; ".join(f"item {it['index']}: {it['unscored_reason']}" for it in failed)
            record = _unscored(
                self.spec.primary_metric, f"{len(failed)} of {len(items)} items unscored: {reasons}"
            )
            return {**record, "items": items, "usage": usage}
        values = aggregate_items(
            answers=[it["answer"] == "yes" for it in items],
            weights=[item.weight for item in sample.items],
            confidences=[it["confidence"] for it in items],
            primary_metric=self.spec.primary_metric,
        )
        return {
            **values.__dict__,
            "primary_metric": self.spec.primary_metric,
            "items": items,
            "usage": usage,
            "unscored_reason": None,
        }


def _item_record(index: int, item: ChecklistItem, result: JudgeResult) -> dict[str, Any]:
    """An item's answer from its confidence; from the answer text when the backend had no
    log-probs (confidence stays null, as the seed's fallback to binary yes/no)."""
    confidence = result.probs[0] if result.probs is not None else None
    if confidence is not None:
        answer: str | None = answer_from_confidence(confidence)
        level: str | None = confidence_level(confidence)
    else:
        answer, level = parsed_answer(result), None
    return {
        "index": index,
        "question": item.question,
        "weight": item.weight,
        "answer": answer,
        "confidence": confidence,
        "confidence_level": level,
        "reasoning": None,
        "unscored_reason": result.error if answer is None else None,
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
        "items": None,
        "usage": NO_USAGE,
        "unscored_reason": reason,
    }
