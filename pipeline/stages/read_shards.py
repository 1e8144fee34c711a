"""The read step: the input's shards that still have rows to score, one block per shard, each
row tagged with its shard's index. A complete shard is not read at all; of a shard that an
earlier attempt scored in part, the rows already in its parts are left out (their ids read
from those parts only: the cost is the shard's, not the committed rows')."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from pipeline.incremental.prior import PriorJudgments
from pipeline.storage.parts import Part, rows_by_shard
from pipeline.storage.shard_plan import Shard

SHARD_COLUMN = "__rayscore_shard"
READ_CPUS = 0.5


@dataclass(frozen=True)
class ShardToRead:
    shard: Shard
    committed_parts: tuple[str, ...]  # parts already holding some of its rows


def shards_to_read(shards: Sequence[Shard], parts: Sequence[Part]) -> list[ShardToRead]:
    """The shards with rows left to score (an incomplete shard with the parts it has)."""
    done = rows_by_shard(parts)
    partial: dict[int, list[str]] = {}
    for part in parts:
        if part.shard is not None:
            partial.setdefault(part.shard, []).append(part.path)
    return [
        ShardToRead(shard, tuple(partial.get(shard.index, ())))
        for shard in shards
        if done.get(shard.index, 0) < shard.rows
    ]


def read_dataset(
    todo: Sequence[ShardToRead],
    filesystem: Any,
    columns: Sequence[str],
    id_col: str,
    prior: PriorJudgments | None = None,
) -> Any:
    """A Ray Dataset of the rows left to score: one read task per row group; with `prior`
    (an incremental run), each row with its earlier judgments."""
    import ray

    groups: dict[tuple[str, int], list[ShardToRead]] = {}
    for item in todo:
        groups.setdefault((item.shard.file, item.shard.row_group), []).append(item)
    tasks = [{"shards": [asdict(s) for s in shards]} for shards in groups.values()]
    return ray.data.from_items(tasks, override_num_blocks=max(1, len(tasks))).map_batches(
        read_row_group_batch,
        fn_kwargs={
            "filesystem": filesystem,
            "columns": list(columns),
            "id_col": id_col,
            "prior": prior,
        },
        batch_size=1,
        batch_format="pyarrow",
        # Not 1 CPU like a judge actor: Ray Data would fuse the read into the actor's calls
        # (the judge would read, and get a whole row group per call).
        num_cpus=READ_CPUS,
    )


def read_row_group_batch(
    batch: pa.Table,
    filesystem: Any,
    columns: list[str],
    id_col: str,
    prior: PriorJudgments | None = None,
) -> Iterator[pa.Table]:
    """Ray Data adapter: the items of `batch` (each a row group's shards to read) -> blocks."""
    for item in batch["shards"].to_pylist():
        todo = [ShardToRead(Shard(**s["shard"]), tuple(s["committed_parts"])) for s in item]
        yield from read_row_group(todo, filesystem, columns, id_col, prior)


def read_row_group(
    todo: Sequence[ShardToRead],
    filesystem: Any,
    columns: list[str],
    id_col: str,
    prior: PriorJudgments | None = None,
) -> Iterator[pa.Table]:
    """One block per shard of one row group, with SHARD_COLUMN; committed rows left out.
    The row group is decoded a shard at a time, so a task holds about one shard however
    large the row group is."""
    for item, rows in _shard_slices(todo, filesystem, columns):
        if item.committed_parts:
            done = committed_ids(item, filesystem, id_col)
            rows = rows.filter(pc.invert(pc.is_in(rows[id_col], value_set=done)))
        if rows.num_rows:
            if prior is not None:
                rows = prior.attach(rows, item.shard.index, id_col)
            index = pa.repeat(pa.scalar(item.shard.index, pa.int64()), rows.num_rows)
            yield rows.append_column(SHARD_COLUMN, index)


def _shard_slices(
    todo: Sequence[ShardToRead], filesystem: Any, columns: list[str]
) -> Iterator[tuple[ShardToRead, pa.Table]]:
    """Each shard's rows, read in order up to the last shard to read."""
    first = todo[0].shard
    wanted = sorted(todo, key=lambda item: item.shard.start)
    end = max(item.shard.start + item.shard.rows for item in todo)
    with filesystem.open_input_file(first.file) as handle:
        batches = pq.ParquetFile(handle).iter_batches(
            batch_size=min(item.shard.rows for item in todo),
            row_groups=[first.row_group],
            columns=columns,
        )
        held: list[pa.RecordBatch] = []
        held_from = 0  # row of the row group where `held` starts
        held_rows = 0
        for item in wanted:
            stop = item.shard.start + item.shard.rows
            while held_from + held_rows < stop:
                batch = next(batches)
                held.append(batch)
                held_rows += batch.num_rows
            table = pa.Table.from_batches(held, schema=held[0].schema)
            yield item, table.slice(item.shard.start - held_from, item.shard.rows)
            if stop < end:  # drop what every later shard starts after
                rest = table.slice(stop - held_from)
                held, held_from, held_rows = rest.to_batches(), stop, rest.num_rows


def committed_ids(item: ShardToRead, filesystem: Any, id_col: str) -> pa.Array:
    dataset = pads.dataset(list(item.committed_parts), filesystem=filesystem, format="parquet")
    return dataset.to_table(columns=[id_col])[id_col].combine_chunks()
