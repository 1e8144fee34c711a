"""One row per scorer (its primary score) and per checklist item: how many samples each run
has, the mean change B - A over the samples both scored, its 95% bootstrap interval, the share
of answers that flipped, the mean confidence shift, and whether the change is more than noise.

A change exceeds the noise when its interval excludes 0 and, where a `rayscore variance`
result gives that score a noise floor, the change is also larger than the floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from jobs.diff.drift import calibration_drift
from jobs.diff.intervals import SEED, mean_change_interval
from jobs.diff.noise import FLOOR_SCHEMA
from jobs.diff.pairing import paired_scores
from jobs.report_tables import scorer_names
from pipeline.results import RunResults

DIFF_SCHEMA = pl.Schema(
    {
        "scorer": pl.String,  # its name (display_name, else key)
        "item": pl.Int32,  # checklist item index (in B); null: the scorer's primary score
        "question": pl.String,  # B's wording, else A's
        "question_a": pl.String,  # A's wording
        "reworded": pl.Boolean,  # the item is paired by index: its wording changed
        "rows_both": pl.UInt32,
        "only_a": pl.UInt32,
        "only_b": pl.UInt32,
        "mean_a": pl.Float64,  # over the samples both runs scored
        "mean_b": pl.Float64,
        "change": pl.Float64,  # mean of B - A per sample
        "low": pl.Float64,  # its 95% bootstrap interval
        "high": pl.Float64,
        "flipped": pl.Float64,  # share of answers that differ (items)
        "confidence_shift": pl.Float64,  # mean of B - A confidence (items)
        "noise_floor": pl.Float64,  # from the variance result; null: the interval decides
        "exceeds_noise": pl.Boolean,
    }
)


@dataclass(frozen=True)
class RunDiff:
    a: str
    b: str
    table: pl.DataFrame  # DIFF_SCHEMA
    calibration: pl.DataFrame | None  # jobs.diff.drift; None unless both runs have labels

    def to_json(self) -> dict[str, Any]:
        """The diff table as rows (as `rayscore variance --json` writes its table), with the
        runs and the calibration drift."""
        drift = None if self.calibration is None else self.calibration.to_dicts()
        return {"a": self.a, "b": self.b, "diff": self.table.to_dicts(), "calibration": drift}


def diff_runs(
    a: RunResults, b: RunResults, floors: pl.DataFrame | None = None, seed: int = SEED
) -> RunDiff:
    """B compared with A; `floors` from jobs.diff.noise.noise_floors."""
    paired = paired_scores(a, b)
    table = _with_intervals(_summaries(paired), seed)
    table = table.with_columns(
        pl.col("scorer").replace({**scorer_names(a.manifest), **scorer_names(b.manifest)}),
        pl.coalesce("question_b", "question_a").alias("question"),
        (
            pl.col("question_a").is_not_null()
            & pl.col("question_b").is_not_null()
            & (pl.col("question_a") != pl.col("question_b"))
        ).alias("reworded"),
    )
    table = table.join(
        pl.DataFrame(schema=FLOOR_SCHEMA) if floors is None else floors,
        on=["scorer", "item"],
        how="left",
        nulls_equal=True,
    )
    outside = (pl.col("low") > 0) | (pl.col("high") < 0)
    above_floor = pl.col("noise_floor").is_null() | (pl.col("change").abs() > pl.col("noise_floor"))
    table = table.with_columns((outside & above_floor).fill_null(False).alias("exceeds_noise"))
    table = table.select(DIFF_SCHEMA.names()).cast(dict(DIFF_SCHEMA))
    return RunDiff(
        a=a.uri,
        b=b.uri,
        table=table.sort("scorer", "item", "question", nulls_last=False),
        calibration=calibration_drift(a, b),
    )


def regressions(diff: RunDiff, threshold: float) -> pl.DataFrame:
    """The rows whose mean dropped by more than `threshold` beyond the noise: the change
    exceeds the noise and -change - noise_floor (0 without one) > threshold."""
    beyond = -pl.col("change") - pl.col("noise_floor").fill_null(0.0)
    return diff.table.filter(
        pl.col("exceeds_noise") & (pl.col("change") < 0) & (beyond > threshold)
    )


def _summaries(paired: pl.DataFrame) -> pl.DataFrame:
    in_a, in_b = pl.col("in_a"), pl.col("in_b")
    difference = pl.col("score_b") - pl.col("score_a")
    scored = difference.is_not_null()
    answers = pl.col("answer_a").is_not_null() & pl.col("answer_b").is_not_null()
    return paired.group_by("scorer", "item", "question_a", "question_b").agg(
        (in_a & in_b).sum().alias("rows_both"),
        (in_a & ~in_b).sum().alias("only_a"),
        (~in_a & in_b).sum().alias("only_b"),
        pl.col("score_a").filter(scored).mean().alias("mean_a"),
        pl.col("score_b").filter(scored).mean().alias("mean_b"),
        difference.mean().alias("change"),
        (pl.col("answer_a") != pl.col("answer_b")).filter(answers).mean().alias("flipped"),
        (pl.col("confidence_b") - pl.col("confidence_a")).mean().alias("confidence_shift"),
        difference.drop_nulls().alias("differences"),
    )


def _with_intervals(summaries: pl.DataFrame, seed: int) -> pl.DataFrame:
    """low and high per row: one bootstrap per scorer x item (not per sample)."""
    bounds = [
        mean_change_interval(np.asarray(d, dtype=float), seed)
        for d in summaries["differences"].to_list()
    ]
    return summaries.drop("differences").with_columns(
        pl.Series("low", [low for low, _ in bounds], dtype=pl.Float64),
        pl.Series("high", [high for _, high in bounds], dtype=pl.Float64),
    )
