"""The reduce stage: every cross-sample scorer over the whole dataset, each giving (id, key).

The pipeline runs a scorer's steps without knowing its kind: a grouped scorer's per-block
map, distributed group-by, finish and combine on Ray Data; a whole-dataset scorer in one Ray
task that reads its samples in dataset order (files in name order, rows in file order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.source import InputSource
from pipeline.spec import JobSpec
from scorers.cross_sample.steps import GroupedScorer, SharedGroups, WholeDatasetScorer
from scorers.registry import GroupedKind, WholeDatasetKind, kind_of
from scorers.scorer_spec import ScorerSpec

ERROR_PREFIX = "__error__"
ROWS_PER_SHUFFLE_PARTITION = 250_000
ROWS_PER_BLOCK = 50_000


def shuffle_partitions(rows: int) -> int:
    """Hash-shuffle partitions for a group-by or join: enough to bound each one's memory."""
    return max(1, -(-rows // ROWS_PER_SHUFFLE_PARTITION))


@dataclass(frozen=True)
class CrossSampleResult:
    """A dataset of (id, key[, __error__key]) rows; ids missing from it take `default`."""

    key: str
    dataset: Any  # ray.data.Dataset
    default: dict[str, Any] | None
    struct_type: pa.DataType


@dataclass(frozen=True)
class JudgedRows:
    """The judge stage's committed shards, and the judged scorers' keys."""

    files: tuple[str, ...]
    filesystem: Any  # pyarrow FileSystem
    keys: tuple[str, ...]


def cross_sample_results(
    spec: JobSpec,
    source: InputSource,
    judged: JudgedRows,
    scorers: Sequence[ScorerSpec] | None = None,
) -> list[CrossSampleResult]:
    """Plan (and for whole-dataset scorers, run) `scorers` (the spec's cross-sample ones)."""
    id_col = spec.input.id_column
    results = []
    for scorer_spec in spec.cross_sample_scorers() if scorers is None else scorers:
        kind = kind_of(scorer_spec)
        if isinstance(kind, GroupedKind):
            results.append(run_grouped(kind.build(scorer_spec), id_col, source))
        elif isinstance(kind, WholeDatasetKind):
            results.append(run_whole_dataset(kind.build(scorer_spec), id_col, source, judged))
        else:
            raise TypeError(
                f"scorer {scorer_spec.key!r}: {type(kind).__name__} is not cross-sample"
            )
    return results


def run_grouped(scorer: GroupedScorer, id_col: str, source: InputSource) -> CrossSampleResult:
    import ray

    keyed = (
        _read(source, [id_col, *scorer.read_columns])
        .map_batches(scorer.map_block, fn_kwargs={"id_col": id_col}, batch_format="pyarrow")
        .materialize()
    )
    shared = shared_groups(keyed, scorer.group_on, id_col)
    finished = keyed.map_batches(
        scorer.finish_block,
        fn_kwargs={"shared": shared, "id_col": id_col},
        batch_format="pyarrow",
    )
    if scorer.combine is not None:
        # With no shared key there is nothing to combine: every row takes the default.
        blocks = ray.get(finished.to_arrow_refs()) if shared else []
        tables = [t for t in blocks if t.num_rows]
        id_type = source.schema.field(id_col).type
        finished = ray.data.from_arrow(scorer.combine(tables, id_col, id_type))
    return CrossSampleResult(scorer.key, finished, scorer.default, scorer.output_type)


def shared_groups(dataset: Any, keys: Sequence[str], id_col: str) -> SharedGroups:
    """Key -> (smallest id, rows), for keys that more than one row has (a vectorised
    group-by). Only the shared keys come back to the driver: their number grows with the
    duplicates, not with the corpus."""
    from ray.data.aggregate import Count, Min

    def shared_only(batch: pa.Table) -> pa.Table:
        return batch.filter(pc.greater(batch["n"], 1))

    rows = (
        dataset.groupby(list(keys), num_partitions=shuffle_partitions(dataset.count()))
        .aggregate(Count(alias_name="n"), Min(id_col, alias_name="first"))
        .map_batches(shared_only, batch_format="pyarrow")
        .take_all()
    )
    return {tuple(r[k] for k in keys): (r["first"], r["n"]) for r in rows if r[keys[0]] is not None}


def _read(source: InputSource, columns: list[str]) -> Any:
    """The input's columns in enough blocks to keep every CPU of the cluster busy."""
    import ray

    cpus = int(ray.cluster_resources().get("CPU", 1))
    blocks = max(2 * cpus, -(-source.num_rows // ROWS_PER_BLOCK))
    return ray.data.read_parquet(
        list(source.files),
        filesystem=source.filesystem,
        columns=list(dict.fromkeys(columns)),
        override_num_blocks=blocks,
    )


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
    return CrossSampleResult(scorer.key, ray.data.from_arrow(table), None, struct_type)


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
