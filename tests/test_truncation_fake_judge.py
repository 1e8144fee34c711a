"""`truncate` plumbing through the FAKE judge (hash confidences, no model) with the small
model's real tokenizer doing the cut; and the manifest's per-scorer context counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytest
from fake_judge import FakeJudge

from jobs.context_report import context_lines
from pipeline.context_counts import context_counts
from pipeline.stages.judge_actor import score_table
from pipeline.summary import block_summary, merge_summaries
from scorers.checklist.calibrated import with_calibrated_items
from scorers.checklist.calibration_hook import ChecklistCalibration
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.judge.labels import LabelSet
from scorers.judge.result import JudgeResult, prompt_too_long
from scorers.rating.spec import BooleanSpec
from scorers.registry import judged_scorer
from scorers.truncate_spec import Side
from scorers.truncating_scorer import TruncatingScorer
from scorers.truncation import CutTexts, truncate_texts

LONG = " ".join(f"point {i} holds." for i in range(80))
QUESTIONS = [{"question": "Is it right?"}, {"question": "Is it short?"}]


class FakeJudgeWithTokenizer(FakeJudge):
    """Fake answers; the cut is the real tokenizer's, as the vLLM judge makes it."""

    def __init__(self, tokenizer: Any, too_long_when: str | None = None) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.too_long_when = too_long_when

    def truncate_texts(self, texts: Sequence[str], max_tokens: int, side: Side) -> CutTexts:
        return truncate_texts(self.tokenizer, texts, max_tokens, side)

    def judge(self, prompts: Sequence[str], label_set: LabelSet) -> list[JudgeResult]:
        answers = super().judge(prompts, label_set)
        when = self.too_long_when
        return [
            JudgeResult.failed(prompt_too_long(2000, 1024)) if when and when in p else a
            for p, a in zip(prompts, answers, strict=True)
        ]


@pytest.fixture(scope="module")
def tokenizer(tiny_model) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model))


def rows() -> pa.Table:
    return pa.table(
        {
            "id": ["long", "short", "none"],
            "prompt": ["Say it."] * 3,
            "response": [LONG, "Ok.", None],
        }
    )


def checklist(key: str = "quality", **truncate: Any) -> ChecklistScorerSpec:
    """With `truncate` settings (side, max_tokens) if any are given; else without."""
    cut = {"column": "response", "max_tokens": 30, **truncate} if truncate else None
    return ChecklistScorerSpec(
        type="checklist",
        key=key,
        input_column="prompt",
        target_column="response",
        checklist=QUESTIONS,
        truncate=cut,
    )


def test_the_judge_reads_the_cut_text_and_the_struct_says_what_was_cut(tokenizer):
    judge = FakeJudgeWithTokenizer(tokenizer)
    out = score_table(rows(), [judged_scorer(checklist(side="left"))], judge, ["id"]).to_pylist()
    kept = tokenizer.decode(tokenizer.encode(LONG, add_special_tokens=False)[-30:])
    prompts = judge.calls[0]
    assert any(kept in p for p in prompts) and not any(LONG in p for p in prompts)
    dropped = len(tokenizer.encode(LONG, add_special_tokens=False)) - 30
    long, short, none = (row["quality"] for row in out)
    assert (long["truncated"], long["truncated_tokens"]) == (True, dropped)
    assert long["unscored_reason"] is None and long["primary_score"] is not None
    assert (short["truncated"], short["truncated_tokens"]) == (False, 0)
    assert out[2]["error"] == "quality: 'response' is null"
    assert none["truncated"] is False


def test_a_rating_kind_is_cut_the_same_way(tokenizer):
    spec = BooleanSpec(
        type="boolean",
        key="right",
        question="Is it right?",
        target_column="response",
        truncate={"column": "response", "max_tokens": 30, "side": "middle"},
    )
    judge = FakeJudgeWithTokenizer(tokenizer)
    out = score_table(rows(), [judged_scorer(spec)], judge, ["id"]).to_pylist()
    assert [r["right"]["truncated"] for r in out] == [True, False, False]
    assert " ... " in judge.calls[0][0] and out[0]["right"]["value"] is not None


def test_a_scorer_without_truncate_is_built_as_its_kind_builds_it():
    assert not isinstance(judged_scorer(checklist()), TruncatingScorer)
    assert isinstance(judged_scorer(checklist(side="right")), TruncatingScorer)


def test_a_judge_without_a_tokenizer_says_so():
    scorer = judged_scorer(checklist(side="right"))
    with pytest.raises(TypeError, match="truncate needs a judge with a local tokenizer"):
        score_table(rows(), [scorer], FakeJudge(), ["id"])


def test_the_summary_counts_truncated_rows_and_rows_unscored_for_length(tokenizer):
    scorers = [judged_scorer(checklist(side="right")), judged_scorer(checklist("plain"))]
    judge = FakeJudgeWithTokenizer(tokenizer, too_long_when=LONG)  # only the uncut one fails
    out = score_table(rows(), scorers, judge, ["id"])
    dropped = len(tokenizer.encode(LONG, add_special_tokens=False)) - 30
    counts = context_counts(out, ["quality", "plain"])
    assert counts["quality"] == {
        "rows_too_long": 0,
        "items_too_long": 0,
        "truncated_rows": 1,
        "truncated_tokens": dropped,
    }
    assert counts["plain"] == {"rows_too_long": 1, "items_too_long": 2}
    keys = ["quality", "plain"]
    parts = [block_summary(out.slice(0, 1), keys, []), block_summary(out.slice(1), keys, [])]
    assert merge_summaries(parts, [])["context"] == counts
    older = {name: value for name, value in parts[0].items() if name != "context"}
    assert merge_summaries([older, parts[1]], [])["context"] == context_counts(out.slice(1), keys)


def test_a_truncating_checklist_is_calibrated_and_keeps_its_truncation_fields(tokenizer):
    judge = FakeJudgeWithTokenizer(tokenizer)
    out = score_table(rows(), [judged_scorer(checklist(side="right"))], judge, ["id"])
    scores = out["quality"].combine_chunks()
    assert ChecklistCalibration().calibrates(scores.type)
    constant = {"quality": {"method": "isotonic", "x": [0.0, 1.0], "y": [0.25, 0.25]}}
    calibrated = with_calibrated_items(scores, "quality", constant).to_pylist()
    assert [row["truncated"] for row in calibrated] == [True, False, False]
    assert calibrated[0]["item_scores"][0]["calibrated_confidence"] == 0.25


def test_the_run_prints_a_line_per_scorer_the_context_touched():
    manifest = {
        "context": {
            "cut": {"rows_too_long": 0, "truncated_rows": 3, "truncated_tokens": 900},
            "whole": {"rows_too_long": 2, "items_too_long": 5},
            "fine": {"rows_too_long": 0, "items_too_long": 0},
        }
    }
    assert context_lines(manifest) == [
        "context: cut: 3 rows cut to fit (truncate), 900 tokens dropped",
        "context: whole: 2 rows (5 items) unscored: prompt longer than the judge's "
        "max_model_len (a `truncate` on the scorer would cut them to fit)",
    ]
    assert context_lines({}) == []  # a run from before the counts
