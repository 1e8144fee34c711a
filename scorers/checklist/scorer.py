"""Checklist scorer, item mode: one judge request per (sample, item), assembled back per sample.

A batch of samples becomes one judge call, so a sample's requests reach the same engine in
the same batch and share its prefix in the cache. Arrow table in, one struct per row out:
prompts are rendered, answers read and structs built as columns, each sample's prefix once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scorers.checklist.assemble import ItemReads, checklist_structs
from scorers.checklist.checklist_columns import ChecklistBatch, checklist_batch
from scorers.checklist.prompt import item_prompt_texts, numbered_questions
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.checklist.structured import (
    ANSWER_VALUES,
    ParsedItem,
    answer_requests,
    batch_requests,
    read_answers,
    reasoned_requests,
)
from scorers.judge.generation import Generated, GenerationRequest
from scorers.judge.labels import YES_NO
from scorers.judge.result import JudgeResult, result_columns
from scorers.judged import PreparedBatch, ScoredBatch
from scorers.segments import segment_of
from scorers.templates import render_columns
from scorers.usage_columns import usage_array


class ChecklistScorer:
    def __init__(self, spec: ChecklistScorerSpec) -> None:
        self.spec = spec
        self.structured = spec.generates()
        self.template = spec.prompt_text()

    @property
    def key(self) -> str:
        return self.spec.key

    def prepare(self, table: pa.Table) -> PreparedBatch:
        """Judge requests for the batch; rows that cannot be scored carry their reason."""
        batch = checklist_batch(self.spec, table)
        prompts: list[str] = []
        generation: list[GenerationRequest] = []
        if self.spec.mode == "batch":
            generation = batch_requests(
                self._batch_prompts(batch).to_pylist(),
                batch.items.counts.tolist(),
                self.spec.capture_reasoning,
                self.spec.reasoning_max_chars,
            )
        else:
            item_prompts = self._item_prompts(batch)
            if self.spec.capture_reasoning:
                generation = reasoned_requests(item_prompts, self.spec.reasoning_max_chars)
            elif not self.spec.use_logprobs:
                generation = answer_requests(item_prompts)
            else:
                prompts = item_prompts
        per_row = np.zeros(table.num_rows, np.int64)
        per_row[batch.rows] = 1 if self.spec.mode == "batch" else batch.items.counts
        return PreparedBatch(
            prompts=prompts,
            label_set=YES_NO,
            plan=batch,
            generation=generation,
            answer_values=ANSWER_VALUES,
            requests_per_row=per_row.tolist(),
        )

    def _shared(self, batch: ChecklistBatch) -> dict[str, pa.Array]:
        return {"input": batch.input, "target": batch.target, "history": batch.history}

    def _item_prompts(self, batch: ChecklistBatch) -> list[str]:
        return item_prompt_texts(
            self.template,
            self._shared(batch),
            len(batch.rows),
            batch.items.questions,
            segment_of(batch.items.counts),
        )

    def _batch_prompts(self, batch: ChecklistBatch) -> pa.Array:
        questions = numbered_questions(batch.items.questions, batch.items.counts)
        values = {**self._shared(batch), "questions": questions}
        return render_columns(self.template, values, len(batch.rows))

    def finish(
        self, prepared: PreparedBatch, results: Sequence[JudgeResult] | Sequence[Generated]
    ) -> ScoredBatch:
        batch: ChecklistBatch = prepared.plan
        counts = batch.items.counts
        reads = (
            self._read_generated(batch, results)  # type: ignore[arg-type]
            if self.structured
            else _label_reads(results)  # type: ignore[arg-type]
        )
        per_row = np.ones_like(counts) if self.spec.mode == "batch" else counts
        usage = usage_array(results, batch.rows, per_row, batch.row_count)
        scores, reasons = checklist_structs(batch, reads, usage, self.spec.primary_metric)
        return ScoredBatch(scores=scores, errors=reasons.to_pylist())

    def _read_generated(self, batch: ChecklistBatch, generated: Sequence[Generated]) -> ItemReads:
        """Each generation's JSON parsed (Python: the text is the judge's), as item columns."""
        if self.spec.mode == "batch":
            counts = batch.items.counts.tolist()
            parsed = [i for g, n in zip(generated, counts, strict=True) for i in read_answers(g, n)]
        else:
            parsed = [item for g in generated for item in read_answers(g, 1)]
        return _parsed_reads(parsed, with_confidence=self.spec.use_logprobs)


def _label_reads(results: Sequence[JudgeResult]) -> ItemReads:
    """Items read from one token: P(yes) as the confidence, or the answer text when the
    backend had no log-probs (confidence stays null, the seed's fallback to binary yes/no)."""
    read = result_columns(results, len(YES_NO.labels))
    no_probs = pa.array(~read.has_probs)
    return ItemReads(
        answer=_where(no_probs, read.answer_label),
        confidence=read.probs[:, 0],
        known=read.has_probs,
        label_mass=read.label_mass,
        reasoning=pa.nulls(len(results), pa.string()),
        error=_where(no_probs, read.error),
    )


def _where(keep: pa.Array, values: pa.Array) -> pa.Array:
    """values where keep, else null."""
    return pc.if_else(keep, values, pa.nulls(len(values), values.type))


def _parsed_reads(parsed: Sequence[ParsedItem], with_confidence: bool) -> ItemReads:
    confidence = np.array(
        [np.nan if p.confidence is None else p.confidence for p in parsed], dtype=float
    )
    known = np.array([p.confidence is not None for p in parsed], dtype=bool) & with_confidence
    label_mass = pa.array([p.label_mass for p in parsed], pa.float64())
    return ItemReads(
        answer=pa.array([p.answer for p in parsed], pa.string()),
        confidence=confidence,
        known=known,
        label_mass=label_mass if with_confidence else pa.nulls(len(parsed), pa.float64()),
        reasoning=pa.array([p.reasoning for p in parsed], pa.string()),
        error=pa.array([p.error for p in parsed], pa.string()),
    )
