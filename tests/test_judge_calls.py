"""A large batch reaches the judge a few rows at a time (judge.batch_size rows per call),
every scorer's requests for those rows in one call per label set, and the answers come back
exactly as when the whole batch is asked at once. FAKE judge (no engine)."""

from __future__ import annotations

import pyarrow as pa
from fake_judge import FakeJudge

from pipeline.stages.judge_actor import score_table
from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.rating.scorer import RatingScorer
from scorers.registry import parse_scorer


class CountingJudge(FakeJudge):
    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def judge(self, prompts, label_set):  # type: ignore[no-untyped-def]
        self.sizes.append(len(prompts))
        return super().judge(prompts, label_set)


def rows(n: int) -> pa.Table:
    checklists = [[f"Q{k} of row {r}?" for k in range(r % 4)] for r in range(n)]
    responses = [None if r % 7 == 3 else f"answer {r}" for r in range(n)]
    return pa.table(
        {
            "id": [f"r{r}" for r in range(n)],
            "prompt": [f"question {r}" for r in range(n)],
            "response": responses,
            "checklist": checklists,
        }
    )


def scorers() -> list:
    checklist = ChecklistScorerSpec.model_validate(
        {
            "type": "checklist",
            "key": "q",
            "checklist_column": "checklist",
            "input_column": "prompt",
            "target_column": "response",
        }
    )
    likert = parse_scorer(
        {"type": "likert", "key": "l", "target_column": "response", "question": "Is it good?"}
    )
    return [ChecklistScorer(checklist), RatingScorer(likert)]


def test_asked_a_few_rows_at_a_time_the_answers_are_those_of_one_call():
    table = rows(50)
    whole, chunked = CountingJudge(), CountingJudge()
    at_once = score_table(table, scorers(), whole, ["id"])
    by_ten = score_table(table, scorers(), chunked, ["id"], rows_per_call=10)
    assert by_ten.equals(at_once)
    assert sum(chunked.sizes) == sum(whole.sizes)
    assert len(chunked.sizes) > len(whole.sizes)
