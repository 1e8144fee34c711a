"""Shards and parts, without Ray: the input cut into shards from Parquet metadata, parts
written once under names that say their shard and rows, and a resumed read that leaves out
exactly the rows an earlier attempt wrote."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.stages.read_shards import (
    SHARD_COLUMN,
    ShardToRead,
    read_row_group,
    shards_to_read,
)
from pipeline.stages.write_parts import PartWriter, write_block
from pipeline.storage.parts import list_parts, read_summaries, rows_by_shard
from pipeline.storage.shard_plan import plan_shards

FS = pafs.LocalFileSystem()


def input_file(tmp_path, rows=1000, row_group=400):
    path = str(tmp_path / "in.parquet")
    table = pa.table(
        {"id": [f"s{i:04d}" for i in range(rows)], "text": [f"{i:04d}" * 25 for i in range(rows)]}
    )
    pq.write_table(table, path, row_group_size=row_group)
    return path, table


def test_shards_cover_every_row_once_within_row_groups(tmp_path):
    path, table = input_file(tmp_path)
    shards = plan_shards([path], FS, shard_mib=0.01)  # ~100 rows of ~100 bytes
    assert [s.index for s in shards] == list(range(len(shards)))
    assert sum(s.rows for s in shards) == table.num_rows
    assert {s.row_group for s in shards} == {0, 1, 2}
    assert all(s.start + s.rows <= 400 for s in shards)
    assert plan_shards([path], FS, shard_mib=0.01) == shards  # every attempt cuts the same way


def test_a_part_is_written_once_and_a_killed_writers_temporary_file_is_none(tmp_path):
    folder = str(tmp_path / "parts")
    FS.create_dir(folder)
    block = pa.table({"id": ["a", "b", "c"], "error": [None, "bad", None], SHARD_COLUMN: [4, 4, 7]})
    writer = PartWriter(folder=folder, filesystem=FS, id_col="id", judged_keys=[])
    acks = write_block(block, writer)
    assert sorted(acks["rows"].to_pylist()) == [1, 2]
    assert sum(acks["errored"].to_pylist()) == 1
    write_block(block, writer)  # a retried task: the same files again
    (tmp_path / "parts" / "_tmp-1-part-000004-2-ab.parquet").write_bytes(b"PAR1 cut off")
    parts = list_parts(folder, FS)
    assert rows_by_shard(parts) == {4: 2, 7: 1}
    assert all(SHARD_COLUMN not in pq.read_schema(p.path).names for p in parts)


def test_a_resumed_read_leaves_out_exactly_the_rows_already_written(tmp_path):
    path, table = input_file(tmp_path)
    shards = plan_shards([path], FS, shard_mib=0.01)
    folder = str(tmp_path / "parts")
    FS.create_dir(folder)
    writer = PartWriter(folder=folder, filesystem=FS, id_col="id", judged_keys=[])
    first, second = shards[0], shards[1]
    done = table.slice(first.start, first.rows)  # the whole first shard
    half = table.slice(second.start, second.rows // 2)  # half of the second
    for rows, shard in ((done, first), (half, second)):
        block = rows.append_column("error", pa.nulls(rows.num_rows, pa.string()))
        write_block(
            block.append_column(SHARD_COLUMN, pa.repeat(shard.index, rows.num_rows)), writer
        )
    todo = shards_to_read(shards, list_parts(folder, FS))
    assert [t.shard.index for t in todo] == [s.index for s in shards[1:]]
    assert first.row_group == second.row_group == 0
    first_group = [t for t in todo if t.shard.row_group == 0]
    blocks = list(read_row_group(first_group, FS, ["id", "text"], "id"))
    read_ids = [i for b in blocks for i in b["id"].to_pylist()]
    written = set(done["id"].to_pylist()) | set(half["id"].to_pylist())
    assert set(read_ids) == set(table.slice(0, 400)["id"].to_pylist()) - written
    assert {b[SHARD_COLUMN][0].as_py() for b in blocks} == {t.shard.index for t in first_group}
    assert len(read_ids) == len(set(read_ids))


def test_each_shard_read_holds_exactly_its_slice_of_the_row_group(tmp_path):
    path, table = input_file(tmp_path, rows=1000, row_group=1000)
    shards = plan_shards([path], FS, shard_mib=0.01)
    assert len(shards) > 4
    picked = [ShardToRead(s, ()) for s in shards if s.index not in (0, 2, 3)]  # gaps
    blocks = list(read_row_group(picked, FS, ["id", "text"], "id"))
    assert [b[SHARD_COLUMN][0].as_py() for b in blocks] == [t.shard.index for t in picked]
    for block, item in zip(blocks, picked, strict=True):
        expected = table.slice(item.shard.start, item.shard.rows)
        assert block.drop_columns([SHARD_COLUMN]).equals(expected)


def test_a_parts_summary_rides_in_its_footer(tmp_path):
    from pipeline.stages.write_parts import Finish

    folder = str(tmp_path / "scores")
    records = str(tmp_path / "records")
    FS.create_dir(folder)
    FS.create_dir(records)
    finish = Finish(
        cross_sample=(),
        error_columns=(),
        checks={},
        records=lambda t: pa.table({"sample_id": t["id"]}),
        records_folder=records,
        metrics=(),
    )
    writer = PartWriter(folder=folder, filesystem=FS, id_col="id", judged_keys=[], finish=finish)
    write_block(pa.table({"id": ["a", "b"], "error": [None, "x 12"]}), writer)
    (summary,) = read_summaries(list_parts(folder, FS), FS)
    assert summary["rows"] == 2 and summary["errored"] == 1 and summary["errors"] == {"x #": 1}
    assert [p.rows for p in list_parts(records, FS)] == [2]


def test_the_commit_drops_what_a_killed_writer_left(tmp_path):
    from types import SimpleNamespace

    from pipeline.stages.commit import drop_leftovers
    from pipeline.stages.scored_folders import ScoredFolders

    scores, records = tmp_path / "scores", tmp_path / "records"
    scores.mkdir()
    records.mkdir()
    table = pa.table({"id": ["a"]})
    for folder in (scores, records):
        pq.write_table(table, folder / "part-000001-1-aa.parquet")
    pq.write_table(table, records / "part-000002-1-bb.parquet")  # its rows part never came
    pq.write_table(table, records / "annotations.parquet")
    (scores / "_tmp-1-part-000003-1-cc.parquet").write_bytes(b"PAR1 cut off")
    run = SimpleNamespace(run_dir=SimpleNamespace(arrow_fs=FS))
    drop_leftovers(run, ScoredFolders(str(scores), str(records), {}))  # type: ignore[arg-type]
    assert sorted(p.name for p in scores.iterdir()) == ["part-000001-1-aa.parquet"]
    assert sorted(p.name for p in records.iterdir()) == [
        "annotations.parquet",
        "part-000001-1-aa.parquet",
    ]
