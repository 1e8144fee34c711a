"""How much probability the judge gave the labels where it answered, per judged scorer: a
judge that answers "Sure!" or opens "<think>" puts little there, and its P(yes) / (P(yes) +
P(no)) means nothing. Read from each checklist item, or each row of a single-question kind,
and aggregated by Polars; answers under the judge's min_label_mass were unscored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from jobs.report_histograms import Histogram
from jobs.report_tables import scorer_names
from pipeline.results import RunResults

FIELD = "label_mass"
BINS = 20
EDGES = [i / BINS for i in range(BINS + 1)]
NO_LABEL_MASS = "no answer in this run has a label mass (no log-probs were read)"
LABEL_MASS_TITLE = (
    "label mass: P(every label spelling) where the judge answered; under_min were unscored"
)


@dataclass(frozen=True)
class LabelMass:
    table: pl.DataFrame  # per scorer: answers, quantiles, min_label_mass and how many under it
    histograms: dict[str, Histogram]  # scorer name -> answers per label-mass bin over [0, 1]
    floors: dict[str, float | None]  # scorer name -> its judge's min_label_mass


def label_mass_report(run: RunResults) -> LabelMass | None:
    """The label masses of every scorer that has them; None when none has."""
    floors = {key: _floor(run.manifest, key) for key in scorer_names(run.manifest)}
    frames = [
        masses.select(
            pl.lit(name).alias("scorer"),
            pl.len().alias("answers"),
            pl.col(FIELD).min().alias("min"),
            pl.col(FIELD).quantile(0.1).alias("p10"),
            pl.col(FIELD).median().alias("median"),
            pl.col(FIELD).mean().alias("mean"),
            pl.lit(floors[key], pl.Float64).alias("min_label_mass"),
            _under(floors[key]).alias("under_min"),
            pl.col(FIELD).clip(0, 1).hist(bins=EDGES).implode().alias("counts"),
        )
        for key, name in scorer_names(run.manifest).items()
        if (masses := _masses(run, key)) is not None
    ]
    if not frames:
        return None
    table = pl.concat(frames).collect()
    if table["answers"].sum() == 0:
        return None
    histograms = {
        name: Histogram(FIELD, EDGES, counts.to_list(), None)
        for name, counts in zip(table["scorer"], table["counts"], strict=True)
    }
    names = scorer_names(run.manifest)
    return LabelMass(
        table=table.drop("counts"),
        histograms=histograms,
        floors={names[key]: floor for key, floor in floors.items() if names[key] in histograms},
    )


def _masses(run: RunResults, key: str) -> pl.LazyFrame | None:
    """The scorer's label masses, one row per answer that has one: from its rows' structs,
    or from its checklist items."""
    dtype = run.samples.collect_schema().get(key)
    if isinstance(dtype, pl.Struct) and FIELD in [f.name for f in dtype.fields]:
        masses = run.samples.select(pl.col(key).struct.field(FIELD))
    elif FIELD in run.items.collect_schema().names():
        masses = run.items.filter(pl.col("scorer") == key).select(FIELD)
    else:
        return None
    return masses.drop_nulls(FIELD)


def _under(floor: float | None) -> pl.Expr:
    if floor is None:
        return pl.lit(None, pl.UInt32)
    return (pl.col(FIELD) < floor).sum()


def _floor(manifest: dict[str, Any], key: str) -> float | None:
    """The scorer's min_label_mass as the run had it (None: a run from before it existed)."""
    floor = manifest.get("label_mass", {}).get(key, {}).get("min_label_mass")
    return None if floor is None else float(floor)
