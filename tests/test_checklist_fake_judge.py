"""Checklist scoring plumbing through the FAKE judge (hash-based confidences, no model)."""

import pyarrow as pa
import pytest
from fake_judge import FakeJudge, fake_probability

from pipeline.stages.judge_actor import score_table
from scorers.checklist.formulas import answer_from_confidence
from scorers.checklist.prompt import default_item_template, item_prompts
from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistItem, ChecklistScorerSpec

CHECKLIST = [
    ChecklistItem(question="Is it right?", weight=100),
    ChecklistItem(question="Short?", weight=25),
]


def scorer(**overrides) -> ChecklistScorer:
    fields = {
        "type": "checklist",
        "key": "quality",
        "input_column": "prompt",
        "target_column": "response",
        "checklist": CHECKLIST,
        "primary_metric": "weighted",
    }
    return ChecklistScorer(ChecklistScorerSpec(**{**fields, **overrides}))


def table(**columns) -> pa.Table:
    base = {"id": ["a", "b", "c"], "prompt": ["p1", "p2", "p3"], "response": ["r1", None, "r3"]}
    return pa.table({**base, **columns})


def test_one_row_out_per_row_in_with_scores_or_a_reason():
    out = score_table(table(), [scorer()], FakeJudge(), ["id"])
    rows = out.to_pylist()
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert rows[1]["error"] == "quality: 'response' is null"
    assert rows[1]["quality"]["primary_score"] is None
    for row in (rows[0], rows[2]):
        assert row["error"] is None
        assert row["quality"]["primary_score"] == row["quality"]["weighted_score"]
        assert len(row["quality"]["item_scores"]) == 2


def test_item_confidence_is_the_judges_p_yes_for_that_exact_prompt():
    out = score_table(table(), [scorer()], FakeJudge(), ["id"]).to_pylist()
    prompts = item_prompts(default_item_template(), "p1", "r1", ["Is it right?", "Short?"])
    items = out[0]["quality"]["item_scores"]
    for item, prompt in zip(items, prompts, strict=True):
        assert item["confidence"] == pytest.approx(fake_probability(prompt))
        assert item["answer"] == answer_from_confidence(item["confidence"])
    yes = [i["answer"] == "yes" for i in items]
    assert out[0]["quality"]["weighted_score"] == pytest.approx((100 * yes[0] + 25 * yes[1]) / 125)


def test_all_of_a_batchs_requests_go_to_the_judge_in_one_call():
    judge = FakeJudge()
    score_table(table(), [scorer()], judge, ["id"])
    assert len(judge.calls) == 1 and len(judge.calls[0]) == 4  # 2 scorable rows x 2 items


def test_an_item_the_judge_could_not_score_is_null_with_a_reason_never_no():
    out = score_table(table(), [scorer()], FakeJudge(fail_when="Short?"), ["id"]).to_pylist()
    quality = out[0]["quality"]
    assert quality["primary_score"] is None and quality["pass_rate"] is None
    failed = quality["item_scores"][1]
    assert failed["answer"] is None and failed["confidence"] is None
    assert "fake failure" in failed["unscored_reason"]
    assert quality["item_scores"][0]["confidence"] is not None
    assert out[0]["error"].startswith("quality: 1 of 2 items unscored: item 1:")


def test_per_row_checklists_of_strings_get_the_default_weight():
    checklists = [["Is it right?", "Is it short?", "Is it kind?"], ["Right?"], []]
    rows = table(response=["r1", "r2", "r3"], rubric=checklists)
    s = scorer(checklist=None, checklist_column="rubric")
    out = score_table(rows, [s], FakeJudge(), ["id"]).to_pylist()
    assert len(out[0]["quality"]["item_scores"]) == 3
    assert out[0]["quality"]["item_scores"][0]["weight"] == 100.0
    assert out[2]["error"] == "quality: 'rubric' must be a non-empty list of questions"


def test_per_row_checklists_of_structs_and_a_bad_one_fails_alone():
    checklists = [
        [{"question": "Is it right?", "weight": 10.0}],
        None,
        [{"question": "Bad weight", "weight": 300.0}],
    ]
    rows = table(response=["r1", "r2", "r3"], rubric=checklists)
    s = scorer(checklist=None, checklist_column="rubric")
    out = score_table(rows, [s], FakeJudge(), ["id"]).to_pylist()
    assert out[0]["quality"]["item_scores"][0]["weight"] == 10.0
    assert out[0]["error"] is None
    assert out[1]["error"] == "quality: 'rubric' is null"
    assert out[2]["error"] == (
        "quality: 'rubric' item 1: weight must be a number in [0, 100], got 300.0"
    )


def test_usage_counts_requests_per_row():
    out = score_table(table(), [scorer()], FakeJudge(), ["id"]).to_pylist()
    assert out[0]["quality"]["usage"]["judge_requests"] == 2
    assert out[1]["quality"]["usage"]["judge_requests"] == 0
