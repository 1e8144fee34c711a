"""The tables of `rayscore report`, computed with Polars from an opened run.

Each function takes the run's lazy frames (pipeline.results) and returns a small DataFrame:
the report prints them and the HTML page shows and plots them.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pipeline.results import RunResults
from pipeline.score_records import ANNOTATION
from pipeline.summary import error_reasons
from scorers.usage import ERROR_COLUMN

CONFIDENCE_LEVELS = ("no_10", "no_30", "unsure", "yes_70", "yes_90")
COSTLY_ITEMS = 10
PASS_RATE_COLUMNS = ("scorer", "index", "question", "weight", "scored", "unscored", "pass_rate")


def scorer_names(manifest: dict[str, Any]) -> dict[str, str]:
    """Scorer key -> the name it is shown under (display_name, else key)."""
    return {s["key"]: s.get("name") or s["key"] for s in manifest.get("scorers", [])}


def metrics_table(run: RunResults) -> pl.DataFrame:
    metrics = run.metrics.collect()
    if metrics.is_empty():
        return metrics
    shown = pl.coalesce(pl.col("value").round(4).cast(pl.String), pl.col("value_json"))
    return metrics.select(
        "metric", "scorer_name", "field", "group", shown.alias("value"), "count", "skipped"
    )


def has_checklist_items(run: RunResults) -> bool:
    return "question" in run.items.collect_schema().names()


def item_pass_rates(run: RunResults) -> pl.DataFrame | None:
    """Per scorer x question: scored and unscored items, share of "yes" and of "no"."""
    if not has_checklist_items(run):
        return None
    answer = pl.col("answer")
    return (
        run.items.group_by("scorer", "question")
        .agg(
            pl.col("index").min(),
            pl.col("weight").mean(),
            answer.is_not_null().sum().alias("scored"),
            answer.is_null().sum().alias("unscored"),
            (answer == "yes").mean().alias("pass_rate"),
            (answer == "no").mean().alias("no_rate"),
        )
        .with_columns(pl.col("scorer").replace(scorer_names(run.manifest)))
        .sort("scorer", "index", "question")
        .collect()
    )


def costly_items(pass_rates: pl.DataFrame, limit: int = COSTLY_ITEMS) -> pl.DataFrame:
    """The items that lose the most points: weight x share of "no", largest first."""
    return (
        pass_rates.with_columns((pl.col("weight") * pl.col("no_rate")).alias("points_lost"))
        .sort("points_lost", descending=True, nulls_last=True)
        .select("scorer", "question", "weight", "no_rate", "points_lost")
        .head(limit)
    )


def error_counts(run: RunResults) -> pl.DataFrame:
    """Rows per error reason (numbers folded, as in the manifest), most frequent first."""
    errors = run.samples.select(ERROR_COLUMN).drop_nulls().collect()[ERROR_COLUMN]
    reasons = error_reasons(errors.to_list()).most_common()
    return pl.DataFrame(reasons, schema={"reason": pl.String, "rows": pl.Int64}, orient="row")


def confidence_level_counts(run: RunResults) -> pl.DataFrame | None:
    """Items per scorer x confidence level, levels in order, unscored items left out."""
    if not has_checklist_items(run):
        return None
    return (
        run.items.drop_nulls("confidence_level")
        .group_by("scorer", "confidence_level")
        .len("items")
        .with_columns(
            pl.col("scorer").replace(scorer_names(run.manifest)),
            pl.col("confidence_level").cast(pl.Enum(CONFIDENCE_LEVELS)),
        )
        .sort("scorer", "confidence_level")
        .collect()
    )


def group_columns(run: RunResults) -> list[str]:
    """The metrics' group_by columns, else the passthrough column `model`, if scores/ has it."""
    present = run.samples.collect_schema().names()
    scorers = run.manifest.get("spec", {}).get("definition", {}).get("scorers", [])
    grouped = [
        column
        for scorer in scorers
        for metric in scorer.get("metrics") or []
        for column in metric.get("group_by") or []
    ]
    wanted = list(dict.fromkeys(grouped)) or ["model"]
    return [column for column in wanted if column in present]


def group_scores(run: RunResults) -> pl.DataFrame | None:
    """Mean primary score per group, for every scorer that has a primary_score."""
    schema = run.samples.collect_schema()
    columns = group_columns(run)
    frames = [
        run.samples.group_by(pl.col(column).cast(pl.String).alias("group"))
        .agg(pl.len().alias("rows"), pl.col(key).struct.field("primary_score").mean())
        .select(pl.lit(name).alias("scorer"), pl.lit(column).alias("column"), pl.all())
        for key, name in scorer_names(run.manifest).items()
        if isinstance(schema.get(key), pl.Struct)
        and "primary_score" in [f.name for f in schema[key].fields]
        for column in columns
    ]
    groups = pl.concat(frames).sort("scorer", "column", "group").collect() if frames else None
    return None if groups is None or groups.is_empty() else groups


def label_counts(run: RunResults) -> pl.DataFrame | None:
    """Per author of human labels (a reviewer, an annotations file, an input column): how many
    labels count (the latest per sample and name), over how many samples, and the latest's
    created_at (for the labels a run read, the run's start)."""
    labels = run.scores_long.filter(pl.col("source") == ANNOTATION)
    counts = (
        labels.group_by("author")
        .agg(
            pl.len().alias("labels"),
            pl.col("sample_id").n_unique().alias("samples"),
            pl.col("created_at").max().alias("latest"),
        )
        .sort("labels", "author", descending=[True, False])
        .collect()
    )
    return None if counts.is_empty() else counts
