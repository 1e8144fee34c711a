"""The diff table as people read it (terminal and HTML): one interval column, one flag column."""

from __future__ import annotations

import polars as pl

REWORDED = "reworded"
EXCEEDS = "exceeds noise"
PRIMARY_SCORE = "(primary score)"  # what a scorer's row shows in place of a question


def diff_view(table: pl.DataFrame) -> pl.DataFrame:
    interval = pl.format("[{}, {}]", pl.col("low").round(3), pl.col("high").round(3))
    flags = pl.concat_str(
        pl.when(pl.col("reworded")).then(pl.format(REWORDED + " (was: {})", "question_a")),
        pl.when(pl.col("exceeds_noise")).then(pl.lit(EXCEEDS)),
        separator=", ",
        ignore_nulls=True,
    )
    return table.select(
        "scorer",
        "item",
        pl.coalesce("question", pl.lit(PRIMARY_SCORE)).alias("question"),
        pl.format("{}/{}/{}", "rows_both", "only_a", "only_b").alias("both/A/B"),
        "mean_a",
        "mean_b",
        "change",
        pl.when(pl.col("low").is_not_null()).then(interval).alias("95% CI"),
        "flipped",
        pl.col("confidence_shift").alias("conf shift"),
        pl.col("noise_floor").alias("floor"),
        flags.alias("flag"),
    )
