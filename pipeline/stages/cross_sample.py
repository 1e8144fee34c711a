"""The reduce stage: every cross-sample scorer over the whole dataset, each giving the
(id, key) rows that do not take its default, and `attach_cross_sample` to put them on a block.

The pipeline runs a scorer's steps without knowing its kind: a grouped scorer's per-block
map, hash partitions, shared keys (compared exactly where it asks), labels and combine in Ray
tasks (Arrow and Polars inside; no dataset passes through the driver); a whole-dataset scorer
in one Ray task that reads its samples in dataset order (files in name order, rows in file
order).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.plan import Plan
from pipeline.source import InputSource
from scorers.cross_sample.steps import (
    FIRST_ID,
    GROUP_ROWS,
    Combine,
    GroupedScorer,
    WholeDatasetScorer,
)
from scorers.grouped_shape.finish_block_adapter import grouped
from scorers.grouped_shape.partitions import hash_partitions, shared_rows, split_by
from scorers.registry import GroupedKind, WholeDatasetKind, kind_of
from scorers.scorer_spec import ScorerSpec

ERROR_PREFIX = "__error__"
BLOCK_COLUMN = "__block"
ROWS_PER_SHUFFLE_PARTITION = 250_000
ROWS_PER_BLOCK = 250_000


def shuffle_partitions(rows: int) -> int:
    """Hash partitions of a grouped scorer's keyed rows: enough to bound each one's memory."""
    return max(1, -(-rows // ROWS_PER_SHUFFLE_PARTITION))


@dataclass(frozen=True)
class CrossSampleResult:
    """(id, key[, __error__key]) rows for every row that does not take `default`: a grouped
    scorer's rows in shared groups, a whole-dataset scorer's every row (default None)."""

    key: str
    table: pa.Table
    default: dict[str, Any] | None
    struct_type: pa.DataType


@dataclass(frozen=True)
class JudgedRows:
    """The judge stage's committed shards, and the judged scorers' keys."""

    files: tuple[str, ...]
    filesystem: Any  # pyarrow FileSystem
    keys: tuple[str, ...]


@dataclass(frozen=True)
class InputBlock:
    """Consecutive row groups of one input file: what one map task reads."""

    path: str
    row_groups: tuple[int, ...]


def cross_sample_results(
    plan: Plan,
    source: InputSource,
    judged: JudgedRows,
    scorers: Sequence[ScorerSpec] | None = None,
) -> list[CrossSampleResult]:
    """Run `scorers` (the spec's cross-sample ones) on the cluster."""
    id_col = plan.spec.input.id_column
    results = []
    for scorer_spec in plan.cross_sample if scorers is None else scorers:
        kind = kind_of(scorer_spec)
        if isinstance(kind, GroupedKind):
            results.append(run_grouped(grouped(kind.build(scorer_spec)), id_col, source))
        elif isinstance(kind, WholeDatasetKind):
            results.append(run_whole_dataset(kind.build(scorer_spec), id_col, source, judged))
        else:
            raise TypeError(
                f"scorer {scorer_spec.key!r}: {type(kind).__name__} is not cross-sample"
            )
    return results


def attach_cross_sample(
    block: pa.Table, results: Sequence[CrossSampleResult], id_col: str
) -> pa.Table:
    """`block` with each result's key column appended (rows absent from its table take its
    `default`) and its `__error__<key>` column where it has one: a vectorised lookup by id."""
    ids = block[id_col]
    for result in results:
        table = result.table
        found = pc.index_in(ids, value_set=table[id_col].combine_chunks().cast(ids.type))
        column = table[result.key].combine_chunks().cast(result.struct_type).take(found)
        if result.default is not None:
            column = pc.fill_null(column, pa.scalar(result.default, result.struct_type))
        block = block.append_column(result.key, column)
        error = ERROR_PREFIX + result.key
        if error in table.column_names:
            block = block.append_column(error, table[error].combine_chunks().take(found))
    return block


def run_grouped(scorer: GroupedScorer, id_col: str, source: InputSource) -> CrossSampleResult:
    """Map each input block to keyed rows, hash-partition them, keep per partition the rows
    whose key is shared (compared exactly again where the scorer asks), label those: all in
    Ray tasks. Only the labelled rows come back to the driver."""
    import ray

    blocks = input_blocks(source, ROWS_PER_BLOCK)
    partitions = shuffle_partitions(source.num_rows)
    keyed = [
        _refs(keyed_task, partitions, scorer, block, n, id_col, source.filesystem, partitions)
        for n, block in enumerate(blocks)
    ]
    on = list(scorer.group_on)
    if scorer.exact is not None:
        kept = [
            _refs(kept_task, len(blocks), on, id_col, len(blocks), *(k[p] for k in keyed))
            for p in range(partitions)
        ]
        compared = [
            _refs(
                exact_task,
                partitions,
                scorer,
                block,
                id_col,
                source,
                partitions,
                *(k[n] for k in kept),
            )
            for n, block in enumerate(blocks)
        ]
        keyed, on = compared, [*on, *_exact_columns(scorer, source, id_col)]
    labelled = [
        _remote(label_task).remote(scorer, on, id_col, *(k[p] for k in keyed))
        for p in range(partitions)
    ]
    if scorer.combine is not None:
        id_type = source.schema.field(id_col).type
        labelled = [_remote(combine_task).remote(scorer.combine, id_col, id_type, *labelled)]
    table = pa.concat_tables(ray.get(labelled), promote_options="permissive")
    return CrossSampleResult(scorer.key, table, scorer.default, scorer.output_type)


def _refs(task: Callable[..., Any], count: int, *args: Any) -> list[Any]:
    """Run `task` as a Ray task with `count` returns: always a list of refs."""
    refs = _remote(task).options(num_returns=count).remote(*args)
    return list(refs) if count > 1 else [refs]


@functools.cache
def _remote(task: Callable[..., Any]) -> Any:
    """`task` as a Ray remote function, made once per process."""
    import ray

    return ray.remote(task)


def _one_or_many(tables: list[pa.Table]) -> pa.Table | tuple[pa.Table, ...]:
    return tables[0] if len(tables) == 1 else tuple(tables)


def input_blocks(source: InputSource, rows_per_block: int) -> list[InputBlock]:
    """The input's row groups, gathered per file into blocks of about `rows_per_block` rows."""
    blocks = []
    for path in source.files:
        metadata = pq.read_metadata(path, filesystem=source.filesystem)
        group: list[int] = []
        rows = 0
        for n in range(metadata.num_row_groups):
            group.append(n)
            rows += metadata.row_group(n).num_rows
            if rows >= rows_per_block:
                blocks.append(InputBlock(path, tuple(group)))
                group, rows = [], 0
        if group or not blocks or blocks[-1].path != path:
            blocks.append(InputBlock(path, tuple(group)))
    return blocks


def read_block(block: InputBlock, columns: Sequence[str], filesystem: Any) -> pa.Table:
    with filesystem.open_input_file(block.path) as file:
        return pq.ParquetFile(file).read_row_groups(
            list(block.row_groups), columns=list(dict.fromkeys(columns))
        )


def keyed_task(
    scorer: GroupedScorer, block: InputBlock, n: int, id_col: str, filesystem: Any, parts: int
) -> pa.Table | tuple[pa.Table, ...]:
    """One block's keyed rows, tagged with the block's number, in hash partitions."""
    batch = read_block(block, [id_col, *scorer.read_columns], filesystem)
    keyed = scorer.map_block(batch, id_col)
    keyed = keyed.append_column(BLOCK_COLUMN, pa.array(np.full(keyed.num_rows, n, np.int32)))
    return _one_or_many(hash_partitions(keyed, scorer.group_on, parts))


def kept_task(
    on: Sequence[str], id_col: str, blocks: int, *parts: pa.Table
) -> pa.Table | tuple[pa.Table, ...]:
    """One partition's rows whose key is shared, split by the block they came from."""
    kept = shared_rows(parts, on, id_col).drop_columns([GROUP_ROWS, FIRST_ID])
    return _one_or_many(split_by(kept, kept[BLOCK_COLUMN].to_numpy(), blocks))


def exact_task(
    scorer: GroupedScorer,
    block: InputBlock,
    id_col: str,
    source: InputSource,
    parts: int,
    *kept: pa.Table,
) -> pa.Table | tuple[pa.Table, ...]:
    """One block's kept rows with the columns `scorer.exact` compares, read again from the
    block (only when it has such rows), in the same hash partitions as before."""
    assert scorer.exact is not None
    rows = pa.concat_tables(kept, promote_options="permissive")
    columns = [id_col, *scorer.read_columns]
    batch = (
        read_block(block, columns, source.filesystem)
        if rows.num_rows
        else source.schema.empty_table().select(list(dict.fromkeys(columns)))
    )
    batch = batch.filter(pc.is_in(batch[id_col], value_set=rows[id_col].combine_chunks()))
    compared = scorer.exact(batch)
    at = pc.index_in(rows[id_col], value_set=batch[id_col].combine_chunks())
    for name in compared.column_names:
        rows = rows.append_column(name, compared[name].take(at))
    return _one_or_many(hash_partitions(rows, scorer.group_on, parts))


def _exact_columns(scorer: GroupedScorer, source: InputSource, id_col: str) -> list[str]:
    """The names of the columns `scorer.exact` gives (called on no rows)."""
    assert scorer.exact is not None
    empty = source.schema.empty_table().select(list(dict.fromkeys([id_col, *scorer.read_columns])))
    names: list[str] = scorer.exact(empty).column_names
    return names


def label_task(scorer: GroupedScorer, on: Sequence[str], id_col: str, *parts: pa.Table) -> pa.Table:
    """One partition's rows in shared groups, labelled by the scorer."""
    return scorer.label_shared(shared_rows(parts, on, id_col), id_col)


def combine_task(
    combine: Combine, id_col: str, id_type: pa.DataType, *labelled: pa.Table
) -> pa.Table:
    return combine([t for t in labelled if t.num_rows], id_col, id_type)


def run_whole_dataset(
    scorer: WholeDatasetScorer, id_col: str, source: InputSource, judged: JudgedRows
) -> CrossSampleResult:
    import ray

    wanted = scorer.sample_columns(source.schema.names, judged.keys)
    input_cols = [c for c in wanted if c not in judged.keys]
    score_cols = [c for c in wanted if c in judged.keys]
    task = ray.remote(num_cpus=1)(whole_dataset_task)
    table = ray.get(task.remote(scorer, id_col, source, input_cols, score_cols, judged))
    struct_type = table.schema.field(scorer.key).type
    return CrossSampleResult(scorer.key, table, None, struct_type)


def whole_dataset_task(
    scorer: WholeDatasetScorer,
    id_col: str,
    source: InputSource,
    input_cols: Sequence[str],
    score_cols: Sequence[str],
    judged: JudgedRows,
) -> pa.Table:
    """Read the samples in dataset order, score them in one call, return (id, key, error)."""
    read_cols = list(dict.fromkeys([id_col, *input_cols]))
    samples_table = pa.concat_tables(
        pq.read_table(path, columns=read_cols, filesystem=source.filesystem)
        for path in source.files
    )
    if score_cols:
        scores = pq.ParquetDataset(list(judged.files), filesystem=judged.filesystem).read(
            columns=[id_col, *score_cols]
        )
        samples_table = _join_in_order(samples_table, scores, id_col)
    samples = samples_table.select([*input_cols, *score_cols]).to_pylist()
    column, errors = scorer.score_samples(samples)
    return pa.table(
        {id_col: samples_table[id_col], scorer.key: column, ERROR_PREFIX + scorer.key: errors}
    )


def _join_in_order(left: pa.Table, right: pa.Table, id_col: str) -> pa.Table:
    """right's columns appended to left by id, in left's order (Arrow joins skip structs)."""
    position = {value: i for i, value in enumerate(right[id_col].to_pylist())}
    take = pa.array([position.get(v) for v in left[id_col].to_pylist()], pa.int64())
    for name in right.column_names:
        if name != id_col:
            left = left.append_column(name, right[name].take(take))
    return left
