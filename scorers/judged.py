"""What every judged scorer does: turn a batch into judge prompts, then results into a column.

Splitting the two lets the judge stage send every scorer's prompts for a batch together, so
all questions about one sample (20+ dimensions) share one pass over the sample's prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa

from scorers.judge.generation import Generated, GenerationRequest
from scorers.judge.labels import LabelSet
from scorers.judge.result import JudgeResult


@dataclass(frozen=True)
class PreparedBatch:
    """Requests for the judge plus what the scorer needs to read the answers back: either
    prompts whose next token is read over `label_set`, or constrained generations."""

    prompts: list[str]
    label_set: LabelSet
    plan: Any
    generation: list[GenerationRequest] = field(default_factory=list)
    answer_values: tuple[str, ...] = ()  # the values a generation's answer field may take
    # Per row of the batch, how many of the requests (prompts or generations, in row order)
    # are its: lets the pipeline send a large batch to the judge a few rows at a time.
    requests_per_row: Sequence[int] | None = None

    @property
    def requests(self) -> int:
        return len(self.generation) if self.generation else len(self.prompts)

    def request_offsets(self, rows: int) -> np.ndarray | None:
        """Where each of `rows` rows' requests start, and where the last ends (rows + 1
        offsets); None when the scorer does not say which requests are each row's, or its
        counts are not one per row or do not add up to its requests."""
        if self.requests_per_row is None:
            return None
        counts = np.asarray(self.requests_per_row, np.int64)
        if len(counts) != rows or (counts < 0).any() or counts.sum() != self.requests:
            return None
        offsets: np.ndarray = np.concatenate([np.zeros(1, np.int64), np.cumsum(counts)])
        return offsets


@dataclass(frozen=True)
class ScoredBatch:
    scores: pa.Array
    errors: list[str | None]


class JudgedScorer(Protocol):
    @property
    def key(self) -> str: ...

    def prepare(self, table: pa.Table) -> PreparedBatch: ...

    def finish(
        self, prepared: PreparedBatch, results: Sequence[JudgeResult] | Sequence[Generated]
    ) -> ScoredBatch: ...


@runtime_checkable
class JudgePreparedScorer(Protocol):
    """A judged scorer that needs the judge itself to prepare (e.g. its tokenizer, to cut a
    text to fit: scorers.truncating_scorer)."""

    def prepare_with(self, table: pa.Table, judge: object) -> PreparedBatch: ...


def prepare_batch(scorer: JudgedScorer, table: pa.Table, judge: object) -> PreparedBatch:
    """The scorer's requests for `table`, on the judge that will answer them."""
    if isinstance(scorer, JudgePreparedScorer):
        return scorer.prepare_with(table, judge)
    return scorer.prepare(table)
