"""The one streaming pass through real Ray, without a judge: the rows are read and written
once (final parts, no judged shards), and a commit cut off half-way is resumed, not redone."""

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec
from pipeline.storage.run_dir import RunDirectory
from pipeline.storage.shard_plan import plan_shards

pytestmark = pytest.mark.ray

ROWS = 600


def write_input(folder: Path) -> None:
    folder.mkdir()
    for part in range(3):
        numbers = range(part * ROWS // 3, (part + 1) * ROWS // 3)
        pq.write_table(
            pa.table(
                {
                    "id": [f"r{n:04d}" for n in numbers],
                    "response": [f"answer {n % 7}" for n in numbers],
                }
            ),
            folder / f"in-{part}.parquet",
            row_group_size=120,
        )


def spec(tmp_path: Path) -> dict:
    return {
        "name": "one-pass",
        "input": {"path": str(tmp_path / "in"), "id_column": "id"},
        "output": {"path": str(tmp_path / "run"), "shard_mib": 0.002},  # a few dozen rows
        "definition": {
            "scorers": [
                {
                    "type": "uniqueness",
                    "key": "dup",
                    "column": "response",
                    "metrics": [{"type": "mean", "field": "is_unique", "name": "unique rate"}],
                },
            ]
        },
    }


def test_a_job_without_a_judge_reads_and_writes_once_and_its_cut_off_commit_resumes(
    tmp_path, ray_cluster, monkeypatch
):
    write_input(tmp_path / "in")
    raw = spec(tmp_path)
    moves = []
    real_commit = RunDirectory.commit

    def commit_once(self, staged, name):
        if moves:  # scores/ is in place, scores_long/ is not: the run is killed here
            raise KeyboardInterrupt("killed mid-commit")
        moves.append(name)
        real_commit(self, staged, name)

    monkeypatch.setattr(RunDirectory, "commit", commit_once)
    with pytest.raises(KeyboardInterrupt):
        run_job(parse_spec(raw))
    work = tmp_path / "run" / ".rayscore"
    assert not (work / "judged").exists()  # no judged shards: parts are the output
    assert (tmp_path / "run" / "scores").exists()
    monkeypatch.undo()

    result = run_job(parse_spec(raw))
    assert result.manifest["resume"]["rows_reused"] == ROWS  # nothing scored again
    assert result.manifest["resume"]["rows_judged"] == 0
    scores = pl.read_parquet(tmp_path / "run" / "scores" / "*.parquet").sort("id")
    assert sorted(scores["id"]) == [f"r{n:04d}" for n in range(ROWS)]  # each once
    counts = scores.select(pl.col("dup").struct.field("duplicate_count")).to_series()
    # each answer is in 85 or 86 rows; a row counts the others
    assert counts.to_list() == [ROWS // 7 + (n % 7 < ROWS % 7) - 1 for n in range(ROWS)]
    assert result.metrics["unique rate"]["value"] == 0.0  # 7 answers, each in many rows
    records = pl.read_parquet(tmp_path / "run" / "scores_long" / "*.parquet")
    assert records.filter(pl.col("scorer_key") == "dup").height >= ROWS
    assert records["run_id"].unique().to_list() == [result.manifest["run_id"]]
    files = list((tmp_path / "run" / "scores").glob("*.parquet"))
    inputs = sorted(str(p) for p in (tmp_path / "in").glob("*.parquet"))
    shards = plan_shards(inputs, pafs.LocalFileSystem(), raw["output"]["shard_mib"])
    assert len(shards) > 5 and len(files) == len(shards)  # without a judge: a part per shard


def test_the_pass_holds_shards_ahead_of_its_judge_actors_only():
    from pipeline.plan import plan_of
    from pipeline.stages.score_pass import IN_FLIGHT_FLOOR, in_flight_budget

    base = {
        "name": "budget",
        "input": {"path": "in.parquet", "id_column": "id"},
        "output": {"path": "out", "shard_mib": 4.0},
    }
    judged = {
        **base,
        "judge": {"model": "m", "concurrency": 8},
        "definition": {
            "scorers": [{"type": "boolean", "target_column": "text", "question": "Ok?"}]
        },
    }
    unjudged = {**base, "definition": {"scorers": [{"type": "uniqueness", "column": "text"}]}}
    assert in_flight_budget(plan_of(parse_spec(unjudged))) is None  # reads and writes keep pace
    eight = in_flight_budget(plan_of(parse_spec(judged)))
    assert eight is not None and eight > IN_FLIGHT_FLOOR  # 8 actors x 4 MiB shards queued
    one = in_flight_budget(plan_of(parse_spec({**judged, "judge": {"model": "m"}})))
    assert one == IN_FLIGHT_FLOOR
