"""The prestage of an incremental run, on the cluster: the earlier run's judgments joined with
this run's input by id (a Ray Data hash join), written per shard of the input into the work
folder, where the read step finds each shard's (pipeline.stages.read_shards). Rows that left
the corpus find no partner and are dropped by the join. The output counts as done only with
its marker (which earlier run, by URI and run_id, and the rows matched), so a resumed run
does not match again. The rows matched are counted on the cluster, a task per shard folder
(an id lives in one shard): no id comes to the driver."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs

from pipeline.attempt import Run
from pipeline.incremental.judgments import ID, RESULT_FIELDS
from pipeline.incremental.prior import PriorJudgments
from pipeline.stages.read_shards import SHARD_COLUMN, read_dataset, shards_to_read
from pipeline.storage.run_dir import WORK
from pipeline.storage.shard_plan import plan_shards

PRIOR = f"{WORK}/prior"
MARKER = "_matched.json"
SHARDS_PER_PARTITION = 4
MAX_PARTITIONS = 64


def match_prior(run: Run) -> PriorJudgments:
    """The earlier run's judgments of this input's rows, per shard, in the work folder."""
    fs = run.run_dir.arrow_fs
    earlier = run.earlier
    if earlier is None or earlier.nothing_reused_because is not None:
        return PriorJudgments(None, fs)
    folder = run.run_dir.join(PRIOR)
    marker = f"{PRIOR}/{MARKER}"
    matched_with = {"from": earlier.uri, "from_run_id": earlier.run_id}
    if run.run_dir.fs.exists(run.run_dir.join(marker)):
        done = run.run_dir.read_json(marker)
        if all(done.get(key) == value for key, value in matched_with.items()):
            return PriorJudgments(folder, fs, int(done["rows_matched"]))
    run.run_dir.remove(folder)  # cut off, or matched against another earlier run
    rows_matched = _join(run, folder)
    run.run_dir.write_json(marker, {**matched_with, "rows_matched": rows_matched})
    return PriorJudgments(folder, fs, rows_matched)


def _join(run: Run, folder: str) -> int:
    import ray

    assert run.earlier is not None
    id_col = run.spec.input.id_column
    shards = plan_shards(run.source.files, run.source.filesystem, run.spec.output.shard_mib)
    ids = read_dataset(shards_to_read(shards, []), run.source.filesystem, [id_col], id_col)
    if id_col != ID:
        ids = ids.rename_columns({id_col: ID})
    earlier = ray.data.read_parquet(
        run.earlier.judgments, filesystem=run.earlier.run_dir.arrow_fs, file_extensions=["parquet"]
    ).select_columns([ID, *(f.name for f in RESULT_FIELDS)])
    partitions = max(1, min(MAX_PARTITIONS, len(shards) // SHARDS_PER_PARTITION))
    matched = earlier.join(ids, join_type="inner", num_partitions=partitions, on=(ID,))
    matched.write_parquet(folder, partition_cols=[SHARD_COLUMN], filesystem=run.run_dir.arrow_fs)
    return _rows_matched(folder, run.run_dir.arrow_fs)


def _rows_matched(folder: str, filesystem: Any) -> int:
    import ray

    selector = pafs.FileSelector(folder, allow_not_found=True)
    shards = [
        {"folder": info.path}
        for info in filesystem.get_file_info(selector)
        if info.type == pafs.FileType.Directory
    ]
    if not shards:
        return 0
    counted = ray.data.from_items(shards).map(
        lambda shard: {"ids": ids_in_shard(shard["folder"], filesystem)}
    )
    return int(counted.sum("ids") or 0)


def ids_in_shard(folder: str, filesystem: Any) -> int:
    """The distinct ids in one shard's folder of matched judgments."""
    # listed: the shard folders' names start with "_", which a dataset's discovery skips
    selector = pafs.FileSelector(folder, allow_not_found=True, recursive=True)
    files = [
        info.path
        for info in filesystem.get_file_info(selector)
        if info.type == pafs.FileType.File and info.path.endswith(".parquet")
    ]
    if not files:
        return 0
    found = pads.dataset(files, filesystem=filesystem, format="parquet")
    return int(pc.count_distinct(found.to_table(columns=[ID])[ID]).as_py())
