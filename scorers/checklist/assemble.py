"""A checklist batch's output structs from its item answers, as columns.

The item structs and the score fields are computed for every item and sample at once; only
a sample with unscored items is read in Python, to word which items and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scorers.checklist.checklist_columns import ChecklistBatch
from scorers.checklist.fields import ITEM_TYPE, SCORE_TYPE
from scorers.checklist.formulas import (
    PrimaryMetric,
    aggregate_columns,
    answers_from_confidences,
    confidence_levels,
)
from scorers.row_text import gather, spread, with_problems
from scorers.segments import integer_totals, position_in_segment
from scorers.struct_columns import struct_array
from scorers.usage import USAGE_FIELD


@dataclass(frozen=True)
class ItemReads:
    """What the judge said per item: an answer it wrote, or a confidence (`known`), the
    probability it gave the labels, the reasoning it gave, and why there is no answer."""

    answer: pa.Array
    confidence: np.ndarray
    known: np.ndarray
    label_mass: pa.Array
    reasoning: pa.Array
    error: pa.Array


def checklist_structs(
    batch: ChecklistBatch, reads: ItemReads, usage: pa.Array, primary_metric: PrimaryMetric
) -> tuple[pa.Array, pa.Array]:
    """The batch's SCORE_TYPE structs, one per row, and each row's unscored reason."""
    items, answered = _item_structs(batch, reads)
    counts = batch.items.counts
    unscored_items = integer_totals(~answered, counts)
    scored = unscored_items == 0
    values = aggregate_columns(
        yes=pc.equal(items.field("answer"), "yes").fill_null(False).to_numpy(zero_copy_only=False),
        weights=batch.items.weights,
        confidences=reads.confidence,
        known=reads.known,
        counts=counts,
        primary_metric=primary_metric,
    )
    sample_of_row = np.full(batch.row_count, -1)
    sample_of_row[batch.rows] = np.arange(len(batch.rows))
    scored_of_row = gather(np.arange(len(batch.rows)), sample_of_row, scored)
    columns = {
        name: spread(pa.array(column, from_pandas=True), scored_of_row)
        for name, column in values.__dict__.items()
    }
    columns["primary_metric"] = pa.array([primary_metric] * batch.row_count, pa.string())
    columns["item_scores"] = _item_lists(batch, items)
    columns[USAGE_FIELD] = usage
    reasons = _unscored_reasons(batch, items, unscored_items)
    columns["unscored_reason"] = reasons
    return struct_array(columns, SCORE_TYPE, batch.row_count), reasons


def _item_structs(batch: ChecklistBatch, reads: ItemReads) -> tuple[pa.Array, np.ndarray]:
    """ITEM_TYPE per item: the judge's own answer, else the one its confidence gives."""
    from_confidence = pa.array(answers_from_confidences(reads.confidence), mask=~reads.known)
    answer = pc.coalesce(reads.answer.cast(pa.string()), from_confidence)
    answered = answer.is_valid().to_numpy(zero_copy_only=False)
    n_items = len(answered)
    columns = {
        "index": pa.array(position_in_segment(batch.items.counts), pa.int32()),
        "question": batch.items.questions,
        "weight": pa.array(batch.items.weights),
        "answer": answer,
        "confidence": pa.array(reads.confidence, mask=~reads.known),
        "confidence_level": pa.array(
            confidence_levels(reads.confidence), pa.string(), mask=~reads.known
        ),
        "label_mass": reads.label_mass,
        "reasoning": reads.reasoning,
        "unscored_reason": pc.if_else(answered, pa.nulls(n_items, pa.string()), reads.error),
    }
    return struct_array(columns, ITEM_TYPE, n_items), answered


def _item_lists(batch: ChecklistBatch, items: pa.Array) -> pa.Array:
    """Each row's item structs; null for a row that could not be asked."""
    counts = np.zeros(batch.row_count, dtype=np.int64)
    counts[batch.rows] = batch.items.counts
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int32())
    asked = np.zeros(batch.row_count, dtype=bool)
    asked[batch.rows] = True
    return pa.ListArray.from_arrays(offsets, items, pa.list_(ITEM_TYPE), mask=pa.array(~asked))


def _unscored_reasons(
    batch: ChecklistBatch, items: pa.Array, unscored_items: np.ndarray
) -> pa.Array:
    problems = dict(batch.problems)
    starts = np.cumsum(batch.items.counts) - batch.items.counts
    for sample in np.flatnonzero(unscored_items).tolist():
        start, count = int(starts[sample]), int(batch.items.counts[sample])
        mine = items.slice(start, count).to_pylist()
        failed = [it for it in mine if it["answer"] is None]
        reasons = "; ".join(f"item {it['index']}: {it['unscored_reason']}" for it in failed)
        problems[int(batch.rows[sample])] = f"{len(failed)} of {count} items unscored: {reasons}"
    return with_problems(pa.nulls(batch.row_count, pa.string()), problems)
