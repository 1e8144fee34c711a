"""Reuse at the judge boundary through the FAKE judge (hash-based confidences, no model):
request keys, the lookup among a row's earlier judgments, and the merge in request order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pyarrow as pa
import pytest
from fake_judge import FakeJudge

from pipeline.incremental.judgments import PRIOR_COLUMN, RESULT_FIELDS, prior_by_row
from pipeline.incremental.request_keys import request_keys
from pipeline.incremental.reuse import JudgmentReuse
from pipeline.stages.judge_actor import score_table
from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistItem, ChecklistScorerSpec
from scorers.judge.labels import YES_NO, LabelSet
from scorers.judge.result import JudgeResult
from scorers.judged import PreparedBatch, ScoredBatch

REUSE = JudgmentReuse(fingerprint="judge-a", column="judgments")


def checklist(*questions: str) -> ChecklistScorer:
    return ChecklistScorer(
        ChecklistScorerSpec(
            type="checklist",
            key="quality",
            input_column="prompt",
            target_column="response",
            checklist=[ChecklistItem(question=q) for q in questions],
        )
    )


def rows(responses: list[str]) -> pa.Table:
    n = len(responses)
    return pa.table({"id": [f"r{i}" for i in range(n)], "prompt": ["p"] * n, "response": responses})


def recorded_prior(out: pa.Table) -> pa.Table:
    """A run's judgments as the next run's prestage hands them on: id + result fields."""
    lists = out["judgments"].combine_chunks()
    items = lists.flatten()
    ids = out["id"].take(pa.compute.list_parent_indices(lists))
    return pa.table([ids, *(items.field(f.name) for f in RESULT_FIELDS)],
                    names=["id", *(f.name for f in RESULT_FIELDS)])  # fmt: skip


def with_prior(batch: pa.Table, prior: pa.Table) -> pa.Table:
    return batch.append_column(PRIOR_COLUMN, prior_by_row(batch["id"], prior))


def test_keys_change_with_the_judge_the_labels_and_the_prompt():
    other_labels = LabelSet(labels=("a", "b"), surface_forms=(("a",), ("b",)))
    base = request_keys("judge-a", YES_NO, ["p1", "p2"]).to_pylist()
    assert len(set(base)) == 2 and all(len(k) == 16 for k in base)
    assert request_keys("judge-a", YES_NO, ["p1"]).to_pylist() == base[:1]
    assert request_keys("judge-b", YES_NO, ["p1"]).to_pylist() != base[:1]
    assert request_keys("judge-a", other_labels, ["p1"]).to_pylist() != base[:1]


def test_a_question_added_judges_only_it_and_scores_as_a_fresh_run():
    night1 = score_table(rows(["x", "y", "z"]), [checklist("Q1?", "Q2?")], FakeJudge(), ["id"],
                         reuse=REUSE)  # fmt: skip
    scorer = checklist("Q1?", "Q2?", "Q3?")
    judge = FakeJudge()
    batch = with_prior(rows(["x", "y", "z"]), recorded_prior(night1))
    night2 = score_table(batch, [scorer], judge, ["id"], reuse=REUSE)
    asked = [p for call in judge.calls for p in call]
    assert len(asked) == 3 and all("Q3?" in p for p in asked)
    fresh = score_table(rows(["x", "y", "z"]), [scorer], FakeJudge(), ["id"], reuse=REUSE)
    assert night2["quality"].to_pylist() == fresh["quality"].to_pylist()
    reused = [j["reused"] for row in night2["judgments"].to_pylist() for j in row]
    assert reused.count(True) == 6 and reused.count(False) == 3


def test_an_edited_row_is_judged_again_and_others_are_not():
    night1 = score_table(rows(["x", "y"]), [checklist("Q1?")], FakeJudge(), ["id"], reuse=REUSE)
    judge = FakeJudge()
    batch = with_prior(rows(["x", "EDITED"]), recorded_prior(night1))
    score_table(batch, [checklist("Q1?")], judge, ["id"], reuse=REUSE)
    asked = [p for call in judge.calls for p in call]
    assert len(asked) == 1 and "EDITED" in asked[0]


def test_another_judge_fingerprint_reuses_nothing():
    night1 = score_table(rows(["x", "y"]), [checklist("Q1?")], FakeJudge(), ["id"], reuse=REUSE)
    judge = FakeJudge()
    other = JudgmentReuse(fingerprint="judge-b", column="judgments")
    batch = with_prior(rows(["x", "y"]), recorded_prior(night1))
    score_table(batch, [checklist("Q1?")], judge, ["id"], reuse=other)
    assert sum(len(call) for call in judge.calls) == 2


def test_failed_requests_are_not_recorded_so_they_are_judged_again():
    night1 = score_table(rows(["x", "boom"]), [checklist("Q1?")], FakeJudge(fail_when="boom"),
                         ["id"], reuse=REUSE)  # fmt: skip
    assert [len(r) for r in night1["judgments"].to_pylist()] == [1, 0]
    judge = FakeJudge()
    batch = with_prior(rows(["x", "boom"]), recorded_prior(night1))
    score_table(batch, [checklist("Q1?")], judge, ["id"], reuse=REUSE)
    asked = [p for call in judge.calls for p in call]
    assert len(asked) == 1 and "boom" in asked[0]


class MiscountingChecklist:
    """A FAKE scorer: the checklist's requests, with per-row counts that do not add up to
    them (one short, or one row too many), as judge_actor._request_ranges allows."""

    def __init__(self, scorer: ChecklistScorer, counts: list[int]) -> None:
        self.inner, self.counts = scorer, counts
        self.key = scorer.key

    def prepare(self, table: pa.Table) -> PreparedBatch:
        return replace(self.inner.prepare(table), requests_per_row=self.counts)

    def finish(self, prepared: PreparedBatch, results: Sequence[JudgeResult]) -> ScoredBatch:
        return self.inner.finish(prepared, results)


@pytest.mark.parametrize("counts", [[1, 1], [2, 1, 1]], ids=["short", "a-row-too-many"])
def test_a_scorer_whose_counts_do_not_add_up_is_judged_in_full_and_not_recorded(counts):
    night1 = score_table(rows(["x", "y"]), [checklist("Q1?", "Q2?")], FakeJudge(), ["id"],
                         reuse=REUSE)  # fmt: skip
    scorer = MiscountingChecklist(checklist("Q1?", "Q2?"), counts)
    judge = FakeJudge()
    batch = with_prior(rows(["x", "y"]), recorded_prior(night1))
    out = score_table(batch, [scorer], judge, ["id"], rows_per_call=1, reuse=REUSE)
    assert sum(len(call) for call in judge.calls) == 4  # all asked
    assert out["judgments"].to_pylist() == [[], []]
    fresh = score_table(rows(["x", "y"]), [checklist("Q1?", "Q2?")], FakeJudge(), ["id"])
    assert out["quality"].to_pylist() == fresh["quality"].to_pylist()


def test_request_offsets_are_none_unless_the_counts_add_up_row_for_row():
    ready = PreparedBatch(prompts=["a", "b", "c"], label_set=YES_NO, plan=None,
                          requests_per_row=[2, 0, 1])  # fmt: skip
    assert ready.request_offsets(3).tolist() == [0, 2, 2, 3]
    assert ready.request_offsets(2) is None
    assert replace(ready, requests_per_row=[2, 2, -1]).request_offsets(3) is None
    assert replace(ready, requests_per_row=[1, 1, 0]).request_offsets(3) is None
    assert replace(ready, requests_per_row=None).request_offsets(3) is None
