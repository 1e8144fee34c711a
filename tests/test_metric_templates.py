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
from pydantic import ValidationError

from scorers.metrics.aggregate import (
    BoundMetric,
    MetricError,
    compute_metrics,
    finalize,
    merge_partials,
    partial_states,
)
from scorers.metrics.metrics_table import METRICS_ROW_SCHEMA, metrics_rows
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


# --- examples


def test_seed_uniqueness_rate_is_the_mean_of_is_unique():
    def compute_scores(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:  # the seed's example
        values = [s.get("answer") for s in samples]
        counter = Counter(values)
        return [{"is_unique": counter[v] == 1 if v is not None else True} for v in values]

    scores = compute_scores([{"answer": "Paris"}, {"answer": "London"}, {"answer": "Paris"}])
    assert [s["is_unique"] for s in scores] == [False, True, False]
    metric = bind(type="mean", field="is_unique", name="Uniqueness Rate")
    result = compute_metrics([scored_table(scores)], [metric])["Uniqueness Rate"]
    assert result["value"] == pytest.approx(1 / 3)
    assert (result["count"], result["skipped"], result["groups"]) == (3, 0, {})


def test_frequency_keys_booleans_as_json_text():
    table = scored_table([{"flag": True}, {"flag": False}, {"flag": True}, {"flag": None}])
    result = compute_metrics([table], [bind(type="frequency", field="flag")])["frequency_flag"]
    assert result["value"] == {"true": 2, "false": 1}
    assert {json.loads(k) for k in result["value"]} == {True, False}
    assert result["skipped"] == 1


def test_threshold_and_positive_label():
    table = scored_table(
        [{"score": 0.9}, {"score": 0.5}, {"score": 0.2}, {"score": 0.7}],
        gold=["yes", "no", "no", "yes"],
    )
    metric = bind(
        type="binary_classification", field="score", label_column="gold",
        positive_label="yes", threshold=0.6,
    )  # fmt: skip
    value = compute_metrics([table], [metric])[metric.name]["value"]
    assert value == {"accuracy": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0,
                     "tp": 2, "fp": 0, "tn": 2, "fn": 0}  # fmt: skip


def test_undefined_rates_are_none_not_zero():
    table = scored_table([{"flag": False}, {"flag": False}], label=[False, False])
    value = compute_metrics([table], [bind(type="binary_classification", field="flag",
                                           label_column="label")])  # fmt: skip
    assert value["binary_classification_flag"]["value"] == {
        "accuracy": 1.0, "precision": None, "recall": None, "f1": None,
        "tp": 0, "fp": 0, "tn": 2, "fn": 0,
    }  # fmt: skip


def test_python_metric_sees_each_groups_values_in_order():
    snippet = "def compute_metric(values):\n    return {'values': values}\n"
    table = scored_table(
        [{"answer": a} for a in ["x", "y", None, "z", "w"]], model=["a", "b", "a", "a", "b"]
    )
    metric = bind(type="python", field="answer", group_by=["model"], compute_metric_snippet=snippet)
    result = compute_metrics(split(table, [1, 3]), [metric])["python_answer"]
    assert result["value"] == {"values": ["x", "y", "z", "w"]}
    assert result["groups"]['{"model": "a"}'] == {
        "group": {"model": "a"}, "value": {"values": ["x", "z"]}, "count": 2, "skipped": 1,
    }  # fmt: skip
    assert result["groups"]['{"model": "b"}']["value"] == {"values": ["y", "w"]}


def test_metrics_rows_one_row_per_metric_and_group():
    table = scored_table([{"score": 1.0}, {"score": 3.0}, {"score": None}], model=["a", "b", "b"])
    metrics = [
        bind(type="mean", field="score", group_by=["model"]),
        bind(type="frequency", field="answer"),
    ]
    rows = metrics_rows(compute_metrics([table], metrics))
    assert rows.schema == METRICS_ROW_SCHEMA
    assert rows.to_pylist() == [
        {"metric": "mean_score", "type": "mean", "scorer": "q", "field": "score", "group": None,
         "value": 2.0, "value_json": "2.0", "count": 2, "skipped": 1},
        {"metric": "mean_score", "type": "mean", "scorer": "q", "field": "score",
         "group": '{"model": "a"}', "value": 1.0, "value_json": "1.0", "count": 1, "skipped": 0},
        {"metric": "mean_score", "type": "mean", "scorer": "q", "field": "score",
         "group": '{"model": "b"}', "value": 3.0, "value_json": "3.0", "count": 1, "skipped": 1},
        {"metric": "frequency_answer", "type": "frequency", "scorer": "q", "field": "answer",
         "group": None, "value": None, "value_json": "{}", "count": 0, "skipped": 3},
    ]  # fmt: skip


# --- errors


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "f1", "field": "flag"}, "type 'f1' needs label_column"),
        ({"type": "mean", "field": "score", "label_column": "label"}, "label_column is only used"),
        ({"type": "mean", "field": "score", "threshold": 0.5}, "threshold is only used"),
        ({"type": "frequency", "field": "x", "positive_label": "yes"}, "positive_label is only"),
        ({"type": "python", "field": "x"}, "type 'python' needs compute_metric_snippet"),
        ({"type": "mean", "field": "x", "compute_metric_snippet": "x = 1"}, "only used by type"),
        ({"type": "python", "field": "x", "compute_metric_snippet": "def compute_metric(v):\n"
          "    return (v =\n"}, "does not compile: line 2"),
        ({"type": "python", "field": "x", "compute_metric_snippet": "return 1"},
         "does not compile: line 1: 'return' outside function"),
        ({"type": "python", "field": "x", "compute_metric_snippet": "def metric(v): ..."},
         "must define `def compute_metric"),
        ({"type": "python", "field": "x", "compute_metric_snippet": "def compute_metric(a, b): 1"},
         "must take one argument"),
        ({"type": "mean", "field": "x", "group_by": ["m", "m"]}, r"group_by lists \['m'\]"),
        ({"type": "median", "field": "x"}, "Input should be 'mean'"),
        ({"type": "precision", "field": "x", "label_column": "y", "threshold": "nan"},
         "finite number"),
    ],
)  # fmt: skip
def test_spec_errors_say_what_to_fix(spec, message):
    with pytest.raises(ValidationError, match=message):
        MetricSpec.model_validate(spec)


def test_input_columns_are_label_then_group_by():
    spec = MetricSpec.model_validate(
        {"type": "f1", "field": "flag", "label_column": "gold", "group_by": ["model", "gold"]}
    )
    assert spec.input_columns() == ["gold", "model"]
    assert BoundMetric.from_spec("q", spec).input_columns() == ["gold", "model"]


def test_runtime_errors_name_the_metric():
    table = scored_table([{"answer": "a"}])
    with pytest.raises(MetricError, match=r"metric 'mean_answer' .*needs numbers.*string"):
        compute_metrics([table], [bind(type="mean", field="answer")])
    with pytest.raises(MetricError, match=r"lacks column\(s\) \['gold'\]"):
        compute_metrics([table], [bind(type="f1", field="flag", label_column="gold")])
    with pytest.raises(MetricError, match="has no field 'nope'"):
        compute_metrics([table], [bind(type="mean", field="nope")])
    bad = "def compute_metric(values):\n    return [1]\n"
    with pytest.raises(MetricError, match="must return a number or a dict, got list"):
        compute_metrics([table], [bind(type="python", field="answer", compute_metric_snippet=bad)])
