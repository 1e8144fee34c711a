"""The static HTML page of `rayscore report --html`: Polars tables and matplotlib figures.

Self-contained: inline CSS, figures as inline <svg>, no scripts, no external URLs; it opens
from disk in any browser and can be mailed as one file.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import escape
from pathlib import Path

import polars as pl

from jobs import report_plots as plots
from jobs.diff import RunDiff
from jobs.diff.drift import CALIBRATION_TITLE
from jobs.diff.view import diff_view
from jobs.report_data import NO_ANNOTATIONS, NO_CHECKLIST, ReportData
from jobs.report_histograms import BIMODAL_ABOVE
from jobs.report_label_mass import LABEL_MASS_TITLE, NO_LABEL_MASS, LabelMass
from jobs.report_reliability import LabelledItems, reliability_bins
from jobs.report_tables import PASS_RATE_COLUMNS

MAX_TABLE_ROWS = 200
STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.note { color: #666; font-style: italic; }
svg { max-width: 100%; height: auto; display: block; margin: 0.8em 0; }
"""


def write_report(data: ReportData, path: str) -> str:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(report_page(data), encoding="utf-8")
    return str(target.resolve())


def report_page(data: ReportData) -> str:
    title = f"rayscore report: {data.manifest.get('name') or data.uri}"
    where = f"run {data.uri}, run id {data.manifest.get('run_id')}"
    sections = list(_sections(data))
    contents = "".join(
        f'<li><a href="#s{n}">{escape(heading)}</a></li>' for n, (heading, _) in enumerate(sections)
    )
    body = "".join(
        f'<h2 id="s{n}">{escape(heading)}</h2>{"".join(parts)}'
        for n, (heading, parts) in enumerate(sections)
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"{_paragraph(where)}<ul>{contents}</ul>{body}</body></html>\n"
    )


def html_table(frame: pl.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> str:
    head = "".join(f"<th>{escape(name)}</th>" for name in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(value))}</td>" for value in row) + "</tr>"
        for row in frame.head(max_rows).iter_rows()
    )
    more = f" ({frame.height - max_rows} more rows left out)" if frame.height > max_rows else ""
    return f"<table><tr>{head}</tr>{rows}</table>{_note(more) if more else ''}"


def reliability_section(labelled: LabelledItems | None) -> list[str]:
    if labelled is None:
        return [_note(f"{NO_ANNOTATIONS} for checklist items")]
    if labelled.frame.is_empty():
        return [_note(f"no labelled items to show: {labelled.note}")]
    curves = {"before calibration": reliability_bins(labelled.frame, "confidence")}
    if curves["before calibration"].is_empty():
        return [_note(f"the judge gave no confidences: {labelled.note}")]
    parts = [_note(labelled.note)]
    if labelled.calibrated:
        curves["after calibration"] = reliability_bins(labelled.frame, "calibrated_confidence")
    else:
        parts.append(_note("the run was not calibrated: raw confidences only"))
    parts.append(plots.reliability_diagram(curves))
    for name, bins in curves.items():
        parts += [_paragraph(name), html_table(bins)]
    return parts


def _sections(data: ReportData) -> Iterator[tuple[str, list[str]]]:
    metrics = _note("no metrics in the spec") if data.metrics.is_empty() else None
    yield "Metrics", [metrics or html_table(data.metrics)]
    errors = _note("no row has an error") if data.errors.is_empty() else None
    yield "Errors", [_paragraph(data.rows_summary), errors or html_table(data.errors)]
    yield "Score distributions", _score_distributions(data)
    yield "Label mass", label_mass_section(data.label_mass)
    if data.pass_rates is None or data.costly_items is None:
        yield "Per-item pass rates", [_note(NO_CHECKLIST)]
    else:
        rates = data.pass_rates.select(PASS_RATE_COLUMNS)
        yield "Per-item pass rates", [plots.pass_rate_bars(rates), html_table(rates)]
        costly = [_note('weight x share of "no", largest first'), html_table(data.costly_items)]
        yield "Items that lose the most points", costly
    levels = data.confidence_levels
    if levels is None or levels.is_empty():
        yield "Confidence levels", [_note("no scored checklist items in this run")]
    else:
        yield "Confidence levels", [plots.confidence_level_bars(levels), html_table(levels)]
    yield "Reliability", reliability_section(data.labelled)
    calibration = [(_paragraph(p.title) + _note(p.note), p.table) for p in data.calibration]
    yield "Calibration", [text + ("" if t is None else html_table(t)) for text, t in calibration]
    if data.groups is None:
        yield "Groups", [_note("no group_by in the metrics and no model column")]
    else:
        yield "Groups", [plots.group_bars(data.groups), html_table(data.groups)]
    if data.agreement is None:
        yield "Agreement with human labels", [_note(NO_ANNOTATIONS)]
    else:
        counts = [] if data.labels is None else [html_table(data.labels)]
        yield "Agreement with human labels", [*counts, html_table(data.agreement)]
    if data.diff is not None:
        yield f"Compared with {data.diff.b}", comparison_section(data.diff)


def _score_distributions(data: ReportData) -> list[str]:
    if not data.histograms:
        return [_note("no numeric scores in this run")]
    figures = [plots.score_histograms(name, h) for name, h in data.histograms.items()]
    bimodal = f"BC: bimodality coefficient; above {BIMODAL_ABOVE:.3f} hints at two modes"
    return [_note(bimodal), *figures]


def label_mass_section(label_mass: LabelMass | None) -> list[str]:
    if label_mass is None:
        return [_note(NO_LABEL_MASS)]
    figure = plots.label_mass_histograms(label_mass.histograms, label_mass.floors)
    return [_note(LABEL_MASS_TITLE), figure, html_table(label_mass.table)]


def comparison_section(diff: RunDiff) -> list[str]:
    """The diff table (as `rayscore diff`), a bar per changed item, and calibration drift."""
    items = diff.table.filter(pl.col("item").is_not_null())
    parts = [
        _note(
            f"change: {diff.b} (B) minus {diff.a} (A) per sample, with its 95% bootstrap "
            "interval; flagged where the interval excludes 0, or the item was reworded"
        ),
        plots.delta_bars(items) if not items.is_empty() else _note(NO_CHECKLIST),
        html_table(diff_view(diff.table)),
    ]
    if diff.calibration is not None:
        parts += [_paragraph(CALIBRATION_TITLE)]
        parts += [html_table(diff.calibration)]
    return parts


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _paragraph(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'
