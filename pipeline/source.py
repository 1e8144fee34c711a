"""Resolve and check the job's input before anything expensive starts.

The input is an fsspec URI: a Parquet file, a folder of them, or a glob. Every file must have
the columns the spec reads, with usable types, and ids must be unique and not null: each
problem is reported with the file, the column and the spec key that asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.plan import ColumnNeed, plan_of
from pipeline.spec import JobSpec
from pipeline.storage.filesystems import arrow_filesystem
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
    fs, root = fsspec.core.url_to_fs(spec.input.path, **spec.input.storage_options)
    files = _list_parquet(fs, root, spec.input.path)
    filesystem = arrow_filesystem(fs)
    needs = plan_of(spec).column_requirements()
    schema: pa.Schema | None = None
    num_rows = 0
    for path in files:
        try:
            metadata = pq.read_metadata(path, filesystem=filesystem)
            file_schema = metadata.schema.to_arrow_schema()
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
        _check_columns(path, file_schema, needs)
        if schema is None:
            schema = file_schema
        else:
            _check_same_types(path, file_schema, files[0], schema, needs)
        num_rows += metadata.num_rows
    assert schema is not None
    if num_rows == 0:
        where = f"{spec.input.path!r}" + (f" ({len(files)} files)" if len(files) > 1 else "")
        raise InputError(f"input.path: {where} has no rows; there is nothing to score")
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
        others = [p for p in fs.find(root) if fs.isfile(p)] if fs.isdir(root) else []
        hint = f" (it holds {len(others)} other file(s); names must end in .parquet)"
        raise InputError(f"input.path: no Parquet files found at {uri!r}{hint if others else ''}")
    return [str(p) for p in files]


def _check_columns(path: str, schema: pa.Schema, needs: dict[str, ColumnNeed]) -> None:
    for column, need in needs.items():
        keys = ", ".join(need.wanted_by)
        if column not in schema.names:
            close = get_close_matches(column, schema.names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(
                f"{path}: no column {column!r} (needed by {keys}); columns are {schema.names}{hint}"
            )
        dtype = schema.field(column).type
        for kind in sorted(need.kinds):
            if not accepts(kind, dtype):
                raise InputError(
                    f"{path}: column {column!r} is {dtype}; {keys} needs {KIND_NEEDS[kind]}"
                )


def _check_same_types(
    path: str, schema: pa.Schema, first: str, first_schema: pa.Schema, needs: dict[str, ColumnNeed]
) -> None:
    """Every file must give a needed column the type the first file gives it."""
    for column, need in needs.items():
        dtype, expected = schema.field(column).type, first_schema.field(column).type
        if _base_type(dtype) != _base_type(expected):
            raise InputError(
                f"{path}: column {column!r} is {dtype} here but {expected} in {first} "
                f"(needed by {', '.join(need.wanted_by)}); every file must agree"
            )


def _base_type(dtype: pa.DataType) -> pa.DataType:
    """string and large_string (binary, list alike) hold the same values."""
    if pa.types.is_large_string(dtype):
        return pa.string()
    if pa.types.is_large_binary(dtype):
        return pa.binary()
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return pa.list_(_base_type(dtype.value_type))
    return dtype


def _check_ids(source: InputSource, id_column: str) -> None:
    chunks: list[pa.Array] = []
    for path in source.files:
        try:
            table = pq.read_table(path, columns=[id_column], filesystem=source.filesystem)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
        ids = table[id_column]
        if ids.null_count:
            rows = pc.indices_nonzero(pc.is_null(ids))[:5].to_pylist()
            raise InputError(
                f"{path}: input.id_column {id_column!r} has {ids.null_count} null id(s), "
                f"e.g. at row(s) {rows}; every input row needs an id"
            )
        chunks.extend(ids.cast(source.schema.field(id_column).type).chunks)
    counts = pc.value_counts(pa.chunked_array(chunks, type=source.schema.field(id_column).type))
    repeated = pc.filter(counts, pc.greater(counts.field("counts"), 1))
    if len(repeated):
        examples = [str(v) for v in repeated.field("values")[:5].to_pylist()]
        raise InputError(
            f"input.id_column {id_column!r}: {len(repeated)} id(s) occur more than once, "
            f"e.g. {examples}; every input row must have its own id"
        )
