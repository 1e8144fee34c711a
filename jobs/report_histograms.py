"""Histograms of every scorer's numeric score fields, aggregated by Polars without loading the
scores: bin counts plus skew and kurtosis, from which Sarle's bimodality coefficient tells a
smooth distribution from one split in two (a judge that only ever says "sure yes" or "sure no").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from jobs.report_tables import scorer_names
from pipeline.results import RunResults

HISTOGRAM_BINS = 20
MAX_FIELDS = 6  # per scorer; more would make the panels unreadable
BIMODAL_ABOVE = 5 / 9  # the coefficient of a uniform distribution


@dataclass(frozen=True)
class Histogram:
    field: str
    edges: list[float]  # HISTOGRAM_BINS + 1 bin edges
    counts: list[int]
    bimodality: float | None  # None with fewer than 4 distinct-enough values


def score_histograms(run: RunResults) -> dict[str, list[Histogram]]:
    """Scorer name -> a histogram of each numeric field of its struct (bools left out)."""
    schema = run.samples.collect_schema()
    histograms: dict[str, list[Histogram]] = {}
    for key, name in scorer_names(run.manifest).items():
        dtype = schema.get(key)
        if not isinstance(dtype, pl.Struct):
            continue
        numeric = [f.name for f in dtype.fields if f.dtype.is_numeric()][:MAX_FIELDS]
        if numeric:
            values = {
                f: pl.col(key).struct.field(f).cast(pl.Float64).fill_nan(None) for f in numeric
            }
            histograms[name] = _histograms(run.samples, values)
    return histograms


def _histograms(samples: pl.LazyFrame, values: dict[str, pl.Expr]) -> list[Histogram]:
    stats = samples.select(
        expr
        for field, value in values.items()
        for expr in (
            value.hist(bin_count=HISTOGRAM_BINS, include_breakpoint=True).alias(f"{field}.hist"),
            value.skew(bias=False).alias(f"{field}.skew"),
            value.kurtosis(bias=False).alias(f"{field}.kurtosis"),
            value.count().alias(f"{field}.n"),
        )
    ).collect()
    out = []
    for field in values:
        bins = stats[f"{field}.hist"].struct.unnest()
        right = bins["breakpoint"].to_list()
        width = right[1] - right[0]
        coefficient = bimodality_coefficient(
            stats[f"{field}.skew"][0], stats[f"{field}.kurtosis"][0], stats[f"{field}.n"][0]
        )
        out.append(
            Histogram(field, [right[0] - width, *right], bins["count"].to_list(), coefficient)
        )
    return out


def bimodality_coefficient(skew: float | None, kurtosis: float | None, n: int) -> float | None:
    """Sarle's (skew² + 1) / (excess kurtosis + 3(n-1)² / ((n-2)(n-3))), from the sample
    skew and excess kurtosis; above 5/9 hints at two modes."""
    if n < 4 or skew is None or kurtosis is None or math.isnan(skew) or math.isnan(kurtosis):
        return None
    return (skew**2 + 1) / (kurtosis + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)))
