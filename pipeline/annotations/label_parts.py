"""The parts of RUN/annotations/ (the labels `rayscore review` saves), read as ANNOTATION score
records whichever way they were written: records (RECORD_SCHEMA), or the plain table the first
review app wrote (the run's id column, `name`, `value` "yes"/"no", `author`, `comment`,
`labelled_at`), turned into records as it is read; no part is ever rewritten."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.score_records import ANNOTATION, RECORD_SCHEMA
from pipeline.storage.run_dir import LABEL_PARTS

PLAIN_TIME = "labelled_at"
PLAIN_COLUMNS = frozenset({"name", "value", "author", "comment", PLAIN_TIME})
RECORD_TIME = "%Y-%m-%dT%H:%M:%S%.6f+00:00"  # created_at of a label: ISO 8601, UTC, microseconds


class LabelPartError(ValueError):
    """A saved part that cannot be read; the message names it."""


def label_parts(fs: Any, folder: str) -> list[str]:
    """The saved parts of a labels folder, oldest first; none while it does not exist. A part
    being written ("_tmp-...") is no part yet."""
    if not fs.exists(folder):
        return []
    return sorted(fs.glob(posixpath.join(folder, LABEL_PARTS)))


def read_label_parts(paths: Sequence[str], arrow_fs: Any) -> pa.Table:
    """The parts' labels as records, in the parts' order."""
    tables = [read_label_part(path, arrow_fs) for path in paths]
    return pa.concat_tables([RECORD_SCHEMA.empty_table(), *tables])


def read_label_part(path: str, arrow_fs: Any) -> pa.Table:
    try:
        table = pq.read_table(path, filesystem=arrow_fs)
    except (OSError, pa.ArrowException) as exc:
        raise LabelPartError(f"part {path}: {exc}") from exc
    if "source" in table.column_names:
        return table.select(RECORD_SCHEMA.names).cast(RECORD_SCHEMA)
    return _plain_as_records(table)


def _plain_as_records(table: pa.Table) -> pa.Table:
    id_col = next(c for c in table.column_names if c not in PLAIN_COLUMNS)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    said_yes = pl.col("value") == "yes"
    records = frame.select(
        pl.col(id_col).cast(pl.String).alias("sample_id"),
        "name",
        said_yes.cast(pl.Float64).alias("value"),
        pl.when(said_yes).then(pl.lit("true")).otherwise(pl.lit("false")).alias("string_value"),
        pl.lit("BOOLEAN").alias("data_type"),
        pl.lit(ANNOTATION).alias("source"),
        "author",
        "comment",
        pl.col(PLAIN_TIME).dt.convert_time_zone("UTC").dt.strftime(RECORD_TIME).alias("created_at"),
    )
    missing = [f for f in RECORD_SCHEMA if f.name not in records.columns]
    arrow = records.to_arrow()
    for field in missing:
        arrow = arrow.append_column(field, pa.nulls(arrow.num_rows, field.type))
    return arrow.select(RECORD_SCHEMA.names).cast(RECORD_SCHEMA)
