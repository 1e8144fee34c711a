"""Checklist scorer, item mode: one judge request per (sample, item), assembled back per sample.

A batch of samples becomes one judge call, so a sample's requests reach the same engine in
the same batch and share its prefix in the cache. Arrow table in, one struct per row out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from pipeline.spec import ChecklistScorerSpec
from scorers.checklist.checklist_input import RowInputError, SampleInput, sample_input
from scorers.checklist.fields import SCORE_TYPE
from scorers.checklist.formulas import (
    aggregate_items,
    answer_from_confidence,
    confidence_level,
)
from scorers.checklist.prompt import default_item_template, item_prompts
from scorers.judge.labels import YES_NO
from scorers.judge.result import JudgeResult, LogprobJudge


@dataclass(frozen=True)
class ScoredBatch:
    scores: pa.Array
    errors: list[str | None]


class ChecklistScorer:
    def __init__(self, spec: ChecklistScorerSpec, template: str | None = None) -> None:
        self.spec = spec
        self.template = template or default_item_template()

    def score(self, table: pa.Table, judge: LogprobJudge) -> ScoredBatch:
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
                )
            )
        results = judge.judge(prompts, YES_NO) if prompts else []
        if len(results) != len(prompts):
            raise RuntimeError(f"judge returned {len(results)} results for {len(prompts)} prompts")
        records: list[dict[str, Any]] = []
        offset = 0
        for entry in samples:
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
        items = []
        for index, (item, result) in enumerate(zip(sample.items, results, strict=True)):
            confidence = result.probs[0] if result.probs is not None else None
            items.append(
                {
                    "index": index,
                    "question": item.question,
                    "weight": item.weight,
                    "answer": None if confidence is None else answer_from_confidence(confidence),
                    "confidence": confidence,
                    "confidence_level": None
                    if confidence is None
                    else confidence_level(confidence),
                    "reasoning": None,
                    "unscored_reason": result.error,
                }
            )
        usage = {
            "judge_requests": len(results),
            "prompt_tokens": sum(r.prompt_tokens for r in results),
            "cached_prompt_tokens": sum(r.cached_tokens for r in results),
        }
        failed = [it for it in items if it["confidence"] is None]
        if failed:
            reasons = "; ".join(f"item {it['index']}: {it['unscored_reason']}" for it in failed)
            record = _unscored(
                self.spec.primary_metric, f"{len(failed)} of {len(items)} items unscored: {reasons}"
            )
            return {**record, "items": items, "usage": usage}
        confidences = [r.probs[0] for r in results if r.probs is not None]
        values = aggregate_items(
            answers=[answer_from_confidence(c) == "yes" for c in confidences],
            weights=[item.weight for item in sample.items],
            confidences=confidences,
            primary_metric=self.spec.primary_metric,
        )
        return {
            **values.__dict__,
            "primary_metric": self.spec.primary_metric,
            "items": items,
            "usage": usage,
            "unscored_reason": None,
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
        "usage": {"judge_requests": 0, "prompt_tokens": 0, "cached_prompt_tokens": 0},
        "unscored_reason": reason,
    }
