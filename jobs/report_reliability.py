"""The judge's confidences against human labels, for the report's reliability diagram.

Human labels of checklist items are ANNOTATION score records named "<scorer>.item_<index>";
joined with the items they label, each gives a confidence, a calibrated confidence (null
unless the run was calibrated) and the human yes/no. When RUN/calibration.json names a
holdout share, only the held-out samples are kept: the others fitted the calibrator and
would flatter it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from jobs.item_names import item_name_expr
from jobs.report_tables import has_checklist_items, scorer_names
from pipeline.results import RunResults
from pipeline.storage.run_dir import CALIBRATION, RunDirectory
from scorers.calibration import in_holdout

RELIABILITY_BINS = 10


@dataclass(frozen=True)
class LabelledItems:
    frame: pl.DataFrame  # sample_id, name, human, confidence, calibrated_confidence
    note: str  # which labelled items these are

    @property
    def calibrated(self) -> bool:
        return bool(self.frame["calibrated_confidence"].is_not_null().any())


def labelled_items(
    run: RunResults, storage_options: dict[str, Any] | None = None
) -> LabelledItems | None:
    """Checklist items with a human label, or None when the run has none (its
    calibration.json read with the run's `storage_options`)."""
    if not has_checklist_items(run):
        return None
    human = (
        run.scores_long.filter(pl.col("source") == "ANNOTATION")
        .select(
            pl.col("sample_id").cast(pl.String), "name", (pl.col("value") == 1.0).alias("human")
        )
        .drop_nulls("human")
    )
    id_col = run.manifest["spec"]["input"]["id_column"]
    items = run.items.select(
        pl.col(id_col).cast(pl.String).alias("sample_id"),
        item_name_expr(scorer_names(run.manifest)).alias("name"),
        "confidence",
        "calibrated_confidence",
    )
    frame = human.join(items, on=["sample_id", "name"], how="inner").collect()
    if frame.is_empty():
        return None
    holdout = _holdout_share(run.uri, storage_options)
    if holdout is None:
        return LabelledItems(frame, f"all {frame.height} labelled items (no {CALIBRATION})")
    held_out = frame.filter(pl.Series(in_holdout(frame["sample_id"].to_list(), holdout)))
    return LabelledItems(
        held_out,
        f"{held_out.height} held-out labelled items (holdout {holdout:g} in {CALIBRATION})",
    )


def _holdout_share(uri: str, storage_options: dict[str, Any] | None) -> float | None:
    run_dir = RunDirectory(uri, storage_options)
    if not run_dir.fs.exists(run_dir.join(CALIBRATION)):
        return None
    holdout = run_dir.read_json(CALIBRATION).get("holdout")
    return None if holdout is None else float(holdout)


def reliability_bins(labelled: pl.DataFrame, confidence: str) -> pl.DataFrame:
    """Fraction of human "yes" against mean confidence, in equal-width confidence bins."""
    bin_of = (pl.col(confidence) * RELIABILITY_BINS).floor().clip(0, RELIABILITY_BINS - 1)
    return (
        labelled.drop_nulls(confidence)
        .group_by(bin_of.cast(pl.Int32).alias("bin"))
        .agg(
            pl.col(confidence).mean().alias("mean_confidence"),
            pl.col("human").cast(pl.Float64).mean().alias("fraction_yes"),
            pl.len().alias("n"),
        )
        .sort("bin")
    )
