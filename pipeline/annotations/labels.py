"""Human labels beside the judge's scores: read them (they become ANNOTATION score records,
pipeline.annotations.records) and measure how far the judge agrees with them
(scorers.agreement).

Annotations name scores the way score records do: "correctness" (a scorer's primary field),
"quality.pass_rate", "quality.item_0" (a checklist item); pipeline.annotations.names refuses
any other name. They come from a Parquet table (a file, or a folder of parts), or from input
columns, one per score name. The table is either (id, name, value) rows with optional `author`
and `comment` columns, or score records (RECORD_SCHEMA), whose ANNOTATION records are the
labels: what `rayscore review` appends to RUN/annotations/. Where the table has `created_at`,
the latest label per author, sample and name counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import fsspec
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from pydantic import Field, model_validator

from pipeline.annotations.history import CREATED_AT, latest_labels
from pipeline.annotations.label_parts import LabelPartError, label_parts, read_label_parts
from pipeline.score_records import ANNOTATION
from pipeline.storage.filesystems import arrow_filesystem
from scorers.agreement import binary_agreement, rank_agreement
from scorers.score_config import ScoreConfig
from scorers.strict_model import StrictModel

TRUE_TEXT = frozenset({"true", "yes", "1", "1.0"})
FALSE_TEXT = frozenset({"false", "no", "0", "0.0"})
OPTIONAL_COLUMNS = ("author", "comment")  # of an annotations file, beside id, name, value
# an annotations file of score records: its ANNOTATION ones are the labels
RECORD_COLUMNS = ("sample_id", "name", "value", "string_value", "source")


class AnnotationsFileError(ValueError):
    """The annotations file cannot be read as labels; the message names it."""


class AnnotationsSpec(StrictModel):
    path: str | list[str] | None = Field(
        default=None,
        description="Parquet of human labels: the id column, `name` (a score name), `value`; "
        "optional `author` (default: this path) and `comment`. Or score records, whose "
        "ANNOTATION ones are the labels: RUN/annotations, the labels given in rayscore review. "
        "A list reads several, their labels together (and `columns` beside them).",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Score name -> input column holding the human value, e.g. {right: verdict}.",
    )

    @model_validator(mode="after")
    def _some_source(self) -> AnnotationsSpec:
        if not self.paths and not self.columns:
            raise ValueError("give 'path' (a file or folder, or a list), 'columns', or both")
        return self

    @property
    def paths(self) -> list[str]:
        return listed_paths(self.path)


def listed_paths(path: str | Sequence[str] | None) -> list[str]:
    """`annotations.path` as a list: none, one, or several."""
    if path is None:
        return []
    return [path] if isinstance(path, str) else list(path)


def read_annotations(
    spec: AnnotationsSpec,
    id_col: str,
    input_files: Sequence[str],
    filesystem: Any,
    storage_options: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """(sample_id, name, human, author, comment) rows, one per label given (a null value is
    none); human as text, interpreted per score config later. An annotations path is read with
    `storage_options` (the input's); its optional `author` and `comment` columns are kept, and
    a row without an author gets the path. Labels from input columns are by "columns:<col>"."""
    frames = [_read_file(path, id_col, storage_options) for path in spec.paths]
    if spec.columns:
        frames.append(_read_columns(spec.columns, id_col, input_files, filesystem))
    return pl.concat(frames)


def _read_columns(
    columns_of: Mapping[str, str], id_col: str, input_files: Sequence[str], filesystem: Any
) -> pl.DataFrame:
    columns = [id_col, *dict.fromkeys(columns_of.values())]
    table = pq.ParquetDataset(list(input_files), filesystem=filesystem).read(columns=columns)
    wide = pl.from_arrow(table)
    assert isinstance(wide, pl.DataFrame)
    return pl.concat(
        [
            wide.select(
                pl.col(id_col).cast(pl.String).alias("sample_id"),
                pl.lit(name).alias("name"),
                pl.col(column).cast(pl.String).alias("human"),
                pl.lit(f"columns:{column}").alias("author"),
                pl.lit(None, pl.String).alias("comment"),
            )
            for name, column in columns_of.items()
        ]
    ).drop_nulls("human")


def _read_file(uri: str, id_col: str, storage_options: Mapping[str, Any] | None) -> pl.DataFrame:
    fs, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))
    table = _review_labels(uri, path, fs)
    records = table is not None
    if table is None:
        present = _file_columns(uri, path, fs)
        records = _is_records(present)
        values = list(RECORD_COLUMNS[2:]) if records else ["value"]
        optional = [c for c in (*OPTIONAL_COLUMNS, CREATED_AT) if c in present]
        columns = ["sample_id" if records else id_col, "name", *values, *optional]
        try:
            table = _dataset(path, fs).to_table(columns=columns, filter=_annotations_only(records))
        except (OSError, pa.ArrowException) as exc:
            raise AnnotationsFileError(f"annotations.path {uri!r}: {exc}") from exc
    ids = "sample_id" if records else id_col
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    value = record_label() if records else pl.col("value").cast(pl.String)
    frame = latest_labels(frame.with_columns(_optional_text(frame, "author").alias("author")), ids)
    return frame.select(
        pl.col(ids).cast(pl.String).alias("sample_id"),
        pl.col("name").cast(pl.String),
        value.alias("human"),
        pl.col("author").fill_null(uri),
        _optional_text(frame, "comment").alias("comment"),
    ).drop_nulls("human")


def record_label() -> pl.Expr:
    """A score record's value as a label's text: BOOLEAN "true"/"false" and CATEGORICAL in
    string_value, else value."""
    return pl.coalesce("string_value", pl.col("value").cast(pl.String))


def annotation_names(
    spec: AnnotationsSpec, id_col: str, storage_options: Mapping[str, Any] | None = None
) -> list[str]:
    """The distinct names the annotations give, reading no more than an annotations file's
    `name` column; its id, name and value columns are checked to be there."""
    sources = annotation_sources(spec, id_col, storage_options)
    return sorted({name for names in sources.values() for name in names})


def annotation_sources(
    spec: AnnotationsSpec, id_col: str, storage_options: Mapping[str, Any] | None = None
) -> dict[str, list[str]]:
    """Each source of the annotations ("the file '...'", "annotations.columns") -> the names
    it gives."""
    sources = {
        f"the file {path!r}": _file_names(path, id_col, storage_options) for path in spec.paths
    }
    if spec.columns:
        sources["annotations.columns"] = list(spec.columns)
    return sources


def _file_names(uri: str, id_col: str, storage_options: Mapping[str, Any] | None) -> list[str]:
    fs, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))
    review_labels = _review_labels(uri, path, fs)
    if review_labels is not None:
        return sorted(set(review_labels["name"].to_pylist()))
    columns = _file_columns(uri, path, fs)
    records = _is_records(columns)
    missing = [] if records else [c for c in (id_col, "name", "value") if c not in columns]
    if missing:
        raise AnnotationsFileError(
            f"annotations.path {uri!r}: no column(s) {missing} (id column, name, value "
            f"are needed; author and comment are optional); columns are {columns}"
        )
    table = _dataset(path, fs).to_table(columns=["name"], filter=_annotations_only(records))
    names = pc.unique(pc.cast(table["name"], pa.string()).combine_chunks()).drop_null()
    return sorted(str(name) for name in names.to_pylist())


def _review_labels(uri: str, path: str, fs: Any) -> pa.Table | None:
    """A folder of the parts `rayscore review` saves (RUN/annotations/), read as records, a
    part that cannot be read named; None for any other file or folder."""
    parts = label_parts(fs, path) if fs.isdir(path) else []
    if not parts:
        return None
    try:
        return read_label_parts(parts, arrow_filesystem(fs))
    except LabelPartError as exc:
        raise AnnotationsFileError(f"annotations.path {uri!r}: {exc}") from exc


def _is_records(columns: Sequence[str]) -> bool:
    """Score records (RECORD_SCHEMA, as `rayscore review` saves labels), not a plain table."""
    return set(RECORD_COLUMNS) <= set(columns)


def _annotations_only(records: bool) -> pc.Expression | None:
    return pads.field("source") == ANNOTATION if records else None


def _dataset(path: str, fs: Any) -> pads.Dataset:
    """A Parquet file, or a folder of parts (temporary "_" names skipped)."""
    return pads.dataset(path, format="parquet", filesystem=arrow_filesystem(fs))


def _file_columns(uri: str, path: str, fs: Any) -> list[str]:
    try:
        return list(_dataset(path, fs).schema.names)
    except (OSError, pa.ArrowException) as exc:
        raise AnnotationsFileError(
            f"annotations.path {uri!r}: not a readable Parquet file or folder ({exc})"
        ) from exc


def _optional_text(frame: pl.DataFrame, column: str) -> pl.Expr:
    if column in frame.columns:
        return pl.col(column).cast(pl.String)
    return pl.lit(None, pl.String)


def agreement(
    evaluations: pl.DataFrame, annotations: pl.DataFrame, configs: Mapping[str, ScoreConfig]
) -> dict[str, Any]:
    """Per score name, per scorer (all its annotated BOOLEAN scores together) and overall."""
    judged = evaluations.filter(pl.col("source") == "EVAL")
    # A boolean scorer's confidence is its sibling record "<name>.confidence".
    confidence = judged.filter(pl.col("name").str.ends_with(".confidence")).select(
        "sample_id",
        pl.col("name").str.strip_suffix(".confidence"),
        pl.col("value").alias("sibling_confidence"),
    )
    pairs = (
        annotations.join(
            judged.select("sample_id", "name", "scorer_key", "value", "metadata"),
            on=["sample_id", "name"],
            how="inner",
        )
        .join(confidence, on=["sample_id", "name"], how="left")
        .with_columns(
            pl.col("metadata")
            .str.json_path_match("$.confidence")
            .cast(pl.Float64)
            .fill_null(pl.col("sibling_confidence"))
            .alias("confidence")
        )
    )
    by_name: dict[str, Any] = {}
    by_scorer: dict[str, list[dict[str, Any]]] = {}
    for (name,), group in pairs.group_by(["name"], maintain_order=True):
        config = configs.get(str(name))
        rows = group.to_dicts()
        if config is not None and config.data_type == "BOOLEAN":
            by_name[str(name)] = _binary(rows)
            by_scorer.setdefault(str(rows[0]["scorer_key"]), []).extend(rows)
        elif config is not None and config.data_type == "NUMERIC":
            by_name[str(name)] = rank_agreement(
                [_human_value(r["human"], "NUMERIC") for r in rows], [r["value"] for r in rows]
            )
    every = [r for rows in by_scorer.values() for r in rows]
    return {
        "scores": by_name,
        "scorers": {key: _binary(rows) for key, rows in by_scorer.items()},
        "overall": _binary(every) if every else None,
    }


def agreement_rows(result: Mapping[str, Any]) -> pa.Table:
    """agreement.parquet: one row per score name, scorer and overall; statistics as columns."""
    rows = [{"level": "score", "name": k, **v} for k, v in result["scores"].items()]
    rows += [{"level": "scorer", "name": k, **v} for k, v in result["scorers"].items()]
    if result["overall"] is not None:
        rows.append({"level": "overall", "name": None, **result["overall"]})
    return pa.Table.from_pylist([json.loads(json.dumps(r)) for r in rows])


def _binary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return binary_agreement(
        [_human_value(r["human"], "BOOLEAN") for r in rows],
        [None if r["value"] is None else r["value"] >= 0.5 for r in rows],
        [r["confidence"] for r in rows],
    )


def _human_value(human: Any, data_type: str) -> Any:
    if human is None:
        return None
    if data_type == "BOOLEAN":
        return str(human).strip().lower() in TRUE_TEXT
    if data_type == "NUMERIC":
        return float(human)
    return str(human)
