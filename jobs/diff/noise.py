"""The noise floor of a score from a `rayscore variance --json` result: how far that score
moved when nothing that matters changed (the same rows scored twice, the question asked in
other words). A mean change no larger than that is not counted as real.

The file is the variance table as JSON rows (jobs.variance); per scorer x item the floor is
the largest of repeat_max_abs_diff, paraphrase_range and answer_flip_rate it has.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

NEEDED = ("scorer", "item")
SPREADS = ("repeat_max_abs_diff", "paraphrase_range", "answer_flip_rate")
FLOOR_SCHEMA = pl.Schema({"scorer": pl.String, "item": pl.Int32, "noise_floor": pl.Float64})


def noise_floors(variance_json: str) -> pl.DataFrame:
    """scorer (its name), item (null for a scalar score), noise_floor."""
    path = Path(variance_json)
    if not path.is_file():
        raise FileNotFoundError(f"--variance {variance_json}: no such file")
    try:
        spread = pl.read_json(path)
    except (pl.exceptions.PolarsError, ValueError) as error:
        raise ValueError(
            f"--variance {variance_json}: not a `rayscore variance --json` table: {error}"
        ) from error
    missing = [c for c in NEEDED if c not in spread.columns]
    spreads = [c for c in SPREADS if c in spread.columns]
    if missing or not spreads:
        wanted = ", ".join(missing + ([] if spreads else ["one of " + "/".join(SPREADS)]))
        raise ValueError(
            f"--variance {variance_json}: no column {wanted} "
            "(is it written by `rayscore variance --json`?)"
        )
    floors = spread.select(
        pl.col("scorer").cast(pl.String),
        pl.col("item").cast(pl.Int32),
        pl.max_horizontal(pl.col(spreads).cast(pl.Float64)).alias("noise_floor"),
    )
    return (
        floors.group_by("scorer", "item").agg(pl.col("noise_floor").max()).cast(dict(FLOOR_SCHEMA))
    )
