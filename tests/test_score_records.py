"""Score records as the score-records seed names them: the scorer's name plus the field, the
seed's data types, items as BOOLEAN answers, trace fields, purpose; score configs per name."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from pipeline.score_records import score_configs_json, score_records
from pipeline.stages.finish_rows import finish_rows
from scorers.checklist.fields import SCORE_TYPE
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.cross_sample.spec import PythonAllSamplesSpec
from scorers.rating.fields import BOOLEAN_TYPE
from scorers.rating.spec import BooleanSpec
from scorers.score_config import ScoreConfig

CHECKLIST = ChecklistScorerSpec(
    type="checklist",
    key="quality",
    display_name="Helpfulness",
    target_column="response",
    checklist=[{"question": "Q1?"}, {"question": "Q2?"}],
)
CORRECT = BooleanSpec(
    type="boolean", key="correct", display_name="correctness", purpose="qa",
    question="Is it right?", target_column="response",
)  # fmt: skip
USAGE = {"judge_requests": 1, "prompt_tokens": 10, "cached_prompt_tokens": 0, "generated_tokens": 1}


def item(index: int, answer: str, confidence: float) -> dict:
    return {
        "index": index, "question": f"Q{index + 1}?", "weight": 100.0, "answer": answer,
        "confidence": confidence, "confidence_level": "yes_90", "reasoning": None,
        "unscored_reason": None,
    }  # fmt: skip


def table() -> pa.Table:
    quality = {
        "primary_score": 0.5, "pass_rate": 0.5, "weighted_score": 0.5, "normalized_score": 0.55,
        "scaled_score_1_5": 3.0, "primary_metric": "pass",
        "item_scores": [item(0, "yes", 0.9), item(1, "no", 0.2)], "usage": USAGE,
        "unscored_reason": None,
    }  # fmt: skip
    correct = {"value": True, "confidence": 0.8, "label_mass": 0.9, "usage": USAGE,
               "unscored_reason": None}  # fmt: skip
    return pa.table(
        {
            "id": ["s1"],
            "env": ["production"],
            "who": ["alice"],
            "labels": [["a", "b"]],
            "quality": pa.array([quality], SCORE_TYPE),
            "correct": pa.array([correct], BOOLEAN_TYPE),
            "error": pa.nulls(1, pa.string()),
        }
    )


def records() -> list[dict]:
    specs = [CHECKLIST, CORRECT]
    configs = {s.key: s.field_configs(table().schema.field(s.key).type) for s in specs}
    trace = {"environment": "env", "user": "who", "tags": "labels"}
    return score_records(table(), "id", specs, configs, trace, "run1", "2026-01-01").to_pylist()


def test_names_are_the_scorer_name_plus_the_field_and_primary_fields_stand_alone():
    by_name = {r["name"]: r for r in records()}
    assert by_name["correctness"]["data_type"] == "BOOLEAN"
    assert by_name["correctness"]["value"] == 1.0
    assert by_name["correctness.confidence"]["data_type"] == "NUMERIC"
    assert by_name["Helpfulness"]["value"] == 0.5  # primary_score
    assert by_name["Helpfulness.pass_rate"]["config_id"] == "Helpfulness.pass_rate"
    assert "Helpfulness.primary_metric" not in by_name  # describes a score, is not one


def test_checklist_items_are_boolean_answers_with_the_confidence_in_metadata():
    items = [r for r in records() if r["name"].startswith("Helpfulness.item_")]
    assert [(r["name"], r["data_type"], r["value"]) for r in items] == [
        ("Helpfulness.item_0", "BOOLEAN", 1.0),
        ("Helpfulness.item_1", "BOOLEAN", 0.0),
    ]
    assert [json.loads(r["metadata"])["confidence"] for r in items] == [0.9, 0.2]
    assert {r["config_id"] for r in items} == {"Helpfulness.item"}


def test_trace_fields_and_purpose_travel_into_every_record():
    rows = records()
    assert {(r["environment"], r["user"], tuple(r["tags"])) for r in rows} == {
        ("production", "alice", ("a", "b"))
    }
    assert {r["purpose"] for r in rows if r["scorer_key"] == "correct"} == {"qa"}
    assert {r["purpose"] for r in rows if r["scorer_key"] == "quality"} == {"score"}
    assert {r["sample_id"] for r in rows} == {"s1"} and {r["source"] for r in rows} == {"EVAL"}


def test_score_configs_name_every_score_with_its_type_and_range():
    specs = [CHECKLIST, CORRECT]
    configs = {s.key: s.field_configs(table().schema.field(s.key).type) for s in specs}
    written = score_configs_json(specs, configs)
    assert written["Helpfulness.scaled_score_1_5"]["min"] == 1.0
    assert written["Helpfulness.scaled_score_1_5"]["max"] == 5.0
    assert written["correctness"]["data_type"] == "BOOLEAN"
    assert written["Helpfulness.item"]["data_type"] == "BOOLEAN"


def test_a_value_outside_its_config_is_an_error_in_its_row_and_no_record():
    spec = PythonAllSamplesSpec(
        type="python_all_samples",
        key="acc",
        compute_scores_snippet="def compute_scores(s):\n    return []\n",
        score_configs={"accuracy": {"data_type": "NUMERIC", "min": 0, "max": 1}},
    )
    acc_type = pa.struct([("accuracy", pa.float64())])
    scored = pa.table(
        {"id": ["a", "b"], "acc": pa.array([{"accuracy": 0.5}, {"accuracy": 1.5}], acc_type)}
    )
    configs = {"acc": spec.field_configs(acc_type)}
    errors = finish_rows(scored.append_column("error", pa.nulls(2, pa.string())), [], configs)
    assert errors["error"].to_pylist() == [None, "acc.accuracy: 1.5 is outside [0.0, 1.0]"]
    rows = score_records(scored, "id", [spec], configs, {}, "r", "t").to_pylist()
    assert [(r["sample_id"], r["value"]) for r in rows] == [("a", 0.5)]


def test_score_configs_must_name_score_fields_where_the_kind_knows_them():
    with pytest.raises(ValueError, match="score_configs \\['nope'\\] are not score fields"):
        BooleanSpec(
            type="boolean", key="b", question="q", target_column="r",
            score_configs={"nope": ScoreConfig(data_type="NUMERIC")},
        )  # fmt: skip


def test_checklist_item_records_are_the_specs_own_item_records():
    odd = [
        {**item(0, "yes", 0.9), "reasoning": "", "unscored_reason": "late"},
        {**item(1, None, float("nan")), "question": 'say "ü"\n', "calibrated_confidence": -0.0},
        {**item(2, "maybe", 1e-7), "reasoning": "because", "index": None},
    ]
    base = table().column("quality").to_pylist()[0]
    structs = pa.array(
        [{**base, "item_scores": odd}, None, {**base, "item_scores": None}, base], SCORE_TYPE
    )
    scored = pa.table({"id": ["a", "b", "c", "d"], "quality": structs})
    configs = {"quality": CHECKLIST.field_configs(SCORE_TYPE)}
    rows = score_records(scored, "id", [CHECKLIST], configs, {}, "r", "t").to_pylist()
    made = [
        (r["sample_id"], r["name"], r["config_id"], r["value"], r["comment"], r["metadata"])
        for r in rows
        if ".item_" in r["name"]
    ]
    numbers = {True: 1.0, False: 0.0, None: None}
    expected = [
        (sample, i["name"], i["config_id"], numbers[i["value"]], i["comment"],
         json.dumps(i["metadata"]))
        for sample, struct in zip("abcd", structs.to_pylist(), strict=True)
        if struct is not None
        for i in CHECKLIST.item_records(struct)
    ]  # fmt: skip
    assert made == expected and len(made) == 5


def test_values_are_kept_exactly_where_their_config_accepts_them():
    bounds = {"data_type": "NUMERIC", "min": 0, "max": 2**60}
    spec = PythonAllSamplesSpec(
        type="python_all_samples",
        key="acc",
        compute_scores_snippet="def compute_scores(s):\n    return []\n",
        score_configs={"count": bounds, "share": {**bounds, "max": 1}},
    )
    acc_type = pa.struct([("count", pa.int64()), ("share", pa.float64())])
    counts = [-1, 0, 2**60, 2**60 + 1, None]  # 2**60 + 1 is 2**60 as a float
    shares = [-1e-10, float("nan"), 1.0 + 1e-10, 1.01, None]
    scored = pa.table(
        {
            "id": list("abcde"),
            "acc": pa.array(
                [{"count": c, "share": s} for c, s in zip(counts, shares, strict=True)], acc_type
            ),
        }
    )
    configs = {"acc": spec.field_configs(acc_type)}
    rows = score_records(scored, "id", [spec], configs, {}, "r", "t").to_pylist()
    for field, values in (("count", counts), ("share", shares)):
        config = configs["acc"][field]
        kept = [r["sample_id"] for r in rows if r["name"] == f"acc.{field}"]
        assert kept == [
            s for s, v in zip("abcde", values, strict=True) if config.problem(v) is None
        ]
