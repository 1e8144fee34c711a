"""The label-mass floor through a FAKE judge (no model): answers whose label tokens got under
judge.min_label_mass are unscored with the reason, keep their label mass, are counted per
scorer in the summary and the manifest, and show in the report."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import polars as pl
import pyarrow as pa
import pytest
from fake_judge import FakeJudge

from jobs.report_html import label_mass_section
from jobs.report_label_mass import label_mass_report
from pipeline.manifest import label_mass_floors
from pipeline.plan import plan_of
from pipeline.results import RunResults
from pipeline.spec_loader import SpecError, parse_spec
from pipeline.stages.judge_actor import FailureWatch, JudgeKeepsFailing, score_table
from pipeline.summary import block_summary, merge_summaries
from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.judge.build import build_judge
from scorers.judge.generation import GeneratingJudge
from scorers.judge.label_mass import LabelMassFloor, NoLabelResult, floored, no_label_reason
from scorers.judge.labels import LabelSet
from scorers.judge.result import JudgeResult, TextAnswerResult, result_from_logprobs
from scorers.rating.scorer import RatingScorer
from scorers.rating.spec import BooleanSpec
from scorers.usage import usage_of

QUIET = "Is it short?"  # the fake judge gives this question's labels little probability
NO_LABEL = "the judge did not answer with a label (label mass 0.03)"


def answer(label_mass: float, p_yes: float = 0.9) -> JudgeResult:
    """A one-token read whose labels got `label_mass` in all, P(yes) of it `p_yes`."""
    yes, no = label_mass * p_yes, label_mass * (1 - p_yes)
    return result_from_logprobs([[math.log(yes)], [math.log(no)]], prompt_tokens=12)


class QuietOnOneQuestion(FakeJudge):
    """FAKE: a confident "yes" from 3% label mass on prompts asking QUIET, 95% elsewhere."""

    def judge(self, prompts: Sequence[str], label_set: LabelSet) -> list[JudgeResult]:
        self.calls.append(list(prompts))
        return [answer(0.03 if QUIET in p else 0.95) for p in prompts]


def checklist() -> ChecklistScorer:
    return ChecklistScorer(
        ChecklistScorerSpec(
            type="checklist",
            key="quality",
            input_column="prompt",
            target_column="response",
            checklist=[{"question": "Is it right?"}, {"question": QUIET}],
        )
    )


def rows() -> pa.Table:
    return pa.table({"id": ["a", "b"], "prompt": ["p1", "p2"], "response": ["r1", "r2"]})


def test_the_reason_gives_the_label_mass_in_two_significant_digits():
    assert no_label_reason(0.0312) == "the judge did not answer with a label (label mass 0.031)"
    assert no_label_reason(0.03) == NO_LABEL
    assert no_label_reason(2.13e-5).endswith("(label mass 0.000021)")


def test_an_answer_under_the_floor_is_unscored_and_keeps_its_label_mass():
    low = floored(answer(0.03), 0.5)
    assert isinstance(low, NoLabelResult)
    assert low.probs is None
    assert low.error == NO_LABEL
    assert low.label_mass == pytest.approx(0.03)
    assert low.prompt_tokens == 12
    assert usage_of([low])["requests_without_label"] == 1
    assert usage_of([low])["generated_tokens"] == 1  # the one token it read
    high = answer(0.6)
    assert floored(high, 0.5) is high


def test_text_answers_and_failures_are_not_subject_to_the_floor():
    text = TextAnswerResult(None, None, None, 3, 1, answer_label="yes", answer_text="Yes")
    failed = JudgeResult.failed("engine error: boom")
    assert floored(text, 0.5) is text
    assert floored(failed, 0.5) is failed


def test_the_floor_wraps_the_judge_only_when_it_is_above_0():
    judge = {"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:1/v1"}
    judge["tokenizer"] = "server"  # nothing loaded, nothing asked until a request
    floored_judge = build_judge(parse_spec(job(judge)).judge)  # type: ignore[arg-type]
    assert isinstance(floored_judge, LabelMassFloor)
    assert floored_judge.min_label_mass == 0.5
    off = build_judge(parse_spec(job({**judge, "min_label_mass": 0})).judge)  # type: ignore[arg-type]
    assert not isinstance(off, LabelMassFloor)


def test_the_floor_generates_only_when_its_judge_can():
    class Generator(FakeJudge):
        def generate(self, requests: object, values: object) -> list[object]:
            return ["generated"]

    assert not isinstance(LabelMassFloor(FakeJudge(), 0.5), GeneratingJudge)
    generator = LabelMassFloor(Generator(), 0.5)
    assert isinstance(generator, GeneratingJudge)
    assert generator.generate([], ()) == ["generated"]


def test_checklist_items_under_the_floor_are_unscored_with_the_reason():
    judge = LabelMassFloor(QuietOnOneQuestion(), 0.5)
    out = score_table(rows(), [checklist()], judge, ["id"]).to_pylist()
    for row in out:
        right, quiet = row["quality"]["item_scores"]
        assert right["answer"] == "yes"
        assert right["label_mass"] == pytest.approx(0.95)
        assert quiet["answer"] is None and quiet["confidence"] is None
        assert quiet["label_mass"] == pytest.approx(0.03)
        assert quiet["unscored_reason"] == NO_LABEL
        assert row["quality"]["primary_score"] is None  # as for any unscored item
        assert row["error"] == f"quality: 1 of 2 items unscored: item 1: {NO_LABEL}"
        assert row["quality"]["usage"]["requests_without_label"] == 1


def test_a_lower_floor_scores_the_same_answers():
    out = score_table(rows(), [checklist()], LabelMassFloor(QuietOnOneQuestion(), 0.01), ["id"])
    row = out.to_pylist()[0]
    assert row["error"] is None
    assert row["quality"]["item_scores"][1]["answer"] == "yes"
    assert row["quality"]["item_scores"][1]["label_mass"] == pytest.approx(0.03)


def test_a_single_question_kind_under_the_floor_is_unscored_with_the_reason():
    spec = BooleanSpec(
        type="boolean", key="short", question=QUIET, input_column="prompt", target_column="response"
    )
    out = score_table(rows(), [RatingScorer(spec)], LabelMassFloor(QuietOnOneQuestion(), 0.5), [])
    for row in out.to_pylist():
        assert row["short"]["value"] is None and row["short"]["confidence"] is None
        assert row["short"]["label_mass"] == pytest.approx(0.03)
        assert row["error"] == f"short: {NO_LABEL}"


def test_a_judge_that_never_answers_with_a_label_stops_the_job_as_a_failing_one_does():
    watch = FailureWatch(limit=3)
    no_label = [floored(answer(0.03), 0.5)] * 4
    watch.saw(no_label)
    watch.saw(no_label)
    with pytest.raises(JudgeKeepsFailing, match=re.escape(NO_LABEL)):
        watch.saw(no_label)


def test_the_summary_counts_answers_without_a_label_per_scorer():
    boolean = BooleanSpec(
        type="boolean", key="short", question=QUIET, input_column="prompt", target_column="response"
    )
    scorers = [checklist(), RatingScorer(boolean)]
    judge = LabelMassFloor(QuietOnOneQuestion(), 0.5)
    blocks = [score_table(rows(), scorers, judge, ["id"]) for _ in range(3)]
    summaries = [block_summary(b, ["quality", "short"], []) for b in blocks]
    assert summaries[0]["without_label"] == {"quality": 2, "short": 2}
    merged = merge_summaries(summaries, [])
    assert merged["without_label"] == {"quality": 6, "short": 6}
    assert merged["usage"]["requests_without_label"] == 12
    older = {**summaries[0], "usage": dict(summaries[0]["usage"])}
    del older["without_label"], older["usage"]["requests_without_label"]
    assert merge_summaries([older, summaries[1]], [])["without_label"] == {"quality": 2, "short": 2}


def job(judge: dict[str, object], **more: object) -> dict[str, object]:
    scorer = {"type": "boolean", "key": "short", "question": QUIET, "target_column": "response"}
    return {
        "name": "t",
        "input": {"path": "in.parquet", "id_column": "id"},
        "output": {"path": "out"},
        "judge": judge,
        "definition": {"scorers": [scorer]},
        **more,
    }


def test_the_manifest_gives_each_judged_scorer_its_judges_floor_and_count():
    spec = job({"model": "m", "min_label_mass": 0.25}, judges={"other": {"model": "m2"}})
    scorers = spec["definition"]["scorers"]  # type: ignore[index]
    scorers.append({**scorers[0], "key": "also", "judge": "other"})
    floors = label_mass_floors(plan_of(parse_spec(spec)), {"short": 4})
    assert floors == {
        "short": {"min_label_mass": 0.25, "unscored": 4},
        "also": {"min_label_mass": 0.5, "unscored": 0},
    }


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_a_floor_outside_0_1_is_refused_naming_the_key(value):
    with pytest.raises(SpecError, match="min_label_mass"):
        parse_spec(job({"model": "m", "min_label_mass": value}))


def fake_run(masses: list[float | None], floor: float | None) -> RunResults:
    """A finished run's tables, in memory: one boolean scorer and one checklist item each."""
    n = len(masses)
    struct = pl.DataFrame({"label_mass": masses}, schema={"label_mass": pl.Float64})
    manifest: dict[str, object] = {
        "scorers": [
            {"key": "short", "name": "Short", "type": "boolean"},
            {"key": "quality", "name": "quality", "type": "checklist"},
        ],
    }
    if floor is not None:
        manifest["label_mass"] = {"short": {"min_label_mass": floor, "unscored": 0}}
    samples = pl.LazyFrame({"id": [str(i) for i in range(n)], "short": struct.to_struct()})
    item_masses = [0.97, 0.99] if any(m is not None for m in masses) else [None, None]
    items = pl.LazyFrame(
        {"id": ["0", "1"], "scorer": ["quality", "quality"], "label_mass": item_masses},
        schema_overrides={"label_mass": pl.Float64},
    )
    empty = pl.LazyFrame()
    return RunResults("runs/x", manifest, samples, items, empty, empty, None)


def test_the_report_gives_each_scorers_label_mass_distribution_and_count_under_the_floor():
    report = label_mass_report(fake_run([0.02, 0.04, 0.9, 0.96, None], floor=0.5))
    assert report is not None
    table = {row["scorer"]: row for row in report.table.to_dicts()}
    assert table["Short"]["answers"] == 4
    assert table["Short"]["under_min"] == 2
    assert table["Short"]["min_label_mass"] == 0.5
    assert table["Short"]["min"] == pytest.approx(0.02)
    assert table["quality"]["answers"] == 2  # its items
    assert table["quality"]["under_min"] is None  # a run without floors in its manifest
    histogram = report.histograms["Short"]
    assert sum(histogram.counts) == 4
    assert histogram.counts[0] == 2 and histogram.counts[-1] == 1  # [0, .05] and (.95, 1]
    html = "".join(label_mass_section(report))
    assert "<svg" in html and "min_label_mass 0.5" in html


def test_a_run_without_label_masses_says_so():
    run = fake_run([None, None], floor=0.5)
    assert label_mass_report(run) is None
    assert "no answer in this run has a label mass" in "".join(label_mass_section(None))
