"""Scored parts: the files a run's output folders are made of, each written once, atomically,
under a name that says which shard it belongs to, how many rows it holds and a digest of their
ids (so a task that Ray retries writes the same file again).

    part-000042-1250-<digest>.parquet    1250 rows of shard 42
    part-x-1250-<digest>.parquet         rows of no shard (a second pass)

A shard's rows may arrive in several parts; the shard is complete when its parts' rows add up
to the shard's. A part's summary (counts and metric partials) rides in its Parquet footer, so
the run's summary is read from the footers without reading a row.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

SUMMARY_KEY = b"rayscore.part_summary"
_NAME = re.compile(r"^part-(\d+|x)-(\d+)-([0-9a-f]+)\.parquet$")


@dataclass(frozen=True)
class Part:
    path: str
    shard: int | None
    rows: int


def ids_digest(ids: pa.ChunkedArray | pa.Array) -> str:
    """A digest of the ids, in order: hashed by Polars' kernel, then the hashes by sha256."""
    import polars as pl

    series = pl.from_arrow(ids)
    assert isinstance(series, pl.Series)
    hashes = series.cast(pl.String).hash(seed=0).to_numpy()
    return hashlib.sha256(hashes.tobytes()).hexdigest()[:24]


def part_name(shard: int | None, ids: pa.ChunkedArray | pa.Array) -> str:
    label = "x" if shard is None else f"{shard:06d}"
    return f"part-{label}-{len(ids)}-{ids_digest(ids)}.parquet"


def parse_part(path: str) -> Part | None:
    match = _NAME.match(posixpath.basename(path))
    if match is None:
        return None
    shard = None if match[1] == "x" else int(match[1])
    return Part(path, shard, int(match[2]))


def list_parts(folder: str, filesystem: Any) -> list[Part]:
    """The parts in `folder`; a temporary file a killed writer left is none."""
    infos = filesystem.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    parts = (parse_part(i.path) for i in infos if i.type == pafs.FileType.File)
    return sorted((p for p in parts if p is not None), key=lambda p: p.path)


def write_atomically(
    table: pa.Table, folder: str, name: str, filesystem: Any, summary: dict[str, Any] | None = None
) -> str:
    """Write under a temporary name (readers skip "_" names), then move into place."""
    if summary is not None:
        metadata = dict(table.schema.metadata or {})
        metadata[SUMMARY_KEY] = json.dumps(summary).encode()
        table = table.replace_schema_metadata(metadata)
    final = posixpath.join(folder, name)
    tmp = posixpath.join(folder, f"_tmp-{time.time_ns()}-{name}")
    pq.write_table(table, tmp, filesystem=filesystem)
    filesystem.move(tmp, final)
    return final


def read_summaries(parts: Iterable[Part], filesystem: Any) -> list[dict[str, Any]]:
    """Each part's summary, from its footer."""
    summaries = []
    for part in parts:
        metadata = pq.read_schema(part.path, filesystem=filesystem).metadata or {}
        summaries.append(json.loads(metadata[SUMMARY_KEY]))
    return summaries


def rows_by_shard(parts: Sequence[Part]) -> dict[int, int]:
    rows: dict[int, int] = {}
    for part in parts:
        if part.shard is not None:
            rows[part.shard] = rows.get(part.shard, 0) + part.rows
    return rows


def parts_schema(files: Sequence[str], filesystem: Any) -> pa.Schema:
    """The parts' schemas unified, for a scorer that types its output per block: a score
    null in one part takes its type from another, ints and floats make floats, struct fields
    some parts lack are added."""
    factory = pads.FileSystemDatasetFactory(filesystem, list(files), pads.ParquetFileFormat())
    try:
        return factory.inspect(promote_options="permissive", fragments=None)
    except pa.ArrowTypeError as exc:
        raise ValueError(
            f"scores of one name have different types in different batches ({exc}); a "
            "snippet must give each score one type: bool, int/float or str"
        ) from None
