"""Calibration drift: each run's agreement with the human labels (Cohen's kappa and the
expected calibration error, as the report gives them: the run's agreement.parquet, or worked
out again over the labels given in review since) and their change, so a judge that drifted
against the humans shows."""

from __future__ import annotations

import polars as pl

from jobs.report_agreement import agreement_table
from pipeline.results import RunResults

CALIBRATION_TITLE = "agreement with human labels (kappa, ECE) in A and B"
KEYS = ("level", "name")
MEASURES = ("n", "cohen_kappa", "ece")


def calibration_drift(a: RunResults, b: RunResults) -> pl.DataFrame | None:
    """Per labelled score (and scorer, and overall): kappa and ECE in A and B and the change
    (B - A); None unless both runs have annotations."""
    agreement_a, agreement_b = agreement_table(a), agreement_table(b)
    if agreement_a is None or agreement_b is None:
        return None
    joined = _measures(agreement_a.lazy()).join(
        _measures(agreement_b.lazy()),
        on=list(KEYS),
        how="full",
        coalesce=True,
        nulls_equal=True,
        suffix="_b",
    )
    return (
        joined.rename({m: f"{m}_a" for m in MEASURES})
        .with_columns(
            (pl.col("cohen_kappa_b") - pl.col("cohen_kappa_a")).alias("kappa_change"),
            (pl.col("ece_b") - pl.col("ece_a")).alias("ece_change"),
        )
        .select(
            *KEYS,
            "n_a",
            "n_b",
            "cohen_kappa_a",
            "cohen_kappa_b",
            "kappa_change",
            "ece_a",
            "ece_b",
            "ece_change",
        )
        .sort("level", "name", nulls_last=True)
        .collect()
    )


def _measures(agreement: pl.LazyFrame) -> pl.LazyFrame:
    present = agreement.collect_schema().names()
    return agreement.select(
        *KEYS,
        *(
            (pl.col(m) if m in present else pl.lit(None))
            .cast(pl.Int64 if m == "n" else pl.Float64)
            .alias(m)
            for m in MEASURES
        ),
    )
