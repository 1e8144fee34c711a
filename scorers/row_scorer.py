"""What a per-sample scorer that asks no judge gives the pipeline: a map over row batches.

The pipeline runs it inside the job's one pass over the data, block by block in plain Ray
tasks before the judge, so its column and errors are committed with the judged ones. It sees
one batch at a time, never other rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pyarrow as pa

from scorers.judged import ScoredBatch


class RowScorer(Protocol):
    @property
    def key(self) -> str: ...

    def read_columns(self, input_columns: Sequence[str]) -> list[str]:
        """The input columns it reads, given every column the input has."""
        ...

    def score_batch(self, samples: pa.Table) -> ScoredBatch:
        """One struct per row and an error per row (None when fine), rows in order;
        `samples` holds the `read_columns`."""
        ...
