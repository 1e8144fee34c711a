"""Every run records its judgments, fresh and reused, so the next run can reuse them: the write
step writes a part's judgments next to it in the work folder (first, under the part's name, so
a part exists only with them), and the commit moves them into RUN/judgments/, as scores/."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs

from pipeline.attempt import Run
from pipeline.incremental.earlier_run import JUDGMENTS
from pipeline.incremental.judgments import ID, JUDGMENT_TYPE
from pipeline.storage.parts import list_parts
from pipeline.storage.run_dir import WORK

JUDGMENTS_WORK = f"{WORK}/{JUDGMENTS}"


def shard_judgments(recorded: pa.Table, shard_column: str, shard: int | None) -> pa.Table:
    """The recorded judgments of one shard's rows, without the shard column."""
    if shard_column not in recorded.column_names:
        return recorded
    rows = recorded if shard is None else recorded.filter(pc.equal(recorded[shard_column], shard))
    return rows.drop_columns([shard_column])


@dataclass(frozen=True)
class Recorded:
    """What the run's recorded judgments say: how many were reused, and of how many rows."""

    requests_reused: int
    rows_reused: int  # rows with at least one reused judgment


def commit_judgments(run: Run, parts_folder: str) -> Recorded:
    """The judgments of the parts in `parts_folder` moved into RUN/judgments/; those of a part
    an attempt never finished (its rows were judged again under another part) are dropped."""
    run_dir = run.run_dir
    staged, committed = run_dir.join(JUDGMENTS_WORK), run_dir.join(JUDGMENTS)
    if run_dir.fs.exists(committed) and not run_dir.fs.exists(staged):
        run_dir.commit_back(committed, staged)  # an earlier attempt's, cut off before the end
    _drop_unfinished(run, staged, parts_folder)
    id_type = run.source.schema.field(run.spec.input.id_column).type
    run_dir.ensure_table(staged, pa.schema([pa.field(ID, id_type), *JUDGMENT_TYPE]))
    recorded = _count(run, staged)
    run_dir.remove(committed)
    run_dir.commit(staged, JUDGMENTS)
    return recorded


def _drop_unfinished(run: Run, staged: str, parts_folder: str) -> None:
    fs = run.run_dir.arrow_fs
    parts = {posixpath.basename(p.path) for p in list_parts(parts_folder, fs)}
    for info in fs.get_file_info(pafs.FileSelector(staged, allow_not_found=True)):
        name = posixpath.basename(info.path)
        leftover = name.startswith(("_tmp-", "part-")) and name not in parts
        if info.type == pafs.FileType.File and leftover:
            fs.delete_file(info.path)


def _count(run: Run, folder: str) -> Recorded:
    dataset = pads.dataset(folder, filesystem=run.run_dir.arrow_fs, format="parquet")
    reused = dataset.to_table(columns=[ID], filter=pc.field("reused"))
    return Recorded(
        requests_reused=reused.num_rows,
        rows_reused=int(pc.count_distinct(reused[ID]).as_py()) if reused.num_rows else 0,
    )
