"""Metric templates on small hand-made tables (the seed's examples), and errors that say what to
fix. The property tests over any block split are in test_metric_templates.py."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from metric_blocks import compute_metrics
from pydantic import ValidationError
from test_metric_templates import bind, scored_table, split

from scorers.metrics.aggregate import BoundMetric, MetricError
from scorers.metrics.metrics_table import METRICS_ROW_SCHEMA, metrics_rows
from scorers.metrics.spec import MetricSpec

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
    about = {"scorer": "q", "scorer_name": "q"}
    assert rows.to_pylist() == [
        {"metric": "mean_score", "type": "mean", **about, "field": "score", "group": None,
         "value": 2.0, "value_json": "2.0", "count": 2, "skipped": 1},
        {"metric": "mean_score", "type": "mean", **about, "field": "score",
         "group": '{"model": "a"}', "value": 1.0, "value_json": "1.0", "count": 1, "skipped": 0},
        {"metric": "mean_score", "type": "mean", **about, "field": "score",
         "group": '{"model": "b"}', "value": 3.0, "value_json": "3.0", "count": 1, "skipped": 1},
        {"metric": "frequency_answer", "type": "frequency", **about, "field": "answer",
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
