"""Every metric template of the seed: mergeable under any block split, with and without group_by,
checked against Polars or plain Python, and spec errors that say what to fix."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from metric_blocks import compute_metrics

from scorers.metrics.aggregate import (
    BoundMetric,
    finalize,
    merge_partials,
    partial_states,
)
from scorers.metrics.spec import MetricSpec

SCORE_TYPE = pa.struct(
    [
        ("score", pa.float64()),
        ("flag", pa.bool_()),
        ("answer", pa.string()),
        ("is_unique", pa.bool_()),
    ]
)
COLUMN_TYPES = {"label": pa.bool_(), "gold": pa.string(), "model": pa.string(), "lang": pa.int64()}
FIRST_AND_COUNT = "def compute_metric(values):\n    return {'first': values[0], 'n': len(values)}\n"
SUM = "async def compute_metric(values):\n    return sum(values)\n"


def scored_table(scores: list[dict[str, Any]], **columns: list[Any]) -> pa.Table:
    """A scored table: scorer "q" as a struct column, label and group columns at top level."""
    arrays = {"q": pa.array(scores, type=SCORE_TYPE)}
    arrays |= {name: pa.array(values, type=COLUMN_TYPES[name]) for name, values in columns.items()}
    return pa.table(arrays)


def split(table: pa.Table, cuts: list[int]) -> list[pa.Table]:
    bounds = sorted({0, table.num_rows, *(c % (table.num_rows + 1) for c in cuts)})
    return [table.slice(a, b - a) for a, b in itertools.pairwise(bounds)]


def bind(**spec: Any) -> BoundMetric:
    return BoundMetric.from_spec("q", MetricSpec.model_validate(spec))


def every_template(group_by: list[str]) -> list[BoundMetric]:
    def named(name: str, **spec: Any) -> BoundMetric:
        return bind(name=name, group_by=group_by, **spec)

    return [
        named("mean", type="mean", field="score"),
        named("min", type="min", field="score"),
        named("max", type="max", field="score"),
        named("stddev", type="stddev", field="score"),
        named("mean_flag", type="mean", field="flag"),
        named("frequency", type="frequency", field="answer"),
        named("frequency_flag", type="frequency", field="flag"),
        named("binary", type="binary_classification", field="flag", label_column="label"),
        named("binary_threshold", type="binary_classification", field="score",
              label_column="label", threshold=0.5),
        named("precision", type="precision", field="flag", label_column="label"),
        named("recall", type="recall", field="flag", label_column="label"),
        named("f1", type="f1", field="flag", label_column="label"),
        named("multiclass", type="multiclass_classification", field="answer", label_column="gold"),
        named("python", type="python", field="answer", compute_metric_snippet=FIRST_AND_COUNT),
        named("python_sum", type="python", field="score", compute_metric_snippet=SUM),
    ]  # fmt: skip


def assert_same(a: Any, b: Any) -> None:
    """Equal, floats up to merge rounding (sums and variances depend on the split)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-6)
    else:
        assert a == b


classes = st.sampled_from(["a", "b", "c"])
score_row = st.fixed_dictionaries(
    {
        "score": st.one_of(st.none(), st.just(math.nan), st.floats(-1e6, 1e6, allow_nan=False)),
        "flag": st.one_of(st.none(), st.booleans()),
        "answer": st.one_of(st.none(), classes),
    }
)
rows = st.lists(
    st.tuples(
        score_row,
        st.one_of(st.none(), st.booleans()),
        st.one_of(st.none(), classes),
        st.one_of(st.none(), st.sampled_from(["m1", "m2"])),
        st.sampled_from([1, 2]),
    ),
    max_size=50,
)


def table_of(drawn: list[tuple[Any, ...]]) -> pa.Table:
    columns = [list(c) for c in zip(*drawn, strict=True)] if drawn else [[]] * 5
    scores, label, gold, model, lang = columns
    return scored_table(scores, label=label, gold=gold, model=model, lang=lang)


@settings(max_examples=120, deadline=None)
@given(
    rows,
    st.lists(st.integers(0, 1000), max_size=8),
    st.sampled_from([[], ["model"], ["model", "lang"]]),
)
def test_every_template_gives_the_same_result_under_any_block_split(drawn, cuts, group_by):
    table = table_of(drawn)
    metrics = every_template(group_by)
    whole = compute_metrics([table], metrics)
    assert_same(whole, compute_metrics(split(table, cuts), metrics))
    json.dumps(whole)
    if group_by:
        for name, metric in whole.items():
            assert sum(g["count"] + g["skipped"] for g in metric["groups"].values()) == len(drawn)
            assert sum(g["count"] for g in metric["groups"].values()) == metric["count"], name


def test_partials_survive_json_between_blocks():
    table = table_of(
        [({"score": 0.5, "flag": True, "answer": "a"}, True, "a", "m1", 1)] * 3
        + [({"score": None, "flag": False, "answer": "b"}, False, "c", None, 2)] * 2
    )
    metrics = every_template(["model"])
    shipped = [json.loads(json.dumps(partial_states(t, metrics))) for t in split(table, [2, 4])]
    merged = merge_partials(merge_partials(shipped[0], shipped[1], metrics), shipped[2], metrics)
    assert_same(finalize(merged, metrics), compute_metrics([table], metrics))


# --- values against an independent computation


def polars_binary(df: pl.DataFrame, pred: pl.Expr) -> dict[str, Any]:
    both = df.filter(pl.col("pred").is_not_null() & pl.col("label").is_not_null())
    c = both.select(
        tp=(pred & pl.col("label")).sum(),
        fp=(pred & ~pl.col("label")).sum(),
        fn=(~pred & pl.col("label")).sum(),
        tn=(~pred & ~pl.col("label")).sum(),
    ).row(0, named=True)
    tp, fp, fn, tn = c["tp"], c["fp"], c["fn"], c["tn"]

    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    return {
        "accuracy": ratio(tp + tn, both.height),
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
    }  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(rows)
def test_binary_types_equal_polars(drawn):
    table = table_of(drawn)
    result = compute_metrics([table], every_template([]))
    labels = pl.Series([r[1] for r in drawn], dtype=pl.Boolean)
    df = pl.DataFrame(
        {"pred": pl.Series([r[0]["flag"] for r in drawn], dtype=pl.Boolean), "label": labels}
    )
    want = polars_binary(df, pl.col("pred"))
    assert_same(result["binary"]["value"], want)
    for name in ("precision", "recall", "f1"):
        assert_same(result[name]["value"], want[name])
    assert (
        result["binary"]["skipped"]
        == df.filter(pl.col("pred").is_null() | pl.col("label").is_null()).height
    )

    scores = pl.Series([r[0]["score"] for r in drawn], dtype=pl.Float64).fill_nan(None)
    df = pl.DataFrame({"pred": scores, "label": labels})
    assert_same(result["binary_threshold"]["value"], polars_binary(df, pl.col("pred") >= 0.5))


@settings(max_examples=80, deadline=None)
@given(rows)
def test_multiclass_equals_plain_python(drawn):
    result = compute_metrics([table_of(drawn)], every_template([]))["multiclass"]
    pairs = [
        (r[2], r[0]["answer"]) for r in drawn if r[2] is not None and r[0]["answer"] is not None
    ]
    per_class = {}
    for c in sorted({x for pair in pairs for x in pair}):
        tp = sum(1 for g, p in pairs if g == c and p == c)
        predicted = sum(1 for _, p in pairs if p == c)
        support = sum(1 for g, _ in pairs if g == c)
        per_class[c] = {
            "precision": tp / predicted if predicted else None,
            "recall": tp / support if support else None,
            "f1": 2 * tp / (predicted + support),
            "support": support,
        }

    def macro(score: str) -> float | None:
        defined = [s[score] for s in per_class.values() if s[score] is not None]
        return sum(defined) / len(defined) if defined else None

    counts = Counter(pairs)
    assert_same(
        result["value"],
        {
            "accuracy": sum(g == p for g, p in pairs) / len(pairs) if pairs else None,
            "macro_precision": macro("precision"),
            "macro_recall": macro("recall"),
            "macro_f1": macro("f1"),
            "per_class": per_class,
            "confusion": {
                g: {p: counts[(g, p)] for p in sorted({p for gg, p in counts if gg == g})}
                for g in sorted({g for g, _ in counts})
            },
        },
    )
    assert result["count"] == len(pairs) and result["skipped"] == len(drawn) - len(pairs)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_grouped_mean_and_frequency_equal_polars(drawn):
    result = compute_metrics([table_of(drawn)], every_template(["model"]))
    df = pl.DataFrame(
        {"model": [r[3] for r in drawn], "score": [r[0]["score"] for r in drawn]},
        schema={"model": pl.String, "score": pl.Float64},
    ).with_columns(pl.col("score").fill_nan(None))
    want = df.group_by("model").agg(
        pl.col("score").mean(), pl.col("score").null_count().alias("skipped")
    )
    got = result["mean"]["groups"]
    assert set(got) == {json.dumps({"model": m}) for m in want["model"]}
    for row in want.iter_rows(named=True):
        group = got[json.dumps({"model": row["model"]})]
        assert group["group"] == {"model": row["model"]}
        assert_same(group["value"], row["score"])
        assert group["skipped"] == row["skipped"]
    answers = Counter(r[0]["answer"] for r in drawn if r[0]["answer"] is not None)
    assert result["frequency"]["value"] == dict(
        sorted(answers.items(), key=lambda kv: (-kv[1], kv[0]))
    )
