"""What a serve replica does with merged requests, on the fake judge (plumbing only; the real
engine behind Ray Serve is tests/test_serve.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from fake_judge import FakeJudge
from serve_spec import serve_spec

from pipeline.plan import plan_of
from pipeline.serve.judge import GroupScorer, JudgeGroup
from pipeline.spec_loader import parse_spec

ITEMS = [{"question": "Is it short?", "weight": 1.0}, {"question": "Is it kind?", "weight": 2.0}]
# isotonic through (0, 1) and (1, 0): a calibrated confidence is 1 - the judge's
FLIP = {"calibrators": {"quality": {"method": "isotonic", "x": [0, 1], "y": [1, 0], "n": 9}}}


def group(tmp_path: Path, calibration: dict[str, object] | None = None) -> JudgeGroup:
    spec = parse_spec(serve_spec(tmp_path / "model", tmp_path / "in.parquet", tmp_path / "out"))
    assert spec.judge is not None
    return JudgeGroup(
        "judge",
        spec.judge,
        plan_of(spec).judged,
        calibration={**FLIP, "composite": None} if calibration else None,
        calibrated={"quality": "quality"} if calibration else {},
    )


def request(*responses: str | None) -> pa.Table:
    n = len(responses)
    return pa.table(
        {
            "prompt": ["Why?"] * n,
            "response": pa.array(responses, pa.string()),
            "checklist": [ITEMS] * n,
        }
    )


def test_merged_requests_go_to_the_judge_together_and_come_back_apart(tmp_path: Path) -> None:
    judge = FakeJudge()
    scorer = GroupScorer(group(tmp_path), judge)
    first, second = request("Because.", None), request("No.")
    merged = scorer.score_each([first, second])
    assert [t.num_rows for t in merged] == [2, 1]
    assert scorer.batches == 1
    labels_sets = 2  # yes/no for both checklists, 1..5 for the likert rating
    assert len(judge.calls) == labels_sets
    alone = GroupScorer(group(tmp_path), FakeJudge())
    assert merged[0].to_pylist() == alone.score(first).to_pylist()
    assert merged[1].to_pylist() == alone.score(second).to_pylist()
    assert merged[0]["error"].to_pylist()[0] is None
    assert merged[0]["error"].to_pylist()[1]  # no response: an error in its row


def test_requests_of_another_schema_are_scored_in_their_own_batch(tmp_path: Path) -> None:
    scorer = GroupScorer(group(tmp_path), FakeJudge())
    odd = request("Yes.").set_column(2, "checklist", pa.array([["Is it short?"]]))
    out = scorer.score_each([request("Because."), odd, request("No.", "Maybe.")])
    assert scorer.batches == 2
    assert [t.num_rows for t in out] == [1, 1, 2]
    assert out[1]["rubric"].to_pylist()[0]["item_scores"][0]["question"] == "Is it short?"
    assert out[2]["error"].to_pylist() == [None, None]


def test_a_stored_calibration_is_applied_to_its_checklists(tmp_path: Path) -> None:
    out = GroupScorer(group(tmp_path, calibration=FLIP), FakeJudge()).score(request("Because."))
    items = out["quality"].to_pylist()[0]["item_scores"]
    for item in items:
        assert item["calibrated_confidence"] == pytest.approx(1 - item["confidence"])
    # the per-row checklist has no calibrator in it
    rubric = out["rubric"].to_pylist()[0]["item_scores"]
    assert all(item["calibrated_confidence"] is None for item in rubric)
