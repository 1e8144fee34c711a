"""The overview page: the report's plots (jobs.report_plots) of this run, each beside a table
whose rows link to the samples behind a bin or a bar: the primary score's histogram per
scorer, the items that lose the most points, and the reliability of the judge's confidences
against the labels the run read (its annotations) and against those given in review."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

import polars as pl

from jobs import report_plots as plots
from jobs.report_histograms import score_histograms
from jobs.report_reliability import RELIABILITY_BINS, labelled_items, reliability_bins
from jobs.report_tables import COSTLY_ITEMS, item_pass_rates, scorer_names
from jobs.review.review_run import ReviewRun
from pipeline.annotations.labels_store import YES


@dataclass(frozen=True)
class LinkedRow:
    cells: list[str]
    link: str  # the samples behind the row


@dataclass(frozen=True)
class Panel:
    title: str
    svg: str
    header: list[str]
    rows: list[LinkedRow] = field(default_factory=list)


def overview(run: ReviewRun) -> list[Panel]:
    panels = _histogram_panels(run)
    costly = _costly_panel(run)
    if costly is not None:
        panels.append(costly)
    reliability = _reliability_panel(run)
    if reliability is not None:
        panels.append(reliability)
    return panels


def samples_link(**params: object) -> str:
    return "/samples?" + urlencode({k: v for k, v in params.items() if v is not None})


def _keys_by_name(run: ReviewRun) -> dict[str, str]:
    return {name: key for key, name in scorer_names(run.results.manifest).items()}


def _histogram_panels(run: ReviewRun) -> list[Panel]:
    keys = _keys_by_name(run)
    panels = []
    for name, histograms in score_histograms(run.results).items():
        primary = next((h for h in histograms if h.field == "primary_score"), None)
        if primary is None or keys.get(name) not in run.score_keys():
            continue
        edges = primary.edges
        rows = [
            LinkedRow(
                [f"{low:.2f}–{high:.2f}", str(count)],
                samples_link(scorer=keys[name], score_min=f"{low:.6g}", score_max=f"{high:.6g}"),
            )
            for low, high, count in zip(edges, edges[1:], primary.counts, strict=False)
            if count
        ]
        svg = plots.score_histograms(name, [primary])
        panels.append(Panel(f"{name}: primary score", svg, ["score", "samples"], rows))
    return panels


def _costly_panel(run: ReviewRun) -> Panel | None:
    rates = item_pass_rates(run.results)
    if rates is None:
        return None
    keys = _keys_by_name(run)
    costly = (
        rates.with_columns((pl.col("weight") * pl.col("no_rate")).alias("points_lost"))
        .sort("points_lost", descending=True, nulls_last=True)
        .head(COSTLY_ITEMS)
    )
    rows = [
        LinkedRow(
            [row["scorer"], row["question"], f"{row['weight']:g}", _share(row["no_rate"]),
             f"{row['points_lost'] or 0:.1f}"],
            samples_link(scorer=keys.get(row["scorer"]), item=row["index"], answer="no"),
        )
        for row in costly.to_dicts()
    ]  # fmt: skip
    header = ["scorer", "question", "weight", 'share "no"', "points lost"]
    return Panel("Items that lose the most points", plots.pass_rate_bars(rates), header, rows)


def _reliability_panel(run: ReviewRun) -> Panel | None:
    """Human "yes" against the judge's raw confidence: the run's annotations, and the labels
    given here (every reviewer's latest, read afresh)."""
    curves: dict[str, pl.DataFrame] = {}
    annotated = labelled_items(run.results, run.storage_options)
    if annotated is not None:
        curves["run's annotations"] = reliability_bins(annotated.frame, "confidence")
    reviewed = _reviewed_items(run)
    if reviewed.height:
        curves["review labels"] = reliability_bins(reviewed, "confidence")
    if not curves:
        return None
    scorer = next(iter(s.key for s in run.item_scorers()), None)
    rows = [
        LinkedRow(
            [curve, f"{b / RELIABILITY_BINS:.1f}–{(b + 1) / RELIABILITY_BINS:.1f}", str(n),
             _share(yes)],
            samples_link(
                scorer=scorer,
                confidence_min=f"{b / RELIABILITY_BINS:g}",
                confidence_max=f"{(b + 1) / RELIABILITY_BINS:g}",
            ),
        )
        for curve, bins in curves.items()
        for b, n, yes in bins.select("bin", "n", "fraction_yes").iter_rows()
    ]  # fmt: skip
    header = ["labels", "confidence", "items", 'human "yes"']
    return Panel("Reliability", plots.reliability_diagram(curves), header, rows)


def _reviewed_items(run: ReviewRun) -> pl.DataFrame:
    labels = run.store.answers().select(
        "sample_id", "name", (pl.col("answer") == YES).alias("human")
    )
    if not run.item_scorers() or labels.is_empty():
        return labels.with_columns(pl.lit(None, pl.Float64).alias("confidence"))
    items = run.results.items.select(
        pl.col(run.id_col).cast(pl.String).alias("sample_id"),
        run.item_label_name().alias("name"),
        "confidence",
    )
    return labels.lazy().join(items, on=["sample_id", "name"], how="inner").collect()


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"
