"""`rayscore diff RUN_A RUN_B`: the diff table (and calibration drift) in the terminal, --json
for machines, exit code 1 with --fail-on-regression when a score dropped beyond the noise."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from jobs.diff.drift import CALIBRATION_TITLE
from jobs.diff.noise import noise_floors
from jobs.diff.run_diff import RunDiff, diff_runs, regressions
from jobs.diff.view import diff_view
from jobs.storage_options_flag import parse_storage_options
from pipeline.results import open_run

TABLES = {
    "tbl_rows": 100,
    "tbl_cols": 14,
    "tbl_width_chars": 200,
    "fmt_str_lengths": 60,
    "float_precision": 3,
    "tbl_hide_dataframe_shape": True,
    "tbl_hide_column_data_types": True,
}


def diff_command(
    run_a: str,
    run_b: str,
    json_path: str | None = None,
    fail_on_regression: float | None = None,
    variance: str | None = None,
    storage_options: str | None = None,
) -> int:
    options = parse_storage_options(storage_options)
    floors = None if variance is None else noise_floors(variance)
    diff = diff_runs(open_run(run_a, options), open_run(run_b, options), floors)
    with pl.Config(**TABLES):
        for title, table in diff_sections(diff, variance):
            print(f"{title}\n{table}\n")
    if json_path is not None:
        Path(json_path).write_text(json.dumps(diff.to_json(), indent=1) + "\n")
        print(f"written to {json_path}")
    if fail_on_regression is None:
        return 0
    dropped = regressions(diff, fail_on_regression)
    if dropped.is_empty():
        print(f"no score dropped by more than {fail_on_regression:g} beyond the noise")
        return 0
    print(f"regression: {dropped.height} score(s) dropped by more than {fail_on_regression:g}")
    with pl.Config(**TABLES):
        print(dropped.select("scorer", "item", "question", "change", "low", "high", "noise_floor"))
    return 1


def diff_sections(diff: RunDiff, variance: str | None = None) -> list[tuple[str, pl.DataFrame]]:
    """(title, table): the diff, then the calibration drift when both runs have labels."""
    noise = f"noise floor from {variance}" if variance else "noise: the 95% interval excludes 0"
    title = f"changes from {diff.a} (A) to {diff.b} (B), B - A per sample; {noise}"
    sections = [(title, diff_view(diff.table))]
    if diff.calibration is not None:
        sections.append((CALIBRATION_TITLE, diff.calibration))
    return sections
