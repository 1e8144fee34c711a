"""The report's Calibration section, read from RUN/calibration.json (pipeline.calibration.fit).

A run that applied another run's calibration (`calibration: {from: RUN}`) has that run's file
copied, report included: the numbers shown are the fitting run's held-out measurements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from pipeline.storage.run_dir import CALIBRATION, RunDirectory

AGREEMENT_COLUMNS = ("roc_auc", "spearman", "kendall", "accuracy_at_0_5", "brier")
NO_CALIBRATION = f"no {CALIBRATION} in this run: it was not calibrated"
CALIBRATOR_SCHEMA = {
    "name": pl.String,
    "n_fit": pl.Int64,
    "n_holdout": pl.Int64,
    "ece_before": pl.Float64,
    "ece_after": pl.Float64,
    "brier_before": pl.Float64,
    "brier_after": pl.Float64,
    "skipped": pl.String,
}


@dataclass(frozen=True)
class CalibrationPart:
    title: str
    note: str  # one line saying what the table measures, or why there is none
    table: pl.DataFrame | None


def calibration_parts(
    uri: str, storage_options: dict[str, Any] | None = None
) -> list[CalibrationPart]:
    """The calibrators' before/after table, then the composite's comparison and weights."""
    run_dir = RunDirectory(uri, storage_options)
    if not run_dir.fs.exists(run_dir.join(CALIBRATION)):
        return [CalibrationPart("calibration", NO_CALIBRATION, None)]
    calibration: dict[str, Any] = run_dir.read_json(CALIBRATION)
    report: dict[str, Any] = calibration.get("report") or {}
    parts = [_calibrators_part(calibration, report)]
    composite = report.get("composite")
    if composite is not None:
        parts += _composite_parts(calibration.get("composite") or {}, composite)
    return parts


def _calibrators_part(calibration: dict[str, Any], report: dict[str, Any]) -> CalibrationPart:
    holdout = calibration.get("holdout")
    title = (
        f"calibration ({calibration.get('method')}, holdout {holdout:g}): ECE and Brier"
        if isinstance(holdout, int | float)
        else f"calibration ({calibration.get('method')}): ECE and Brier"
    )
    names = sorted(name for name in report if name not in ("overall", "composite"))
    rows = [_calibrator_row(name, report[name]) for name in names]
    if "overall" in report:
        rows.append(_calibrator_row("overall", report["overall"]))
    if not rows:
        return CalibrationPart(title, "no labelled checklist items to calibrate", None)
    table = pl.DataFrame(rows, schema=CALIBRATOR_SCHEMA, orient="row")
    if table["skipped"].is_null().all():
        table = table.drop("skipped")
    note = "fitted on labelled samples outside the holdout; measured on the held-out ones"
    return CalibrationPart(title, note, table)


def _calibrator_row(name: str, entry: dict[str, Any]) -> tuple[Any, ...]:
    before, after = entry.get("before") or {}, entry.get("after") or {}
    return (
        name,
        entry.get("n_fit"),
        entry.get("n_holdout"),
        before.get("ece"),
        after.get("ece"),
        before.get("brier"),
        after.get("brier"),
        entry.get("skipped"),
    )


def _composite_parts(fitted: dict[str, Any], report: dict[str, Any]) -> list[CalibrationPart]:
    column = fitted.get("column") or "composite"
    label = fitted.get("label") or "the overall human label"
    title = f"composite {column} vs weighted_score, predicting {label}"
    if report.get("skipped"):
        note = f"no composite: {report['skipped']} ({report.get('n_fit')} usable labels)"
        return [CalibrationPart(title, note, None)]
    comparison = pl.DataFrame(
        [
            {"score": score, "n": (report.get(score) or {}).get("n")}
            | {key: (report.get(score) or {}).get(key) for key in AGREEMENT_COLUMNS}
            for score in ("composite", "weighted_score")
        ],
        schema={"score": pl.String, "n": pl.Int64} | dict.fromkeys(AGREEMENT_COLUMNS, pl.Float64),
    )
    n_fit, n_holdout = report.get("n_fit"), report.get("n_holdout")
    parts = [
        CalibrationPart(
            title,
            f"weights fitted on {n_fit} labelled samples outside the holdout; "
            f"both scores measured on the {n_holdout} held-out ones",
            comparison,
        )
    ]
    weights = report.get("weights") or {}
    if weights:
        table = pl.DataFrame(
            {"question": list(weights), "coefficient": [float(w) for w in weights.values()]},
        )
        note = "learnt coefficient of each item's confidence (logistic regression)"
        parts.append(CalibrationPart(f"composite weights of {column}", note, table))
    return parts
