"""`rayscore report RUN [--html FILE] [--compare RUN2]`: a finished run summarised as Polars
tables in the terminal and, with --html, as a static page with plots (jobs.report_html)."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from jobs.diff.command import diff_sections
from jobs.report_data import NO_ANNOTATIONS, NO_CHECKLIST, ReportData, collect_report
from jobs.report_label_mass import LABEL_MASS_TITLE, NO_LABEL_MASS
from jobs.report_tables import PASS_RATE_COLUMNS
from jobs.storage_options_flag import parse_storage_options

TERMINAL_TABLES = {
    "tbl_rows": 40,
    "tbl_cols": 12,
    "tbl_width_chars": 160,
    "fmt_str_lengths": 70,
    "float_precision": 3,
    "tbl_hide_dataframe_shape": True,
    "tbl_hide_column_data_types": True,
}


def report_command(
    run_dir: str, html: str | None, compare: str | None, storage_options: str | None = None
) -> int:
    data = collect_report(run_dir, compare, parse_storage_options(storage_options))
    with pl.Config(**TERMINAL_TABLES):
        for title, body in report_sections(data):
            print(f"\n{title}\n{body}")
    if html is not None:
        from jobs.report_html import write_report

        print(f"\nhtml report: {write_report(data, html)}")
    return 0


def report_sections(data: ReportData) -> Iterator[tuple[str, pl.DataFrame | str]]:
    """(title, table or one-line note) in the order the terminal shows them."""
    yield f"run {data.uri} ({data.manifest.get('name')})", data.rows_summary
    yield "metrics", data.metrics if not data.metrics.is_empty() else "no metrics in the spec"
    if data.pass_rates is None or data.costly_items is None:
        yield "per-item pass rates", NO_CHECKLIST
    else:
        yield 'per-item pass rates (share of "yes")', data.pass_rates.select(PASS_RATE_COLUMNS)
        yield 'items that lose the most points (weight x share of "no")', data.costly_items
    yield "errors by reason", data.errors if not data.errors.is_empty() else "no row has an error"
    yield LABEL_MASS_TITLE, NO_LABEL_MASS if data.label_mass is None else data.label_mass.table
    if data.groups is not None:
        yield "mean primary score per group", data.groups
    if data.agreement is None:
        yield "agreement with human labels", NO_ANNOTATIONS
    else:
        if data.labels is not None:
            yield "human labels by author (the latest per sample and name)", data.labels
        yield "agreement with human labels", data.agreement
    for part in data.calibration:
        if part.table is None:
            yield part.title, part.note
        else:
            yield f"{part.title}\n{part.note}", part.table
    if data.diff is not None:
        yield from diff_sections(data.diff)
