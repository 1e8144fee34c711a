"""Judgments as Arrow: what a run records per judge request so a later run can reuse it, and
the per-row list columns that carry them through the score pass.

A recorded judgment is a plain log-prob JudgeResult that succeeded; a failed request (error
set) is not recorded, so it is judged again. `reused` says whether the run took it from an
earlier run (the manifest counts them from the recorded tables).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.incremental.request_keys import KEY_TYPE
from scorers.judge.result import JudgeResult

ID = "id"
RESULT_FIELDS = [
    pa.field("key", KEY_TYPE),
    pa.field("probs", pa.list_(pa.float64())),
    pa.field("label_mass", pa.float64()),
    pa.field("prompt_tokens", pa.int64()),
    pa.field("cached_tokens", pa.int64()),
]
PRIOR_TYPE = pa.struct(RESULT_FIELDS)  # an earlier run's judgment of a row
JUDGMENT_TYPE = pa.struct([*RESULT_FIELDS, pa.field("reused", pa.bool_())])
# The recorded table, in RUN/judgments/: one row per judgment, with its row's id.
RECORD_NAMES = [ID, *(f.name for f in JUDGMENT_TYPE)]
# Per row: the earlier run's judgments of it (from the read step), and this run's (from each
# judge's actors to the write step).
PRIOR_COLUMN = "__rayscore_prior"
JUDGMENTS_COLUMN = "__rayscore_judgments_{}"


def recordable(result: JudgeResult) -> bool:
    return type(result) is JudgeResult and result.error is None and result.probs is not None


def judgment_items(
    keys: pa.Array, results: Sequence[JudgeResult], reused: np.ndarray
) -> pa.StructArray:
    """One judgment per result (all recordable), with its key and whether it was reused."""
    return pa.StructArray.from_arrays(
        [
            keys,
            pa.array([list(r.probs or ()) for r in results], pa.list_(pa.float64())),
            pa.array([r.label_mass for r in results], pa.float64()),
            pa.array([r.prompt_tokens for r in results], pa.int64()),
            pa.array([r.cached_tokens for r in results], pa.int64()),
            pa.array(reused, pa.bool_()),
        ],
        fields=list(JUDGMENT_TYPE),
    )


def results_of(items: pa.StructArray) -> list[JudgeResult]:
    """The JudgeResults that recorded judgments stand for, exactly as the judge gave them."""
    probs = items.field("probs").to_pylist()
    mass = items.field("label_mass").to_pylist()
    prompt = items.field("prompt_tokens").to_pylist()
    cached = items.field("cached_tokens").to_pylist()
    return [
        JudgeResult(tuple(p), m, None, prompt_tokens=t, cached_tokens=c)
        for p, m, t, c in zip(probs, mass, prompt, cached, strict=True)
    ]


def per_row(items: pa.Array, row_of_item: np.ndarray, rows: int) -> pa.ListArray:
    """`items` as a list per row (row i gets the items whose row_of_item is i, in order)."""
    order = np.argsort(row_of_item, kind="stable")
    counts = np.bincount(row_of_item, minlength=rows) if len(row_of_item) else np.zeros(rows)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), items.take(pa.array(order)))


def prior_by_row(ids: pa.Array, prior: pa.Table) -> pa.ListArray:
    """Each row's earlier judgments (`prior`: id + RESULT_FIELDS), found by id; an empty list
    for a row the earlier run did not judge."""
    row = pc.index_in(prior[ID], value_set=ids)
    found = np.flatnonzero(row.is_valid().to_numpy(zero_copy_only=False))
    items = pa.StructArray.from_arrays(
        [prior[f.name].combine_chunks() for f in RESULT_FIELDS], fields=RESULT_FIELDS
    )
    rows = row.take(pa.array(found)).to_numpy(zero_copy_only=False).astype(np.int64)
    return per_row(items.take(pa.array(found)), rows, len(ids))


def recorded_table(
    block: pa.Table, columns: Sequence[str], id_col: str, extra: Sequence[str] = ()
) -> pa.Table:
    """The block's judgments (from every judge's column) as recorded rows: each with its row's
    id, and the row's `extra` columns (what the writer splits the block by)."""
    carried = [c for c in extra if c in block.column_names]
    tables = []
    for column in columns:
        if column not in block.column_names:
            continue
        lists = block[column].combine_chunks()
        parents = pc.list_parent_indices(lists)
        tables.append(
            pa.Table.from_arrays(
                [
                    block[id_col].take(parents),
                    *lists.flatten().flatten(),
                    *(block[c].take(parents) for c in carried),
                ],
                names=[*RECORD_NAMES, *carried],
            )
        )
    if tables:
        return pa.concat_tables(tables)
    fields = [pa.field(ID, block[id_col].type), *JUDGMENT_TYPE]
    return pa.schema([*fields, *(block.schema.field(c) for c in carried)]).empty_table()
