"""open_runs: many finished runs (a glob or a list) as one set of LazyFrames, each row tagged
with its run's run_id, name and started_at; unfinished runs skipped with a warning."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import polars as pl
import pytest
from finished_runs import item, write_finished_run

from pipeline.results import open_runs

QUESTION = "Is it good?"


def night(folder, day: int, yes_share: float, name: str = "nightly") -> str:
    answers = {
        f"r{n}": [item(0, QUESTION, "yes" if n < 10 * yes_share else "no", 0.5)] for n in range(10)
    }
    return write_finished_run(
        folder / f"nightly-{day:02d}",
        answers,
        name=name,
        run_id=f"night-{day}",
        started_at=f"2026-12-{day:02d}T02:00:00+00:00",
    )


def test_a_glob_reads_every_finished_run_tagged_with_its_manifest(tmp_path):
    for day, share in ((3, 0.5), (1, 0.2), (2, 0.9)):
        night(tmp_path, day, share)
    runs = open_runs(str(tmp_path / "nightly-*"))
    assert [r.manifest["run_id"] for r in runs.runs] == ["night-1", "night-2", "night-3"]
    per_night = (
        runs.samples.group_by("run_id", "name", "started_at")
        .agg(pl.col("quality").struct.field("primary_score").mean().alias("quality"))
        .sort("started_at")
        .collect()
    )
    assert per_night["quality"].to_list() == pytest.approx([0.2, 0.9, 0.5])
    assert per_night["name"].to_list() == ["nightly"] * 3
    assert per_night["started_at"][0] == datetime(2026, 12, 1, 2, tzinfo=timezone.utc)
    assert runs.items.select("run_id").collect().height == 30
    long_names = runs.scores_long.collect_schema().names()
    assert {"name", "run_name", "run_id", "started_at"} <= set(long_names)  # `name`: the score's


def test_unfinished_runs_are_skipped_with_a_warning_and_none_finished_is_an_error(tmp_path):
    finished = night(tmp_path, 1, 0.5)
    unfinished = tmp_path / "nightly-02"
    (unfinished / ".rayscore").mkdir(parents=True)
    (unfinished / ".rayscore" / "fingerprint.json").write_text(json.dumps({}))
    with pytest.warns(UserWarning, match="nightly-02.*not a finished run"):
        runs = open_runs([finished, str(unfinished)])
    assert [r.uri for r in runs.runs] == [finished]
    with pytest.raises(FileNotFoundError, match="no finished run"), pytest.warns(UserWarning):
        open_runs(str(tmp_path / "nightly-02*"))


def test_runs_whose_tables_differ_are_concatenated_diagonally(tmp_path):
    night(tmp_path, 1, 0.5)
    second = night(tmp_path, 2, 0.5)
    scores = pl.read_parquet(f"{second}/scores/part-00000.parquet")
    scores.with_columns(pl.lit("m1").alias("model")).write_parquet(
        f"{second}/scores/part-00000.parquet"
    )
    samples = open_runs(str(tmp_path / "nightly-*")).samples.collect()
    assert samples.height == 20
    assert samples.group_by("run_id").agg(pl.col("model").null_count())[
        "model"
    ].sort().to_list() == [0, 10]


def test_the_readme_query_gives_mean_quality_per_model_per_night(tmp_path):
    for day in range(1, 4):
        run = night(tmp_path, day, 0.5)
        path = f"{run}/scores/part-00000.parquet"
        scores = pl.read_parquet(path)
        scores.with_columns(pl.Series("model", ["m1", "m2"] * 5)).write_parquet(path)
    nights = open_runs(str(tmp_path / "nightly-*"))
    table = (
        nights.samples.filter(
            pl.col("started_at") >= pl.col("started_at").max() - pl.duration(days=1)
        )
        .group_by("model", pl.col("started_at").dt.date().alias("night"))
        .agg(pl.col("quality").struct.field("primary_score").mean().alias("mean_quality"))
        .sort("model", "night")
        .collect()
    )
    assert table["model"].to_list() == ["m1", "m1", "m2", "m2"]  # the last two nights only
    assert table["mean_quality"].to_list() == pytest.approx([0.6, 0.6, 0.4, 0.4])
