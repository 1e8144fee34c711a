"""The per-row stage: every per-row scorer (scorers.row_scorer) over each block of the data
pass, in plain Ray tasks, before the judge. Its structs and `error` travel on with the kept
columns and are committed in the judge stage's shards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from pipeline.plan import Plan
from pipeline.row_errors import RowErrors
from scorers.registry import row_scorer
from scorers.row_scorer import RowScorer
from scorers.usage import ERROR_COLUMN


def per_row_read_columns(plan: Plan, input_columns: Sequence[str]) -> list[str]:
    """The input columns the per-row scorers read, given every column the input has."""
    columns = [c for s in plan.per_row for c in row_scorer(s).read_columns(input_columns)]
    return list(dict.fromkeys(columns))


def scored_per_row(
    rows: Any, plan: Plan, input_columns: Sequence[str], extra_columns: Sequence[str] = ()
) -> Any:
    """`rows` (a Ray Dataset) with the judge actors' columns (and `extra_columns`), each
    per-row scorer's struct and `error`."""
    scorers = [row_scorer(s) for s in plan.per_row]
    return rows.map_batches(
        score_rows,
        fn_kwargs={
            "scorers": scorers,
            "read_columns": {s.key: s.read_columns(input_columns) for s in scorers},
            "keep_columns": [*plan.judge_columns, *extra_columns],
        },
        batch_format="pyarrow",
    )


def score_rows(
    batch: pa.Table,
    scorers: Sequence[RowScorer],
    read_columns: Mapping[str, Sequence[str]],
    keep_columns: Sequence[str],
) -> pa.Table:
    """Kept columns + one struct column per scorer + `error`; same rows, same order."""
    out = batch.select(list(keep_columns))
    errors = RowErrors(batch, earlier=False)  # the first stage: an input `error` is data
    for scorer in scorers:
        scored = scorer.score_batch(batch.select(list(read_columns[scorer.key])))
        if len(scored.scores) != batch.num_rows:
            raise RuntimeError(
                f"scorer {scorer.key!r} gave {len(scored.scores)} rows for {batch.num_rows}"
            )
        out = out.append_column(scorer.key, scored.scores)
        errors.add(scorer.key, scored.errors)
    return out.append_column(ERROR_COLUMN, errors.column())
