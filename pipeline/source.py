"""Resolve and check the job's input before anything expensive starts.

The input is an fsspec URI: a Parquet file, a folder of them, or a glob. Every file must have
the columns the spec reads, with usable types, and ids must be unique and not null: each
problem is reported with the file, the column and the spec key that asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.filesystems import arrow_filesystem
from pipeline.spec import ColumnNeed, JobSpec
from scorers.columns import KIND_NEEDS, accepts

GLOB_CHARS = frozenset("*?[")


class InputError(ValueError):
    """The input cannot be scored as specified; the message names file, column and spec key."""


@dataclass(frozen=True)
class InputSource:
    uri: str
    files: tuple[str, ...]
    filesystem: pafs.FileSystem
    num_rows: int
    schema: pa.Schema


def resolve_input(spec: JobSpec) -> InputSource:
    fs, root = fsspec.core.url_to_fs(spec.input.path)
    files = _list_parquet(fs, root, spec.input.path)
    filesystem = arrow_filesystem(fs)
    needs = spec.column_requirements()
    schema: pa.Schema | None = None
    num_rows = 0
    for path in files:
        try:
            metadata = pq.read_metadata(path, filesystem=filesystem)
        except (OSError, pa.ArrowInvalid) as exc:
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
        file_schema = metadata.schema.to_arrow_schema()
        _check_columns(path, file_schema, needs)
        schema = schema or file_schema
        num_rows += metadata.num_rows
    assert schema is not None
    source = InputSource(spec.input.path, tuple(files), filesystem, num_rows, schema)
    _check_ids(source, spec.input.id_column)
    return source


def _list_parquet(fs: Any, root: str, uri: str) -> list[str]:
    if GLOB_CHARS & set(root):
        files = sorted(p for p in fs.glob(root) if fs.isfile(p))
    elif fs.isdir(root):
        files = sorted(p for p in fs.find(root) if p.endswith(".parquet"))
    elif fs.isfile(root):
        files = [root]
    else:
        raise InputError(f"input.path: {uri!r} does not exist")
    if not files:
        raise InputError(f"input.path: no Parquet files found at {uri!r}")
    return [str(p) for p in files]


def _check_columns(path: str, schema: pa.Schema, needs: dict[str, ColumnNeed]) -> None:
    for column, need in needs.items():
        keys = ", ".join(need.wanted_by)
        if column not in schema.names:
            raise InputError(
                f"{path}: no column {column!r} (needed by {keys}); columns are {schema.names}"
            )
        dtype = schema.field(column).type
        for kind in sorted(need.kinds):
            if not accepts(kind, dtype):
                raise InputError(
                    f"{path}: column {column!r} is {dtype}; {keys} needs {KIND_NEEDS[kind]}"
                )


def _check_ids(source: InputSource, id_column: str) -> None:
    ids = pq.ParquetDataset(list(source.files), filesystem=source.filesystem).read(
        columns=[id_column]
    )[id_column]
    nulls = ids.null_count
    if nulls:
        raise InputError(f"input.id_column {id_column!r}: {nulls} null id(s)")
    counts = pc.value_counts(ids)
    repeated = pc.filter(counts, pc.greater(counts.field("counts"), 1))
    if len(repeated):
        examples = [str(v) for v in repeated.field("values")[:5].to_pylist()]
        raise InputError(
            f"input.id_column {id_column!r}: {len(repeated)} id(s) occur more than once, "
            f"e.g. {examples}; every input row must have its own id"
        )
