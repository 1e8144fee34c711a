"""An incremental run's counts without ids on the driver: each judgments part carries its
reuse counts in its footer and the commit adds them up; the prestage's marker says which
earlier run (URI and run_id) it matched, and its rows matched are counted per shard folder.
The manifest tells requests answered from requests sent, and prices only engines the run held."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.incremental import prestage
from pipeline.incremental.earlier_run import EarlierRun
from pipeline.incremental.judgments import judgment_items
from pipeline.incremental.recording import Recorded, recorded_in
from pipeline.incremental.request_keys import KEY_TYPE
from pipeline.manifest import judge_cost, judge_requests
from pipeline.stages.read_shards import SHARD_COLUMN
from pipeline.stages.score_pass import JudgeWork
from pipeline.stages.write_parts import PartWriter, write_block
from pipeline.storage.run_dir import RunDirectory
from scorers.judge.result import JudgeResult
from scorers.judge.spec import JudgeSpec
from scorers.usage import ERROR_COLUMN


def judgments(n: int, reused: list[bool]) -> pa.ListArray:
    """Row i gets n judgments; `reused` says, in order over all of them, which were reused."""
    keys = pa.array([bytes([i]) * 16 for i in range(len(reused))], KEY_TYPE)
    results = [JudgeResult((0.5, 0.5), 1.0, None, prompt_tokens=3)] * len(reused)
    items = judgment_items(keys, results, np.array(reused))
    offsets = pa.array(np.arange(0, len(reused) + 1, n, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, items)


def block(ids: list[str], shard: list[int], reused: list[bool]) -> pa.Table:
    return pa.table(
        {
            "id": ids,
            ERROR_COLUMN: pa.array([None] * len(ids), pa.string()),
            SHARD_COLUMN: shard,
            "judged_a": judgments(2, reused),
        }
    )


def test_each_judgments_part_carries_its_reuse_counts_and_the_commit_adds_them(tmp_path):
    fs = pa.fs.LocalFileSystem()
    (tmp_path / "scores").mkdir()
    (tmp_path / "judgments").mkdir()
    writer = PartWriter(
        folder=str(tmp_path / "scores"),
        filesystem=fs,
        id_col="id",
        judged_keys=[],
        judgments_columns=["judged_a"],
        judgments_folder=str(tmp_path / "judgments"),
    )
    # shard 0: r0 both reused, r1 one; shard 1: r2 none, r3 one
    reused = [True, True, True, False, False, False, False, True]
    acks = write_block(block(["r0", "r1", "r2", "r3"], [0, 0, 1, 1], reused), writer)
    assert acks["requests_reused"].to_pylist() == [3, 1]  # the driver adds these up
    assert acks["rows_reused"].to_pylist() == [2, 1]
    assert acks["prompt_tokens_reused"].to_pylist() == [9, 3]
    assert recorded_in(str(tmp_path / "judgments"), fs) == Recorded(4, 3, 12, 0)
    # read from the footers: a part whose footer says otherwise is counted as it says
    part = sorted((tmp_path / "judgments").glob("part-000001-*"))[0]
    table = pq.read_table(part)
    footer = {b"rayscore.part_summary": b'{"requests_reused": 40, "rows_reused": 20}'}
    pq.write_table(table.replace_schema_metadata(footer), part)
    assert recorded_in(str(tmp_path / "judgments"), fs) == Recorded(43, 22, 9, 0)


def test_a_part_without_counts_in_its_footer_is_counted_from_its_rows(tmp_path):
    ids = pa.array(["a", "a", "b", "c"])
    items = judgments(1, [True, True, True, False]).flatten()
    pq.write_table(
        pa.table([ids, *items.flatten()], names=["id", *(f.name for f in items.type)]),
        tmp_path / "part-000000-4-abc.parquet",
    )
    assert recorded_in(str(tmp_path), pa.fs.LocalFileSystem()) == Recorded(3, 2, 9, 0)


def test_the_prestage_matches_again_when_the_earlier_runs_run_id_changed(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    joins: list[str] = []
    monkeypatch.setattr(prestage, "_join", lambda run, folder: joins.append(folder) or 7)

    def run(run_id: str) -> SimpleNamespace:
        earlier = EarlierRun("runs/night1", RunDirectory(str(tmp_path / "old")), run_id, None)
        return SimpleNamespace(run_dir=RunDirectory(str(tmp_path / "run")), earlier=earlier)

    assert prestage.match_prior(run("r1")).rows_matched == 7  # type: ignore[arg-type]
    marker = RunDirectory(str(tmp_path / "run")).read_json(f"{prestage.PRIOR}/_matched.json")
    assert marker == {"from": "runs/night1", "from_run_id": "r1", "rows_matched": 7}
    prestage.match_prior(run("r1"))  # type: ignore[arg-type]
    assert len(joins) == 1  # resumed: not matched again
    prestage.match_prior(run("r2"))  # type: ignore[arg-type]
    assert len(joins) == 2  # the same URI holds another run now


def test_a_shard_folder_counts_each_matched_id_once(tmp_path):
    folder = tmp_path / "__rayscore_shard=0"
    folder.mkdir()
    pq.write_table(pa.table({"id": ["a", "a", "b"]}), folder / "x.parquet")
    pq.write_table(pa.table({"id": ["b", "c"]}), folder / "y.parquet")
    assert prestage.ids_in_shard(str(folder), pa.fs.LocalFileSystem()) == 3
    assert prestage.ids_in_shard(str(tmp_path / "none"), pa.fs.LocalFileSystem()) == 0


def test_reused_requests_are_answered_but_not_counted_as_sent_or_priced():
    usage = {"judge_requests": 100, "prompt_tokens": 5000, "cached_prompt_tokens": 1000}
    # this attempt: 60 answered, 45 of them from the earlier run's judgments
    work = JudgeWork(0, 0, 30, 60, 3000, 600, 0, reused=Recorded(45, 20, 2000, 500))
    counts = judge_requests(usage, work, Recorded(80, 40, 4000, 900))
    assert counts == {
        "requests": 100,
        "requests_sent": 20,
        "requests_this_attempt": 15,
        "prompt_tokens": 1000,
        "cached_prompt_tokens": 100,
        "computed_prompt_tokens": 900,
        "reused_prompt_tokens": 4000,
    }
    fresh = judge_requests(usage, JudgeWork(0, 0, 30, 60, 3000, 600, 0), None)
    assert (fresh["requests_sent"], fresh["computed_prompt_tokens"]) == (100, 4000)


def test_a_warm_judges_actors_are_client_only_and_not_priced():
    judges = {
        "big": JudgeSpec(model="m/m", concurrency=4, price_per_hour=3.6),
        "small": JudgeSpec(model="m/s", concurrency=2, price_per_hour=3.6),
    }
    cold = judge_cost(judges, judge_s=100.0, requests=4000)
    assert cold["judge_actor_s"] == 600.0 and "client_only_actor_s" not in cold
    warm = judge_cost(judges, judge_s=100.0, requests=4000, warm={"big": [{"name": "w0"}]})
    assert warm["judge_actor_s"] == 200.0  # only small's engines were the run's
    assert warm["client_only_actor_s"] == {"big": 100.0}  # one thin client per warm actor
    assert warm["total"] == pytest.approx(0.2)
    assert warm["per_1000_judgments"] is None  # requests sent include big's, unpriced here
