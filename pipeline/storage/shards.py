"""Judge output committed in shards, so an interrupted run resumes without judging again.

Each block leaving the judge stage is one shard: written to a temporary name, then moved to
`shard-<hash of its ids>.parquet`. The name depends only on which rows it holds, so a task
that Ray retries writes the same file again, and a resumed run, which skips every committed
id, never writes a row twice. What comes back to the driver is a one-row ack per shard.
"""

from __future__ import annotations

import hashlib
import posixpath
import time
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from scorers.usage import ERROR_COLUMN, USAGE_FIELDS, usage_totals

ACK_SCHEMA = pa.schema(
    [
        ("rows", pa.int64()),
        ("errored", pa.int64()),
        *((name, pa.int64()) for name in USAGE_FIELDS),
        ("committed_at", pa.float64()),
    ]
)


def shard_name(ids: pa.ChunkedArray | pa.Array) -> str:
    digest = hashlib.sha256()
    for value in pc.cast(ids, pa.string()).to_pylist():
        digest.update(str(value).encode())
        digest.update(b"\0")
    return f"shard-{digest.hexdigest()[:32]}.parquet"


def commit_shard(
    block: pa.Table, folder: str, filesystem: Any, id_col: str, judged_keys: list[str]
) -> pa.Table:
    """Ray Data adapter: write the block as one shard, atomically; return its ack."""
    if block.num_rows == 0:
        return ACK_SCHEMA.empty_table()
    name = shard_name(block[id_col])
    final = posixpath.join(folder, name)
    tmp = posixpath.join(folder, f"_tmp-{time.time_ns()}-{name}")  # readers skip "_" names
    pq.write_table(block, tmp, filesystem=filesystem)
    filesystem.move(tmp, final)
    ack = {
        "rows": block.num_rows,
        "errored": block.num_rows - block[ERROR_COLUMN].null_count,
        **usage_totals(block, judged_keys),
        "committed_at": time.time(),
    }
    return pa.Table.from_pylist([ack], schema=ACK_SCHEMA)


def shard_files(folder: str, filesystem: Any) -> list[str]:
    """The committed shards in `folder`; a temporary file a killed writer left is not one."""
    infos = filesystem.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    return sorted(
        i.path
        for i in infos
        if i.type == pafs.FileType.File
        and posixpath.basename(i.path).startswith("shard-")
        and i.path.endswith(".parquet")
    )


def shards_schema(files: Sequence[str], filesystem: Any, every_shard: bool) -> pa.Schema:
    """The schema the shards are read with: the first shard's, or with `every_shard` all of
    theirs unified (a score null in one shard takes its type from another, ints and floats
    make floats, struct fields some shards lack are added)."""
    factory = pads.FileSystemDatasetFactory(filesystem, list(files), pads.ParquetFileFormat())
    if not every_shard:
        return factory.inspect()
    try:
        return factory.inspect(promote_options="permissive", fragments=None)
    except pa.ArrowTypeError as exc:
        raise ValueError(
            f"scores of one name have different types in different batches ({exc}); a "
            "snippet must give each score one type: bool, int/float or str"
        ) from None


def committed_ids(folder: str, filesystem: Any, id_col: str) -> tuple[pa.Array, int]:
    """The ids in every committed shard, and how many shards there are."""
    shards = shard_files(folder, filesystem)
    if not shards:
        return pa.array([], pa.string()), 0
    ids = pads.dataset(shards, filesystem=filesystem, format="parquet").to_table(columns=[id_col])
    return ids[id_col].combine_chunks(), len(shards)


def skip_committed(batch: pa.Table, id_col: str, committed: pa.Array) -> pa.Table:
    """Ray Data adapter: the rows whose id is not in a committed shard."""
    if len(committed) == 0:
        return batch
    keep = pc.invert(pc.is_in(batch[id_col], value_set=committed.cast(batch[id_col].type)))
    return batch.filter(keep)
