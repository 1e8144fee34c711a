"""The prestage of an incremental run, on the cluster: the earlier run's judgments joined with
this run's input by id (a Ray Data hash join), written per shard of the input into the work
folder, where the read step finds each shard's (pipeline.stages.read_shards). Rows that left
the corpus find no partner and are dropped by the join. The output counts as done only with
its marker, so a resumed run does not match again."""

from __future__ import annotations

import pyarrow.compute as pc
import pyarrow.dataset as pads

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
    if run.run_dir.fs.exists(run.run_dir.join(marker)):
        done = run.run_dir.read_json(marker)
        if done.get("from") == earlier.uri:
            return PriorJudgments(folder, fs, int(done["rows_matched"]))
    run.run_dir.remove(folder)  # cut off, or matched against another earlier run
    rows_matched = _join(run, folder)
    run.run_dir.write_json(marker, {"from": earlier.uri, "rows_matched": rows_matched})
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
    if not run.run_dir.fs.exists(folder):
        return 0
    # listed: the shard folders' names start with "_", which a dataset's discovery skips
    files = [f for f in run.run_dir.fs.find(folder) if f.endswith(".parquet")]
    found = pads.dataset(files, filesystem=run.run_dir.arrow_fs, format="parquet")
    return int(pc.count_distinct(found.to_table(columns=[ID])[ID]).as_py())
