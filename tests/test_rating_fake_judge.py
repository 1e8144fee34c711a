"""Likert, categorical and boolean scorers through the FAKE judge (hash-based distributions)."""

import pyarrow as pa
import pytest
from fake_judge import FakeJudge

from pipeline.spec_loader import SpecError, parse_spec
from pipeline.stages.judge_actor import score_table
from scorers.rating.interpret import boolean_fields, categorical_fields, likert_fields
from scorers.rating.scorer import RatingScorer
from scorers.rating.spec import BooleanSpec, CategoricalSpec, LikertSpec

BASE = {"input_column": "prompt", "target_column": "response"}


def table() -> pa.Table:
    return pa.table({"id": ["a", "b"], "prompt": ["p1", "p2"], "response": ["r1", None]})


def test_likert_is_the_expected_rating_over_the_digit_distribution():
    fields = likert_fields([0.1, 0.2, 0.3, 0.2, 0.2])
    assert fields["score"] == pytest.approx(1 * 0.1 + 2 * 0.2 + 3 * 0.3 + 4 * 0.2 + 5 * 0.2)
    assert fields["mode"] == 3


def test_categorical_gives_argmax_probability_and_entropy():
    fields = categorical_fields([0.5, 0.25, 0.25], ["pos", "neu", "neg"])
    assert fields["label"] == "pos" and fields["probability"] == 0.5
    assert fields["entropy_bits"] == pytest.approx(1.5)
    assert fields["distribution"] == [("pos", 0.5), ("neu", 0.25), ("neg", 0.25)]


def test_boolean_is_the_more_probable_answer_with_its_confidence():
    assert boolean_fields([0.7, 0.3]) == {"value": True, "confidence": 0.7}
    assert boolean_fields([0.2, 0.8])["value"] is False


@pytest.mark.parametrize(
    ("spec", "labels", "field"),
    [
        (LikertSpec(type="likert", key="k", question="Helpful?", scale=4, **BASE), 4, "score"),
        (
            CategoricalSpec(
                type="categorical", key="k", question="Tone?", labels=["x", "y", "z"], **BASE
            ),
            3,
            "label",
        ),
        (BooleanSpec(type="boolean", key="k", question="Safe?", **BASE), 2, "value"),
    ],
)
def test_each_label_scorer_scores_rows_and_reports_bad_ones(spec, labels, field):
    judge = FakeJudge()
    out = score_table(table(), [RatingScorer(spec)], judge, ["id"]).to_pylist()
    assert len(judge.calls) == 1 and len(judge.calls[0]) == 1
    assert out[0]["k"][field] is not None and out[0]["error"] is None
    assert out[0]["k"]["usage"]["judge_requests"] == 1
    assert out[1]["k"][field] is None and out[1]["error"] == "k: 'response' is null"


def test_categorical_prompt_lists_lettered_options_and_likert_the_scale():
    cat = RatingScorer(
        CategoricalSpec(
            type="categorical", key="c", question="Tone?", labels=["happy", "sad"], **BASE
        )
    )
    prompt = cat.prepare(table()).prompts[0]
    assert "A) happy\nB) sad" in prompt and "Tone?" in prompt
    likert = RatingScorer(
        LikertSpec(type="likert", key="l", question="Q?", anchors={1: "bad", 5: "good"}, **BASE)
    )
    assert "from 1 to 5 (1 = bad, 5 = good)" in likert.prepare(table()).prompts[0]
    assert likert.label_set.labels == ("1", "2", "3", "4", "5")


def test_all_scorers_of_a_batch_share_one_judge_call_per_label_set():
    specs = [
        BooleanSpec(type="boolean", key="safe", question="Safe?", **BASE),
        BooleanSpec(type="boolean", key="kind", question="Kind?", **BASE),
        LikertSpec(type="likert", key="help", question="Helpful?", **BASE),
    ]
    judge = FakeJudge()
    score_table(table(), [RatingScorer(s) for s in specs], judge, ["id"])
    assert sorted(len(c) for c in judge.calls) == [1, 2]  # yes/no questions together, likert apart


def job(scorer: dict) -> dict:
    return {
        "name": "j",
        "input": {"path": "x.parquet", "id_column": "id"},
        "output": {"path": "out"},
        "judge": {"model": "m/m"},
        "definition": {"scorers": [scorer]},
    }


@pytest.mark.parametrize(
    ("scorer", "message"),
    [
        (
            {
                "type": "likert",
                "key": "k",
                "question": "q",
                "target_column": "r",
                "custom_prompt": "{target} {foo}",
            },
            "template uses {foo}; available: anchors, input, question, scale, target",
        ),
        (
            {
                "type": "categorical",
                "key": "k",
                "question": "q",
                "target_column": "r",
                "labels": ["a", "a"],
            },
            "labels must be distinct",
        ),
        (
            {
                "type": "likert",
                "key": "k",
                "question": "q",
                "target_column": "r",
                "anchors": {7: "x"},
            },
            "outside the scale",
        ),
        (
            {
                "type": "checklist",
                "key": "k",
                "target_column": "r",
                "checklist": [{"question": "q"}],
                "custom_prompt": "{target} {history} {question}",
            },
            "template uses {history}; available: input, question, target",
        ),
        (
            {
                "type": "boolean",
                "key": "k",
                "question": "q",
                "target_column": "r",
                "metrics": [{"type": "mean", "field": "score"}],
            },
            "metric field 'score' is not a score field; available: value, confidence, label_mass",
        ),
    ],
)
def test_template_and_label_errors_fail_at_load(scorer, message):
    with pytest.raises(
        SpecError, match=message.replace("{", r"\{").replace("}", r"\}").replace("(", r"\(")
    ):
        parse_spec(job(scorer))


def test_the_openai_backend_needs_a_base_url():
    raw = job({"type": "boolean", "key": "k", "question": "q", "target_column": "r"})
    raw["judge"] = {"backend": "openai", "model": "served"}
    with pytest.raises(SpecError, match="needs base_url"):
        parse_spec(raw)
    raw["judge"]["base_url"] = "http://127.0.0.1:1/v1"
    assert parse_spec(raw).judge.base_url.endswith("/v1")
