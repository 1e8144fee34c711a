"""Judge requests for the whole input, exactly: every row prepared by its judged scorers' own
kinds (prompts rendered, nothing tokenized), a record batch at a time."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.plan import Plan
from pipeline.source import InputSource
from scorers.registry import judged_scorer

READ_ROWS = 65_536  # rows prepared at a time


def corpus_requests(plan: Plan, source: InputSource) -> dict[str, int]:
    """Judge name -> the requests its scorers make for every input row."""
    columns = list(dict.fromkeys(c for s in plan.judged for c in s.column_names()))
    requests = dict.fromkeys(plan.judge_groups, 0)
    for path in source.files:
        parquet = pq.ParquetFile(path, filesystem=source.filesystem)
        for batch in parquet.iter_batches(batch_size=READ_ROWS, columns=columns):
            for name, count in table_requests(plan, pa.Table.from_batches([batch])).items():
                requests[name] += count
    return requests


def table_requests(plan: Plan, table: pa.Table) -> dict[str, int]:
    """Judge name -> the requests its scorers make for `table`'s rows."""
    return {
        name: sum(judged_scorer(s).prepare(table).requests for s in group)
        for name, group in plan.judge_groups.items()
    }
