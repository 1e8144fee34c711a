"""The report's figures, drawn by matplotlib and returned as inline SVG.

Figures are built with `matplotlib.figure.Figure` (no pyplot, no global state, no display);
text stays text in the SVG (`svg.fonttype: none`), so the page is small and searchable.
matplotlib is imported here only, when a report is written, so the CLI starts fast.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import polars as pl

from jobs.report_histograms import Histogram
from jobs.report_tables import CONFIDENCE_LEVELS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_IN = 8.0
LABEL_CHARS = 60
MAX_BARS = 40


def to_svg(figure: Figure) -> str:
    """The figure as an <svg> element, without the XML prolog a standalone file has."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(height_in: float, columns: int = 1) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
    axes = figure.subplots(1, columns, squeeze=False)[0]
    return figure, list(axes)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def score_histograms(scorer: str, histograms: list[Histogram]) -> str:
    """One panel per numeric score field; the title gives the bimodality coefficient."""
    figure, axes = _figure(2.6, columns=len(histograms))
    for ax, histogram in zip(axes, histograms, strict=True):
        ax.stairs(histogram.counts, histogram.edges, fill=True, color="#4878a8")
        shape = "" if histogram.bimodality is None else f"\nBC={histogram.bimodality:.2f}"
        ax.set_title(f"{histogram.field}{shape}", fontsize=8)
        ax.tick_params(labelsize=7)
    figure.suptitle(scorer, fontsize=10)
    return to_svg(figure)


def label_mass_histograms(histograms: dict[str, Histogram], floors: dict[str, float | None]) -> str:
    """Answers per label-mass bin, one panel per scorer, its min_label_mass as a red line."""
    figure, axes = _figure(2.6, columns=len(histograms))
    for ax, (scorer, histogram) in zip(axes, histograms.items(), strict=True):
        ax.stairs(histogram.counts, histogram.edges, fill=True, color="#4878a8")
        floor = floors.get(scorer)
        if floor is not None:
            ax.axvline(floor, color="#c44e52", linewidth=1.2, label=f"min_label_mass {floor:g}")
            ax.legend(fontsize=7)
        ax.set_title(scorer, fontsize=8)
        ax.set_xlabel("label mass", fontsize=8)
        ax.set_xlim(0, 1)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("answers", fontsize=8)
    return to_svg(figure)


def _horizontal_bars(
    labels: list[str], values: list[float], xlabel: str, xlim: tuple[float, float]
) -> str:
    labels, values = labels[:MAX_BARS], values[:MAX_BARS]
    figure, (ax,) = _figure(0.9 + 0.3 * len(labels))
    positions = list(range(len(labels)))
    colours = ["#c44e52" if v < 0 else "#4878a8" for v in values]
    ax.barh(positions, values, color=colours)
    ax.set_yticks(positions, [_short(label) for label in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_xlim(*xlim)
    ax.axvline(0, color="black", linewidth=0.8)
    return to_svg(figure)


def pass_rate_bars(pass_rates: pl.DataFrame) -> str:
    rates = pass_rates.drop_nulls("pass_rate")
    labels = [f"{s}: {q}" for s, q in rates.select("scorer", "question").iter_rows()]
    return _horizontal_bars(labels, rates["pass_rate"].to_list(), 'share of "yes"', (0, 1))


def delta_bars(diff: pl.DataFrame) -> str:
    """One bar per item of a diff table (jobs.diff): its pass-rate change B - A."""
    changed = diff.drop_nulls("change")
    labels = [f"{s}: {q}" for s, q in changed.select("scorer", "question").iter_rows()]
    return _horizontal_bars(labels, changed["change"].to_list(), "pass rate change", (-1, 1))


def confidence_level_bars(counts: pl.DataFrame) -> str:
    """Items per confidence level, one bar per scorer side by side."""
    figure, (ax,) = _figure(3.0)
    scorers = counts["scorer"].unique(maintain_order=True).to_list()
    width = 0.8 / len(scorers)
    for n, scorer in enumerate(scorers):
        mine = counts.filter(pl.col("scorer") == scorer)
        per_level = dict(zip(mine["confidence_level"].cast(pl.String), mine["items"], strict=True))
        heights = [per_level.get(level, 0) for level in CONFIDENCE_LEVELS]
        positions = [i + n * width for i in range(len(CONFIDENCE_LEVELS))]
        ax.bar(positions, heights, width, label=scorer)
    ax.set_xticks(
        [i + 0.4 - width / 2 for i in range(len(CONFIDENCE_LEVELS))], list(CONFIDENCE_LEVELS)
    )
    ax.set_ylabel("items")
    ax.legend(fontsize=8)
    return to_svg(figure)


def reliability_diagram(curves: dict[str, pl.DataFrame]) -> str:
    """Fraction of human "yes" against mean confidence per bin, one curve per name; the
    diagonal is a perfectly calibrated judge. Marker area grows with the items in a bin."""
    figure, (ax,) = _figure(4.5)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, bins in curves.items():
        largest = bins["n"].max() or 1
        sizes = [12 + 60 * n / largest for n in bins["n"].to_list()]
        x, y = bins["mean_confidence"].to_list(), bins["fraction_yes"].to_list()
        (line,) = ax.plot(x, y, label=name)
        ax.scatter(x, y, s=sizes, color=line.get_color())
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("mean confidence in bin")
    ax.set_ylabel('fraction of human "yes"')
    ax.legend(fontsize=8, loc="upper left")
    return to_svg(figure)


def group_bars(groups: pl.DataFrame) -> str:
    """Mean primary score per group, one panel per scorer x group column."""
    panels = groups.partition_by("scorer", "column", maintain_order=True, as_dict=True)
    figure, axes = _figure(3.0, columns=len(panels))
    for ax, ((scorer, column), frame) in zip(axes, panels.items(), strict=True):
        ax.bar(frame["group"].fill_null("(null)").to_list(), frame["primary_score"].to_list())
        ax.set_title(f"{scorer} by {column}", fontsize=9)
        ax.set_ylabel("mean primary_score")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return to_svg(figure)
