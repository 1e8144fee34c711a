"""Every run records its judgments, fresh and reused, so the next run can reuse them: the write
step writes a part's judgments next to it in the work folder (first, under the part's name, so
a part exists only with them), and the commit moves them into RUN/judgments/, as scores/.
Each judgments part carries its reuse counts in its footer: the commit adds those up, reading
no id (a row's judgments, from every judge, sit in one part, so its distinct counts add)."""

from __future__ import annotations

import json
import posixpath
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.attempt import Run
from pipeline.incremental.earlier_run import JUDGMENTS
from pipeline.incremental.judgments import ID, JUDGMENT_TYPE
from pipeline.storage.parts import SUMMARY_KEY, Part, list_parts
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

    requests_reused: int = 0
    rows_reused: int = 0  # rows with at least one reused judgment
    prompt_tokens_reused: int = 0  # the reused judgments' prompts: not sent to the judge
    cached_prompt_tokens_reused: int = 0

    def __add__(self, other: Recorded) -> Recorded:
        return Recorded(*(a + b for a, b in zip(_values(self), _values(other), strict=True)))


RECORDED_FIELDS = tuple(Recorded.__dataclass_fields__)


def _values(recorded: Recorded) -> list[int]:
    return list(asdict(recorded).values())


def reuse_counts(judgments: pa.Table) -> Recorded:
    """What one part's judgments (the recorded table: id + JUDGMENT_TYPE) reused."""
    reused = judgments.filter(pc.field("reused"))
    if not reused.num_rows:
        return Recorded()
    return Recorded(
        requests_reused=reused.num_rows,
        rows_reused=int(pc.count_distinct(reused[ID]).as_py()),
        prompt_tokens_reused=int(pc.sum(reused["prompt_tokens"]).as_py() or 0),
        cached_prompt_tokens_reused=int(pc.sum(reused["cached_tokens"]).as_py() or 0),
    )


def footer(recorded: Recorded) -> dict[str, Any]:
    """The counts as a judgments part's footer holds them (storage.parts.write_atomically)."""
    return asdict(recorded)


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
    recorded = recorded_in(staged, run.run_dir.arrow_fs)
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


def recorded_in(folder: str, filesystem: Any) -> Recorded:
    """The counts of the judgments parts in `folder`, added up from their footers."""
    parts = list_parts(folder, filesystem)
    return sum((_part_counts(part, filesystem) for part in parts), Recorded())


def _part_counts(part: Part, filesystem: Any) -> Recorded:
    """A part's counts from its footer; one written without them is read (its ids only)."""
    metadata = pq.read_schema(part.path, filesystem=filesystem).metadata or {}
    if SUMMARY_KEY in metadata:
        return Recorded(**json.loads(metadata[SUMMARY_KEY]))
    dataset = pads.dataset(part.path, filesystem=filesystem, format="parquet")
    columns = [ID, "reused", "prompt_tokens", "cached_tokens"]
    return reuse_counts(dataset.to_table(columns=columns))
