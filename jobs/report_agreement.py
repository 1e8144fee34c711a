"""The judge's agreement with a run's human labels, as the report shows it: the run's own
agreement.parquet, or, once reviewers have labelled the run (`rayscore review`, RUN/annotations/),
worked out again over every label its scores_long now holds, by the function the run used."""

from __future__ import annotations

from typing import Any

import polars as pl

from pipeline.annotations.labelled_run import names_from_json
from pipeline.annotations.labels import agreement, agreement_rows
from pipeline.results import RunResults
from pipeline.score_records import ANNOTATION, EVAL
from pipeline.storage.run_dir import ANNOTATIONS, LABEL_PARTS, SCORE_CONFIGS, RunDirectory


def agreement_table(
    run: RunResults, storage_options: dict[str, Any] | None = None
) -> pl.DataFrame | None:
    """One row per score name, scorer and overall; None when the run has no labels."""
    run_dir = RunDirectory(run.uri, storage_options)
    if not run_dir.fs.glob(run_dir.join(f"{ANNOTATIONS}/{LABEL_PARTS}")):
        return None if run.agreement is None else run.agreement.collect()
    labels = (
        run.scores_long.filter(pl.col("source") == ANNOTATION)
        .select(
            "sample_id",
            "name",
            pl.coalesce("string_value", pl.col("value").cast(pl.String)).alias("human"),
            "author",
            "comment",
        )
        .collect()
    )
    names = names_from_json(run_dir.read_json(SCORE_CONFIGS))
    known = {}
    for name in labels["name"].unique().to_list():
        config_id = names.config_id(name)
        if config_id is not None:
            known[name] = names.configs[config_id][2]
    judged = [*known, *(f"{name}.confidence" for name in known)]
    evaluations = (
        run.scores_long.filter((pl.col("source") == EVAL) & pl.col("name").is_in(judged))
        .select("sample_id", "name", "scorer_key", "value", "metadata", "source")
        .collect()
    )
    table = pl.from_arrow(agreement_rows(agreement(evaluations, labels, known)))
    assert isinstance(table, pl.DataFrame)
    return table
