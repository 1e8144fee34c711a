"""Everything `rayscore report` shows about a run, collected once for the terminal and HTML.

A piece the run does not have (no checklist scorer, no annotations, no groups, no second
run to compare with) is None, and each view says so in one line instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from jobs.diff import RunDiff, diff_runs
from jobs.report_agreement import agreement_table
from jobs.report_calibration import CalibrationPart, calibration_parts
from jobs.report_histograms import Histogram, score_histograms
from jobs.report_label_mass import LabelMass, label_mass_report
from jobs.report_reliability import LabelledItems, labelled_items
from jobs.report_tables import (
    confidence_level_counts,
    costly_items,
    error_counts,
    group_scores,
    item_pass_rates,
    label_counts,
    metrics_table,
)
from pipeline.results import open_run

NO_CHECKLIST = "no checklist scorer in this run"
NO_ANNOTATIONS = "no annotations in this run"


@dataclass(frozen=True)
class ReportData:
    uri: str
    manifest: dict[str, Any]
    metrics: pl.DataFrame
    pass_rates: pl.DataFrame | None
    costly_items: pl.DataFrame | None
    errors: pl.DataFrame
    confidence_levels: pl.DataFrame | None
    histograms: dict[str, list[Histogram]]  # scorer name -> one per numeric score field
    labelled: LabelledItems | None
    groups: pl.DataFrame | None
    agreement: pl.DataFrame | None
    labels: pl.DataFrame | None  # human labels per author, review labels among them
    calibration: list[CalibrationPart]
    label_mass: LabelMass | None = None
    diff: RunDiff | None = None  # with --compare: the compared run minus this one

    @property
    def rows_summary(self) -> str:
        rows = self.manifest.get("rows", {})
        return (
            f"rows: {rows.get('in')} in, {rows.get('out')} out, {rows.get('errored')} with an error"
        )


def collect_report(
    uri: str, compare: str | None = None, storage_options: dict[str, Any] | None = None
) -> ReportData:
    """The report of the run at `uri` (and its diff to `compare`), both read with fsspec's
    `storage_options`."""
    run = open_run(uri, storage_options)
    pass_rates = item_pass_rates(run)
    return ReportData(
        uri=uri,
        manifest=run.manifest,
        metrics=metrics_table(run),
        pass_rates=pass_rates,
        costly_items=None if pass_rates is None else costly_items(pass_rates),
        errors=error_counts(run),
        confidence_levels=confidence_level_counts(run),
        histograms=score_histograms(run),
        labelled=labelled_items(run, storage_options),
        groups=group_scores(run),
        agreement=agreement_table(run),
        labels=label_counts(run),
        calibration=calibration_parts(uri, storage_options),
        label_mass=label_mass_report(run),
        diff=None if compare is None else diff_runs(run, open_run(compare, storage_options)),
    )
