"""ANNOTATION score records: the human labels, beside the judge's EVAL records.

A label's record carries what an EVAL record of the same score carries: the config id its
name falls under (pipeline.annotations.names; it is in score_configs.json), that config's data
type, the scorer key and purpose, and the sample's trace fields (trace_name, environment,
user, tags), formatted by the same function as the EVAL records'. Its author is the label's
own (the annotations file's `author` column, else the file, or "columns:<col>"), not the
trace's; its comment is the file's `comment`. Built column by column in Polars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.annotations.labels import FALSE_TEXT, TRUE_TEXT
from pipeline.score_records import ANNOTATION, RECORD_SCHEMA, ConfigEntry, sample_fields

SAMPLE_TRACE_FIELDS = ("trace_name", "environment", "user", "tags")  # the author is the label's


class AnnotationValueError(ValueError):
    """A label whose value its score's data type cannot hold."""


def annotation_records(
    human: pl.DataFrame,
    configs: Mapping[str, ConfigEntry],
    purposes: Mapping[str, str],
    samples: pa.Table,
    run_id: str,
    created_at: str,
) -> pa.Table:
    """RECORD_SCHEMA rows, one per label, in the labels' order.

    human: sample_id, name, human, author, comment, config_id (a key of `configs`);
    purposes: scorer key -> purpose; samples: sample_id and the trace fields as text, as
    score_records.sample_fields gives them."""
    kinds = pl.DataFrame(
        {
            "config_id": list(configs),
            "data_type": [config.data_type for _, _, config in configs.values()],
            "scorer_key": [key for key, _, _ in configs.values()],
            "purpose": [purposes.get(key) for key, _, _ in configs.values()],
        },
        schema={name: pl.String for name in ("config_id", "data_type", "scorer_key", "purpose")},
    )
    trace = pl.from_arrow(samples.select(["sample_id", *SAMPLE_TRACE_FIELDS]))
    assert isinstance(trace, pl.DataFrame)
    labels = human.join(kinds, on="config_id", how="left", maintain_order="left").join(
        trace, on="sample_id", how="left", maintain_order="left"
    )
    _refuse_non_numbers(labels)
    records = labels.select(
        "sample_id",
        *SAMPLE_TRACE_FIELDS[:3],
        "author",
        "tags",
        "name",
        _value().alias("value"),
        _string_value().alias("string_value"),
        "data_type",
        pl.lit(ANNOTATION).alias("source"),
        "comment",
        pl.lit(None, pl.String).alias("metadata"),
        "config_id",
        "scorer_key",
        "purpose",
        pl.lit(run_id).alias("run_id"),
        pl.lit(created_at).alias("created_at"),
    )
    return records.to_arrow().cast(RECORD_SCHEMA)


def labelled_samples(
    table: pa.Table, id_col: str, trace: Mapping[str, str], ids: Sequence[str]
) -> pa.Table:
    """The `samples` annotation_records takes: sample_id and the trace fields as text
    (score_records.sample_fields) of the rows of `table` (the id and trace columns of scores/)
    whose id is one of `ids`."""
    fields = sample_fields(table, id_col, trace)
    labelled = pc.is_in(fields["sample_id"], value_set=pa.array(list(ids), pa.string()))
    return pa.table(fields).filter(labelled).select(["sample_id", *SAMPLE_TRACE_FIELDS])


def _said_yes() -> pl.Expr:
    return pl.col("human").str.strip_chars().str.to_lowercase().is_in(list(TRUE_TEXT))


def _number() -> pl.Expr:
    return pl.col("human").str.strip_chars().cast(pl.Float64, strict=False)


def _value() -> pl.Expr:
    """NUMERIC and BOOLEAN labels as numbers (1.0/0.0 for booleans)."""
    data_type = pl.col("data_type")
    return (
        pl.when(data_type == "BOOLEAN")
        .then(_said_yes().cast(pl.Float64))
        .when(data_type == "NUMERIC")
        .then(_number())
        .otherwise(None)
    )


def _string_value() -> pl.Expr:
    """BOOLEAN labels as "true"/"false", CATEGORICAL ones as given."""
    data_type = pl.col("data_type")
    return (
        pl.when(data_type == "BOOLEAN")
        .then(pl.when(_said_yes()).then(pl.lit("true")).otherwise(pl.lit("false")))
        .when(data_type == "CATEGORICAL")
        .then(pl.col("human"))
        .otherwise(None)
    )


def _refuse_non_numbers(labels: pl.DataFrame) -> None:
    """NUMERIC labels that are no number, BOOLEAN ones that are neither true nor false."""
    said = pl.col("human").str.strip_chars().str.to_lowercase()
    unreadable = {
        "NUMERIC": ("not numbers", _number().is_null()),
        "BOOLEAN": (
            f"not one of {sorted(TRUE_TEXT | FALSE_TEXT)}",
            ~said.is_in(list(TRUE_TEXT | FALSE_TEXT)),
        ),
    }
    for data_type, (what, is_bad) in unreadable.items():
        bad = labels.filter((pl.col("data_type") == data_type) & is_bad)
        if bad.height:
            examples = bad.select("name", "sample_id", "human").head(5).rows()
            raise AnnotationValueError(
                f"annotations: {bad.height} label(s) of {data_type} scores are {what}, e.g. "
                f"(name, sample id, value) {examples}"
            )
