"""Several named judges in one job: each judged scorer picks one, and two judge models can
score the same corpus in one run, to be compared item by item."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from conftest import NO_LABEL_FLOOR

from pipeline.plan import plan_of
from pipeline.runner import run_job
from pipeline.spec_loader import SpecError, parse_spec

ENGINE = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True}
CHECKLIST = [
    {"question": "Does the response answer the question that was asked?"},
    {"question": "Is the response free of factual errors?"},
]


def checklist(key: str, judge: str | None) -> dict:
    scorer = {
        "type": "checklist",
        "key": key,
        "input_column": "prompt",
        "target_column": "response",
        "checklist": CHECKLIST,
    }
    return scorer | ({"judge": judge} if judge else {})


def job(tmp_path: Path, model: str, data: str, scorers: list[dict], **top: object) -> dict:
    # On 2 CPUs two engines must leave room for the read and write tasks.
    judge = {
        "model": model,
        "engine_kwargs": ENGINE,
        "batch_size": 16,
        "num_cpus": 0.5,
        **NO_LABEL_FLOOR,
    }
    return {
        "name": "two-judges",
        "input": {"path": data, "id_column": "id"},
        "output": {"path": str(tmp_path / "run")},
        "judges": {
            "small": judge,
            "other": {**judge, "engine_kwargs": {**ENGINE, "block_size": 32}},
        },
        "definition": {"scorers": scorers},
        **top,
    }


def test_each_scorer_names_its_judge(tmp_path):
    spec = parse_spec(
        job(tmp_path, "m/m", "x.parquet", [checklist("a", "small"), checklist("b", "other")])
    )
    plan = plan_of(spec)
    assert [plan.judge_name_of(s) for s in plan.judged] == ["small", "other"]


@pytest.mark.parametrize(
    ("scorers", "top", "message"),
    [
        ([checklist("a", "nope")], {}, "no judge 'nope'; judges: \\['other', 'small'\\]"),
        ([checklist("a", None)], {}, "name its judge"),
        (
            [{"type": "uniqueness", "key": "u", "column": "response", "judge": "small"}],
            {},
            "asks no judge",
        ),
        (
            [checklist("a", None)],
            {"judge": {"model": "m/m"}, "judges": {"judge": {"model": "m/m"}}},
            "is the name",
        ),
    ],
)
def test_a_judge_that_cannot_be_found_is_named(tmp_path, scorers, top, message):
    raw = job(tmp_path, "m/m", "x.parquet", scorers)
    raw.update(top)
    with pytest.raises(SpecError, match=message):
        parse_spec(raw)


@pytest.mark.ray
@pytest.mark.engine
def test_two_judges_score_the_same_corpus_in_one_run(
    tmp_path, ray_cluster, tiny_model, demo_parquet
):
    raw = job(
        tmp_path,
        str(tiny_model),
        str(demo_parquet),
        [checklist("a", "small"), checklist("b", "other")],
    )
    result = run_job(parse_spec(raw))
    scores = pl.read_parquet(f"{result.run_dir}/scores/*.parquet")
    assert scores.height == 40 and scores["id"].n_unique() == 40
    assert set(result.manifest["judges"]) == {"small", "other"}
    timings = result.manifest["judge"]["timings_s"]  # each pool's own clock reached the ack
    assert set(timings) == {"small", "other"}
    assert all(t["engine_start_s"] > 0 and t["judging_s"] > 0 for t in timings.values())

    def items(key: str) -> pl.DataFrame:
        return (
            scores.select("id", pl.col(key).struct.field("item_scores"))
            .explode("item_scores")
            .unnest("item_scores")
            .select("id", "index", pl.col("confidence").alias(key))
        )

    compared = items("a").join(items("b"), on=["id", "index"]).drop_nulls()
    assert compared.height == 38 * 2  # every item of every scorable row, from both judges
    # the same weights behind both judges: the same confidences, item by item
    assert (compared["a"] - compared["b"]).abs().max() < 1e-4
    errors = scores.filter(pl.col("error").is_not_null())["error"].to_list()
    assert len(errors) == 2 and all(e.startswith("a: ") and "; b: " in e for e in errors)
