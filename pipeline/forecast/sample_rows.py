"""A reproducible random sample of the job's input rows, with the columns its judged scorers
read (the same rows for the same seed, as `rayscore variance` samples them)."""

from __future__ import annotations

import pyarrow as pa

from pipeline.plan import Plan
from pipeline.source import InputSource
from pipeline.variance.run import read_ids, read_rows, sample_ids


def sampled_rows(plan: Plan, source: InputSource, rows: int, seed: int) -> pa.Table:
    if rows < 1:
        raise ValueError(f"the sample needs at least 1 row, got {rows}")
    id_column = plan.spec.input.id_column
    ids = sample_ids(read_ids(source, id_column), rows, seed)
    columns = list(dict.fromkeys([id_column, *(c for s in plan.judged for c in s.column_names())]))
    return read_rows(source, columns, id_column, ids).to_arrow()
