"""The judge's agreement with a run's human labels, as the report shows it: the run's own
agreement.parquet, or, once reviewers have labelled the run (`rayscore review`, RUN/annotations/),
worked out again over every label its scores_long now holds, as the run worked it out."""

from __future__ import annotations

import polars as pl

from pipeline.annotations.labelled_run import read_score_names
from pipeline.annotations.labels import agreement, agreement_rows, record_label
from pipeline.annotations.names import judged_names, label_configs
from pipeline.results import RunResults
from pipeline.score_records import ANNOTATION, EVAL
from pipeline.storage.run_dir import RunDirectory


def agreement_table(run: RunResults) -> pl.DataFrame | None:
    """One row per score name, scorer and overall; None when the run has no labels."""
    if not run.reviewed:
        return None if run.agreement is None else run.agreement.collect()
    labels = (
        run.scores_long.filter(pl.col("source") == ANNOTATION)
        .select(
            "sample_id",
            "name",
            record_label().alias("human"),
            "author",
            "comment",
        )
        .collect()
    )
    names = read_score_names(RunDirectory(run.uri, run.storage_options))
    known = label_configs(labels["name"].unique().to_list(), names)
    labelled = (pl.col("source") == EVAL) & pl.col("name").is_in(judged_names(known))
    evaluations = (
        run.scores_long.filter(labelled & pl.col("sample_id").is_in(labels["sample_id"].unique()))
        .select("sample_id", "name", "scorer_key", "value", "metadata", "source")
        .collect()
    )
    table = pl.from_arrow(agreement_rows(agreement(evaluations, labels, known)))
    assert isinstance(table, pl.DataFrame)
    return table
