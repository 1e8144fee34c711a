"""The reduce stage: cross-sample scorers over the whole dataset, each giving (id, key struct).

uniqueness and near_duplicates run distributed (hash / band-bucket group-bys in Ray Data);
python_all_samples runs in one Ray task that reads only the columns its samples hold, in
dataset order (files in name order, rows in file order).
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
from scorers.cross_sample.near_duplicates import NEAR_DUP_TYPE, band_buckets, clusters
from scorers.cross_sample.python_batch import run_python_scorer
from scorers.cross_sample.spec import NearDuplicatesSpec, PythonAllSamplesSpec, UniquenessSpec
from scorers.cross_sample.uniqueness import HASH_COLUMN, UNIQUENESS_TYPE, label_group, text_hashes

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
    struct_type: pa.DataType | None


def cross_sample_results(
    spec: JobSpec, source: InputSource, judged: tuple[str, Any] | None
) -> list[CrossSampleResult]:
    """Plan (and for python scorers, run) every cross-sample scorer of the spec."""
    results = []
    for scorer in spec.cross_sample_scorers():
        if isinstance(scorer, UniquenessSpec):
            results.append(_uniqueness(scorer, spec, source))
        elif isinstance(scorer, NearDuplicatesSpec):
            results.append(_near_duplicates(scorer, spec, source))
        else:
            results.append(_python_all_samples(scorer, spec, source, judged))
    return results


def _read(source: InputSource, columns: list[str]) -> Any:
    """The input's columns in enough blocks to keep every CPU of the cluster busy."""
    import ray

    cpus = int(ray.cluster_resources().get("CPU", 1))
    blocks = max(2 * cpus, -(-source.num_rows // ROWS_PER_BLOCK))
    return ray.data.read_parquet(
        list(source.files),
        filesystem=source.filesystem,
        columns=columns,
        override_num_blocks=blocks,
    )


def _shared_keys(dataset: Any, keys: list[str], id_col: str) -> dict[tuple[Any, ...], Any]:
    """Key -> smallest id, for keys that more than one row has (a vectorised group-by).

    Only the shared keys come back to the driver: their number grows with the duplicates,
    not with the corpus.
    """
    from ray.data.aggregate import Count, Min

    def shared_only(batch: pa.Table) -> pa.Table:
        return batch.filter(pc.greater(batch["n"], 1))

    rows = (
        dataset.groupby(keys, num_partitions=shuffle_partitions(dataset.count()))
        .aggregate(Count(alias_name="n"), Min(id_col, alias_name="first"))
        .map_batches(shared_only, batch_format="pyarrow")
        .take_all()
    )
    return {tuple(r[k] for k in keys): (r["first"], r["n"]) for r in rows if r[keys[0]] is not None}


def _uniqueness(scorer: UniquenessSpec, spec: JobSpec, source: InputSource) -> CrossSampleResult:
    id_col = spec.input.id_column

    def add_hash(batch: pa.Table) -> pa.Table:
        hashes = text_hashes(batch[scorer.column].to_pylist(), scorer)
        return pa.table({id_col: batch[id_col], HASH_COLUMN: pa.array(hashes, pa.string())})

    hashed = _read(source, [id_col, scorer.column]).map_batches(add_hash, batch_format="pyarrow")
    hashed = hashed.materialize()
    shared = {key[0]: n for key, (_, n) in _shared_keys(hashed, [HASH_COLUMN], id_col).items()}

    def label(batch: pa.Table) -> pa.Table:
        labels = [label_group(shared.get(h, 1), h) for h in batch[HASH_COLUMN].to_pylist()]
        return pa.table({id_col: batch[id_col], scorer.key: pa.array(labels, UNIQUENESS_TYPE)})

    dataset = hashed.map_batches(label, batch_format="pyarrow")
    return CrossSampleResult(scorer.key, dataset, None, UNIQUENESS_TYPE)


def _near_duplicates(
    scorer: NearDuplicatesSpec, spec: JobSpec, source: InputSource
) -> CrossSampleResult:
    import ray

    id_col = spec.input.id_column

    def to_buckets(batch: pa.Table) -> pa.Table:
        ids, bands, buckets = [], [], []
        for row_id, row_buckets in zip(
            batch[id_col].to_pylist(),
            band_buckets(batch[scorer.column].to_pylist(), scorer),
            strict=True,
        ):
            for band, bucket in enumerate(row_buckets or []):
                ids.append(row_id)
                bands.append(band)
                buckets.append(bucket)
        return pa.table(
            {
                id_col: pa.array(ids, batch.schema.field(id_col).type),
                "band": pa.array(bands, pa.int32()),
                "bucket": pa.array(buckets, pa.int64()),
            }
        )

    buckets = _read(source, [id_col, scorer.column]).map_batches(to_buckets, batch_format="pyarrow")
    buckets = buckets.materialize()
    shared = _shared_keys(buckets, ["band", "bucket"], id_col)

    def edges(batch: pa.Table) -> pa.Table:
        pairs = [
            (str(shared[(band, bucket)][0]), str(row_id))
            for row_id, band, bucket in zip(
                batch[id_col].to_pylist(),
                batch["band"].to_pylist(),
                batch["bucket"].to_pylist(),
                strict=True,
            )
            if (band, bucket) in shared and shared[(band, bucket)][0] != row_id
        ]
        return pa.table(
            {
                "a": pa.array([a for a, _ in pairs], pa.string()),
                "b": pa.array([b for _, b in pairs], pa.string()),
            }
        )

    found = buckets.map_batches(edges, batch_format="pyarrow").take_all() if shared else []
    cluster_of = clusters((e["a"], e["b"]) for e in found)
    id_type = source.schema.field(id_col).type
    members = sorted(cluster_of)
    table = pa.table(
        {
            id_col: pa.array([_parse_id(m, id_type) for m in members], id_type),
            scorer.key: pa.array(
                [{"near_dup_cluster": cluster_of[m], "is_near_duplicate": True} for m in members],
                NEAR_DUP_TYPE,
            ),
        }
    )
    default = {"near_dup_cluster": None, "is_near_duplicate": False}
    return CrossSampleResult(scorer.key, ray.data.from_arrow(table), default, NEAR_DUP_TYPE)


def _parse_id(text: str, id_type: pa.DataType) -> Any:
    return int(text) if pa.types.is_integer(id_type) else text


def _python_all_samples(
    scorer: PythonAllSamplesSpec,
    spec: JobSpec,
    source: InputSource,
    judged: tuple[str, Any] | None,
) -> CrossSampleResult:
    import ray

    judged_keys = [s.key for s in spec.judged_scorers()]
    wanted = scorer.columns or [*source.schema.names, *judged_keys]
    input_cols = [c for c in wanted if c not in judged_keys]
    score_cols = [c for c in wanted if c in judged_keys]
    task = ray.remote(num_cpus=1)(python_scorer_task)
    table = ray.get(
        task.remote(scorer, spec.input.id_column, source, input_cols, score_cols, judged)
    )
    return CrossSampleResult(scorer.key, ray.data.from_arrow(table), None, None)


def python_scorer_task(
    scorer: PythonAllSamplesSpec,
    id_col: str,
    source: InputSource,
    input_cols: Sequence[str],
    score_cols: Sequence[str],
    judged: tuple[str, Any] | None,
) -> pa.Table:
    """Read the samples in dataset order, call compute_scores once, return (id, key)."""
    read_cols = list(dict.fromkeys([id_col, *input_cols]))
    samples_table = pa.concat_tables(
        pq.read_table(path, columns=read_cols, filesystem=source.filesystem)
        for path in source.files
    )
    if score_cols and judged is not None:
        path, filesystem = judged
        scores = pq.read_table(path, columns=[id_col, *score_cols], filesystem=filesystem)
        samples_table = _join_in_order(samples_table, scores, id_col)
    ids = samples_table[id_col]
    samples = samples_table.select([*input_cols, *score_cols]).to_pylist()
    try:
        column = run_python_scorer(scorer, samples)
        errors = pa.nulls(len(samples), pa.string())
    except Exception as exc:
        message = f"{scorer.key}: compute_scores failed: {type(exc).__name__}: {exc}"
        column = pa.array(
            [{"unscored_reason": message}] * len(samples),
            pa.struct([("unscored_reason", pa.string())]),
        )
        errors = pa.array([message] * len(samples), pa.string())
    return pa.table({id_col: ids, scorer.key: column, ERROR_PREFIX + scorer.key: errors})


def _join_in_order(left: pa.Table, right: pa.Table, id_col: str) -> pa.Table:
    """right's columns appended to left by id, in left's order (Arrow joins skip structs)."""
    position = {value: i for i, value in enumerate(right[id_col].to_pylist())}
    take = pa.array([position.get(v) for v in left[id_col].to_pylist()], pa.int64())
    for name in right.column_names:
        if name != id_col:
            left = left.append_column(name, right[name].take(take))
    return left
