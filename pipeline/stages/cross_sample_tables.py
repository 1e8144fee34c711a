"""The cross-sample scorers' results as small tables the write step joins on by id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from pipeline.attempt import Run
from pipeline.cross_sample_stage import JudgedRows, cross_sample_results
from scorers.scorer_spec import ScorerSpec


@dataclass(frozen=True)
class CrossTable:
    """(id, key[, __error__key]) rows; ids missing from `table` take `default`."""

    key: str
    table: pa.Table
    default: dict[str, Any] | None
    struct_type: pa.DataType


def cross_sample_tables(
    run: Run, scorers: Sequence[ScorerSpec], judged: JudgedRows
) -> list[CrossTable]:
    import ray

    if not scorers:
        return []
    results = cross_sample_results(run.spec, run.source, judged, scorers)
    tables = []
    for result in results:
        blocks = [b for b in ray.get(result.dataset.to_arrow_refs()) if b.num_rows]
        table = pa.concat_tables(blocks) if blocks else _empty(run, result.key, result.struct_type)
        tables.append(CrossTable(result.key, table, result.default, result.struct_type))
    return tables


def _empty(run: Run, key: str, struct_type: pa.DataType) -> pa.Table:
    id_col = run.spec.input.id_column
    id_type = run.source.schema.field(id_col).type
    return pa.table({id_col: pa.array([], id_type), key: pa.array([], struct_type)})
