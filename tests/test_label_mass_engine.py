"""The label-mass floor on the real engine: the untrained model answers random tokens, and the
trained judge, asked for a digit, answers Yes or No; both are unscored with the reason, the
run counts them per scorer and the report shows them."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from conftest import ENGINE_KWARGS

from jobs.report_data import collect_report
from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec
from pipeline.stages.judge_actor import score_table
from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.judge.label_mass import LabelMassFloor, no_label_reason

NO_LABEL = re.compile(r"the judge did not answer with a label \(label mass 0\.\d+\)")
QUESTIONS = [
    {"question": "Does the response answer the question that was asked?", "weight": 100},
    {"question": "Is the response free of factual errors?", "weight": 60},
]
CHECKLIST = {
    "type": "checklist",
    "key": "quality",
    "input_column": "prompt",
    "target_column": "response",
    "checklist": QUESTIONS,
}
# The trained judge only ever learned to answer Yes or No: asked for a digit, it still does.
LIKERT = {
    "type": "likert",
    "key": "helpfulness",
    "question": "How helpful is the response?",
    "scale": 5,
    "input_column": "prompt",
    "target_column": "response",
}
ROWS = 8


def scorable_rows(demo_parquet: Path, n: int) -> pl.DataFrame:
    return pl.read_parquet(demo_parquet).filter(pl.col("response").is_not_null()).head(n)


@pytest.mark.engine
def test_the_untrained_models_items_are_unscored_with_their_label_mass(vllm_judge, demo_parquet):
    rows = scorable_rows(demo_parquet, 3).to_arrow()
    scorer = ChecklistScorer(ChecklistScorerSpec(**CHECKLIST))
    floor = LabelMassFloor(vllm_judge, 0.5)  # what build_judge makes of it by default
    raw = score_table(rows, [scorer], vllm_judge, ["id"]).to_pylist()
    floored = score_table(rows, [scorer], floor, ["id"]).to_pylist()
    for before, after in zip(raw, floored, strict=True):
        assert before["error"] is None
        for item, unscored in zip(
            before["quality"]["item_scores"], after["quality"]["item_scores"], strict=True
        ):
            assert item["answer"] is not None  # the raw read: a confident answer all the same
            assert 0 < item["label_mass"] < 0.5
            assert unscored["answer"] is None and unscored["confidence"] is None
            assert unscored["label_mass"] == item["label_mass"]
            assert unscored["unscored_reason"] == no_label_reason(item["label_mass"])
        assert after["quality"]["primary_score"] is None
        assert after["error"].startswith("quality: 2 of 2 items unscored: item 0: ")


@pytest.fixture(scope="module")
def digit_run(tmp_path_factory, ray_cluster, trained_judge, demo_parquet):
    tmp = tmp_path_factory.mktemp("label-mass")
    data = tmp / "rows.parquet"
    scorable_rows(demo_parquet, ROWS).write_parquet(data)
    spec = {
        "name": "label-mass",
        "input": {"path": str(data), "id_column": "id"},
        "output": {"path": str(tmp / "run")},
        "judge": {"model": str(trained_judge), "engine_kwargs": ENGINE_KWARGS},
        "definition": {"scorers": [CHECKLIST, LIKERT]},
    }
    return run_job(parse_spec(spec))


@pytest.mark.ray
@pytest.mark.engine
def test_a_judge_asked_for_a_digit_that_answers_yes_or_no_is_unscored(digit_run):
    scores = pl.read_parquet(f"{digit_run.run_dir}/scores/*.parquet")
    helpfulness = scores["helpfulness"].struct.unnest()
    assert helpfulness["score"].is_null().all()
    assert (helpfulness["label_mass"] < 0.5).all()
    assert all(NO_LABEL.fullmatch(reason) for reason in helpfulness["unscored_reason"])
    items = scores.select(pl.col("quality").struct.field("item_scores")).explode("item_scores")
    items = items.unnest("item_scores")
    assert (items["label_mass"] > 0.5).all() and items["answer"].is_not_null().all()
    manifest = digit_run.manifest
    assert manifest["label_mass"] == {
        "quality": {"min_label_mass": 0.5, "unscored": 0},
        "helpfulness": {"min_label_mass": 0.5, "unscored": ROWS},
    }
    assert manifest["judge"]["requests_without_label"] == ROWS
    assert manifest["rows"]["errored"] == ROWS


@pytest.mark.ray
@pytest.mark.engine
def test_the_report_shows_the_label_mass_of_each_scorer(digit_run):
    report = collect_report(digit_run.run_dir).label_mass
    assert report is not None
    table = {row["scorer"]: row for row in report.table.to_dicts()}
    assert table["quality"]["answers"] == ROWS * len(QUESTIONS)
    assert table["quality"]["under_min"] == 0
    assert table["helpfulness"]["answers"] == ROWS
    assert table["helpfulness"]["under_min"] == ROWS
    assert sum(report.histograms["helpfulness"].counts) == ROWS
