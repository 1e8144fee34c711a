"""The input cut into shards, the resume unit, before anything runs: each shard a slice of one
Parquet row group, of about `output.shard_mib` of input data. The plan depends only on the
input files (which the run's fingerprint covers), so every attempt cuts them the same way and a
shard is known by its index alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq


@dataclass(frozen=True)
class Shard:
    index: int
    file: str
    row_group: int
    start: int  # first row within the row group
    rows: int


def plan_shards(files: Sequence[str], filesystem: Any, shard_mib: float) -> list[Shard]:
    shards: list[Shard] = []
    for path in files:
        metadata = pq.read_metadata(path, filesystem=filesystem)
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            size = shard_rows(row_group.total_byte_size, row_group.num_rows, shard_mib)
            for start in range(0, row_group.num_rows, size):
                rows = min(size, row_group.num_rows - start)
                shards.append(Shard(len(shards), path, group, start, rows))
    return shards


def shard_rows(group_bytes: int, group_rows: int, shard_mib: float) -> int:
    """Rows in a shard of about shard_mib MiB of this row group's (uncompressed) data."""
    if group_rows == 0:
        return 1
    bytes_per_row = max(group_bytes / group_rows, 1.0)
    return max(1, int(shard_mib * (1 << 20) / bytes_per_row))
