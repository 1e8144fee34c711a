"""Metrics are mergeable: any split into blocks gives the whole-table result (and Polars')."""

import itertools
import math

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from metric_blocks import compute_metrics

from scorers.checklist.fields import SCORE_TYPE
from scorers.metrics.aggregate import BoundMetric

METRICS = [
    BoundMetric(name=t, type=t, scorer="q", field="primary_score")
    for t in ("mean", "min", "max", "stddev")
]
value = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))


def scored_table(values: list[float | None]) -> pa.Table:
    structs = [{"primary_score": v} for v in values]
    return pa.table({"q": pa.array(structs, type=SCORE_TYPE)})


def split(table: pa.Table, cuts: list[int]) -> list[pa.Table]:
    bounds = sorted({0, table.num_rows, *(c % (table.num_rows + 1) for c in cuts)})
    return [table.slice(a, b - a) for a, b in itertools.pairwise(bounds)]


@settings(max_examples=150, deadline=None)
@given(st.lists(value, min_size=0, max_size=60), st.lists(st.integers(0, 1000), max_size=8))
def test_any_block_split_gives_the_same_metrics(values, cuts):
    table = scored_table(values)
    whole = compute_metrics([table], METRICS)
    chunked = compute_metrics(split(table, cuts), METRICS)
    for name in whole:
        assert chunked[name]["count"] == whole[name]["count"]
        assert chunked[name]["skipped"] == whole[name]["skipped"]
        a, b = whole[name]["value"], chunked[name]["value"]
        assert (a is None and b is None) or a == pytest.approx(b, rel=1e-9, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.lists(value, min_size=2, max_size=60))
def test_metrics_equal_polars(values):
    result = compute_metrics([scored_table(values)], METRICS)
    series = pl.Series(values, dtype=pl.Float64).drop_nulls()
    expected = {
        "mean": series.mean(),
        "min": series.min(),
        "max": series.max(),
        "stddev": series.std(),
    }
    for name, want in expected.items():
        got = result[name]["value"]
        if want is None or (isinstance(want, float) and math.isnan(want)):
            assert got is None
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-6)
        assert result[name]["skipped"] == values.count(None)


def test_nan_is_skipped_and_counted():
    table = pa.table(
        {"q": pa.array([{"primary_score": v} for v in (1.0, float("nan"), 3.0)], type=SCORE_TYPE)}
    )
    result = compute_metrics([table], METRICS)
    assert result["mean"]["value"] == 2.0
    assert result["mean"]["skipped"] == 1 and result["mean"]["count"] == 2
